"""Duplicate registrations (flaw #4): worker records of one machine beyond the first.

A machine is known by its tunnel URL, which every record of it carries, so this needs no ground truth: at each
sample, over the central store, ``duplicate_records`` = sum over tunnel URLs of (records with that URL - 1).
With random ids every restart leaves one more; with a stable identity (Fix #5) the new registration overwrites
the old record.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .base import Checker, Observations, SampleView, SummaryKey, register_checker

__all__ = ["DuplicateRecords", "count_duplicates"]


def count_duplicates(workers: Any) -> int:
    """Records beyond one per tunnel URL in a ``worker id -> record`` mapping (a tunnel URL that is no string,
    which the baseline stores from a malformed registration, counted by its repr)."""
    per_machine = Counter(_key(record.get("tunnel_url")) for record in workers.values())
    return sum(n - 1 for n in per_machine.values())


def _key(url: Any) -> Any:
    return url if url is None or isinstance(url, str) else repr(url)


@register_checker
class DuplicateRecords(Checker):
    name = "duplicates"
    keys = (
        SummaryKey("registry.duplicates.max", "largest number of worker records beyond one per machine", "count"),
        SummaryKey("registry.duplicates.final", "worker records beyond one per machine at the end", "count"),
    )

    def sample(self, view: SampleView) -> dict[str, float]:
        return {"duplicate_records": count_duplicates(view.snapshot.workers)}

    def summarize(self, obs: Observations) -> dict[str, Any]:
        if not obs.samples:
            return {"registry.duplicates.max": None, "registry.duplicates.final": None}
        return {
            "registry.duplicates.max": max(row["duplicate_records"] for row in obs.samples),
            "registry.duplicates.final": obs.samples[-1]["duplicate_records"],
        }
