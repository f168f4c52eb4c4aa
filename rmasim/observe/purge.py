"""Time to purge: after a crash, how long until no service index lists the crashed worker's id.

Measured on the central store at sample resolution (``sample_every``): the first sample at or after the crash at
which none of that incarnation's ids is listed. A crash whose ids are still listed at the end is never purged:
its time is null and it counts in ``purge.never``.
"""

from __future__ import annotations

from typing import Any

from .base import Checker, Observations, SummaryKey, register_checker

__all__ = ["TimeToPurge", "purge_times"]


def purge_times(obs: Observations) -> list[float | None]:
    """One entry per crash that had registered ids: seconds until purged, or None if never."""
    times: list[float | None] = []
    changes = obs.index_changes
    for event in obs.events:
        if event.kind != "crash" or not event.worker_ids:
            continue
        ids = set(event.worker_ids)
        purged = None
        # The index as it stood at the crash is the last change at or before it; look from there on.
        start = max((i for i, (t, _) in enumerate(changes) if t <= event.t), default=0)
        for t, listed in changes[start:]:
            if not ids & listed:
                purged = max(0.0, t - event.t)
                break
        times.append(purged)
    return times


@register_checker
class TimeToPurge(Checker):
    name = "purge"
    keys = (
        SummaryKey("purge.crashes", "crashes of a registered worker", "count", "none"),
        SummaryKey("purge.never", "crashed workers still listed in an index at the end", "count"),
        SummaryKey("purge.time_max", "longest crash -> no index entry time; null if none purged", "s"),
        SummaryKey("purge.time_mean", "mean crash -> no index entry time over purged crashes", "s"),
    )

    def summarize(self, obs: Observations) -> dict[str, Any]:
        times = purge_times(obs)
        done = [t for t in times if t is not None]
        return {
            "purge.crashes": len(times),
            "purge.never": sum(1 for t in times if t is None),
            "purge.time_max": max(done) if done else None,
            "purge.time_mean": sum(done) / len(done) if done else None,
        }
