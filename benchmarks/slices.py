"""The first part of a scenario, for benchmarks that time a slice of a long run (imported by the scripts here)."""

from __future__ import annotations

import rmasim


def slice_of(scenario: rmasim.Scenario, duration: str) -> rmasim.Scenario:
    """The first ``duration`` of ``scenario``: its faults that happen in that time, the rest as it is (a fault at
    or after the end would be refused as one that never happens)."""
    end = scenario.with_overrides({"duration": duration, "faults": []}).duration
    dumped = scenario.model_dump()["faults"]
    faults = [plain for fault, plain in zip(scenario.faults, dumped, strict=True) if fault.at < end]
    return scenario.with_overrides({"duration": duration, "faults": faults})
