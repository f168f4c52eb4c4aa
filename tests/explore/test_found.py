"""The regression scenarios under ``scenarios/found/``: failures a campaign found against the reference, shrunk to
a replayable file, then fixed. Each must now hold every property it carries; its header names the property it
violated and the fix. And the one limit that campaign left, on purpose: a fleet whose every worker falls silent."""

from __future__ import annotations

from pathlib import Path

import pytest

import rmasim

FOUND = Path(__file__).resolve().parents[2] / "scenarios" / "found"
FILES = sorted(FOUND.glob("*.yaml"))


def test_there_are_regression_scenarios():
    assert len(FILES) >= 8


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_found_failure_holds_every_property_now(path: Path):
    header = [line for line in path.read_text().splitlines() if line.startswith("#")]
    violated = path.name.split("-")[0]
    assert any(line.startswith(f"# violated {violated} at") for line in header), header
    assert any(line.startswith("# fixed: ") for line in header), header
    result = rmasim.run(rmasim.load_scenario(path))
    assert result.properties, "no property judged"
    assert result.passed, [(p.name, p.detail) for p in result.properties if not p.holds]


def test_the_reference_keeps_a_wholly_silent_fleet_listed():
    """The trade-off the purge brake keeps: both machines of a 2-machine fleet crash at 30 s. Nobody renews, which
    the coordinator cannot tell from its own isolation (a partition of every agent, as in mass_expiry), so it
    purges nothing and no_dead_in_index is violated 240 s after the crashes; with the brake off both are purged."""
    scenario = rmasim.load_scenario(FOUND / "no_dead_in_index-two_of_three_crash-gpu-worker.yaml")
    silent = scenario.with_overrides({"fleet.gpu.count": 2})
    summary = rmasim.run(silent).summary
    assert summary["property.no_dead_in_index.violated_at"] == pytest.approx(30.0 + 240.0)
    assert summary["pollution.final"] == 1.0
    unbraked = rmasim.run(silent.with_overrides({"coordinator.purge_brake": False})).summary
    assert unbraked["property.no_dead_in_index.violated_at"] is None and unbraked["pollution.final"] == 0.0
