"""Time to purge: after a crash, how long until no service index lists the crashed worker's id.

Measured on the central store at sample resolution (``sample_every``): the first sample after the crash at which
none of that incarnation's ids is listed (or, with a stable identity, the time the machine's next incarnation
re-registered the same id), for crashes of workers that were listed when they crashed. A crash whose ids are
still listed at the end is never purged: its time is null and it counts in ``purge.never``.
"""

from __future__ import annotations

from typing import Any

from .base import Checker, Observations, SummaryKey, register_checker

__all__ = ["TimeToPurge", "purge_times"]


def purge_times(obs: Observations) -> list[float | None]:
    """One entry per crash of a worker that was listed at the crash: seconds until purged, or None if never.

    A crashed worker that no index listed at the crash (its registration was lost, or never sampled) has nothing
    to purge and is not counted.
    """
    times: list[float | None] = []
    changes = obs.index_changes
    for event in obs.events:
        if event.kind != "crash" or not event.worker_ids:
            continue
        ids = set(event.worker_ids)
        at_crash = [i for i, (t, _) in enumerate(changes) if t <= event.t]
        if not at_crash or not ids & changes[at_crash[-1]][1]:
            continue
        purged = None
        for t, listed in changes[at_crash[-1] :]:
            if not ids & listed:
                purged = t - event.t
                break
        # With a stable identity the machine's next incarnation re-registers the same id: from then on the entry
        # names a live worker again, so the dead one is gone from the index.
        reissued = [
            e.t for e in obs.events
            if e.kind == "register" and e.machine == event.machine and e.t >= event.t and ids & set(e.worker_ids)
        ]  # fmt: skip
        if reissued and (purged is None or reissued[0] - event.t < purged):
            purged = reissued[0] - event.t
        times.append(purged)
    return times


@register_checker
class TimeToPurge(Checker):
    name = "purge"
    keys = (
        SummaryKey("purge.crashes", "crashes of a worker listed in an index at the time", "count", "none"),
        SummaryKey("purge.never", "crashed workers still listed in an index at the end", "count"),
        SummaryKey("purge.time_max", "longest crash -> no index entry time; null if none purged", "s"),
        SummaryKey("purge.time_mean", "mean crash -> no index entry time over purged crashes", "s"),
        SummaryKey("purge.swept", "distinct workers the coordinator's sweeper purged", "count", "none"),
        SummaryKey("purge.live_swept", "of those, workers alive when purged (healthy workers purged)", "count"),
    )

    def summarize(self, obs: Observations) -> dict[str, Any]:
        times = purge_times(obs)
        done = [t for t in times if t is not None]
        return {
            "purge.crashes": len(times),
            "purge.never": sum(1 for t in times if t is None),
            "purge.time_max": max(done) if done else None,
            "purge.time_mean": sum(done) / len(done) if done else None,
            "purge.swept": len({w for _, ids, _ in obs.purges for w in ids}),
            "purge.live_swept": len({w for _, _, live in obs.purges for w in live}),
        }
