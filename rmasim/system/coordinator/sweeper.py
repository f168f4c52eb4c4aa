"""The stale-worker sweeper (``stale_cleanup: sweeper``): a scheduled handler, like a Cron Trigger.

Every ``sweep_interval`` the coordinator lists the service indexes, reads every listed worker's record and every
record named in ``worker_ids``, and purges the workers whose record is missing or whose heartbeat (by this edge's
clock) is older than ``purge_after``: their index entries (an emptied index is deleted), their record and their
``worker_ids`` entry. Writes are still read-modify-write of shared lists, so a registration at another edge in the
same cache window can still be lost; the sweeper only removes the dead. With ``shared_lists`` a record that
neither ``worker_ids`` nor an index names (the orphan of a registration that failed half-way) is not found:
finding it would need a ``list("worker:")`` every sweep, and the one ``list`` a minute it already does is 1440 a
day, over the free plan's 1000. With ``per_worker_keys`` the set of workers *is* ``list("worker:")``, so orphans
are found. The reads and writes go through the policy's registry layout (:mod:`.layout`).

A worker's age is, with ``stale_by: timestamp``, this edge's clock minus the record's ``last_heartbeat`` (stamped
by the clock of the edge that took the heartbeat): two edges whose clocks disagree by more than ``purge_after``
minus a heartbeat interval purge live workers, or keep dead ones. With ``stale_by: observation`` it is how long
this sweeper has seen the record unchanged, by its monotonic clock, as a client-go candidate judges a lease: no
clock offset or jump matters, at the price of memory (in the isolate here; a Durable Object alarm would keep it in
its storage) and of one ``purge_after`` of blindness after that memory is lost.

``purge_brake`` is Eureka's self-preservation: a registry whose renewals collapse all at once has more likely lost
contact with its workers (a partition, a clock jump) than lost the workers. The share of registered workers whose
last heartbeat is at most a minute old stands in for Eureka's renewals per minute against the expected count
(each worker renews about twice a minute); below 85% nothing is purged, and otherwise at most 15% of the
registry (``size - int(size * 0.85)``, Eureka's eviction limit, and at least one) goes per sweep, oldest
heartbeat first. Two departures from Eureka, both for small registries, where the share of renewals moves in
steps too coarse to tell a partition from deaths (one crash of three is 67% renewed) and Eureka's rule locks
self-preservation on for good, leaving the dead listed forever:

- a *single* silent worker never engages the brake: one silent worker is no evidence of a partition;
- in a registry of fewer than ``MIN_BRAKED_REGISTRY`` (10) workers the brake holds only when *no* worker renewed
  (the coordinator hears nobody: more likely its own isolation than every worker dead), and a sweep is not capped.
  Two of three machines dying together (a rack, a bad deploy) are then purged as one would be; while one worker
  still renews, silence is taken at its word (with ``rejoin`` a live worker purged in a partition registers again
  at its first heartbeat after it).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ..ops import KVFailure, Now, Response, Trace
from .isolate import Isolate
from .keys import worker_key
from .layout import LAYOUTS, read_many

__all__ = ["RENEWAL_THRESHOLD", "sweep_stale_workers"]

_MONOTONIC = Now(monotonic=True)

#: Eureka's ``renewalPercentThreshold``.
RENEWAL_THRESHOLD = 0.85
#: The window in which a heartbeat counts as a renewal.
RENEWAL_WINDOW = 60.0
#: The brake engages only when at least this many registered workers are silent.
MIN_SILENT = 2
#: The smallest registry in which the brake judges renewals by Eureka's share (and caps a sweep at 15%).
MIN_BRAKED_REGISTRY = 10


def brake(ages: dict[str, float], stale: set[str]) -> Generator[Any, Any, set[str]]:
    """The purge brake: nothing while renewals collapse (below the threshold in a registry of at least
    ``MIN_BRAKED_REGISTRY`` workers, none at all in a smaller one; two or more workers silent), else the oldest 15%
    at most (in a registry of ``MIN_BRAKED_REGISTRY`` or more)."""
    registered = [w for w, age in ages.items() if age != float("inf")]
    renewed = sum(1 for w in registered if ages[w] <= RENEWAL_WINDOW)
    large = len(registered) >= MIN_BRAKED_REGISTRY
    collapsed = renewed < RENEWAL_THRESHOLD * len(registered) if large else renewed == 0
    if len(registered) - renewed >= MIN_SILENT and collapsed:
        yield Trace("purge_braked", {"renewed": renewed, "registered": len(registered)})
        return set()
    if not large:
        return stale
    limit = max(1, len(ages) - int(len(ages) * RENEWAL_THRESHOLD))
    return set(sorted(stale, key=lambda w: (-ages[w], w))[:limit])


def observed_ages(known: list[str], records: list[Any], isolate: Isolate) -> Generator[Any, Any, dict[str, float]]:
    """``stale_by: observation``: each worker's age is how long this sweeper has seen its record unchanged, by its
    own monotonic clock; the memory lives in the isolate (a worker first seen now is 0 s old)."""
    now = yield _MONOTONIC
    memory: dict[str, tuple[Any, float]] = isolate.state.setdefault("sweeper_seen", {})
    ages = {}
    for worker_id, record in zip(known, records, strict=True):
        seen = memory.get(worker_id)
        if seen is None or seen[0] != record:
            seen = memory[worker_id] = (record, now)
        ages[worker_id] = float("inf") if record is None else now - seen[1]
    for worker_id in set(memory) - set(known):
        del memory[worker_id]
    return ages


def sweep_stale_workers(policy: Any, isolate: Isolate) -> Generator[Any, Any, Response]:
    """One run of the sweeper; answers with the ids it purged."""
    layout = LAYOUTS[policy.registry_layout]
    indexes = yield from layout.indexes()
    worker_ids = yield from layout.worker_ids()
    known = list(dict.fromkeys([*worker_ids, *(w for ids in indexes.values() for w in ids)]))
    records = yield from read_many([worker_key(w) for w in known], layout.store)
    if policy.stale_by == "observation":
        ages = yield from observed_ages(known, records, isolate)
    else:
        now = yield Now()
        ages = {
            w: (now - r["last_heartbeat"] if r is not None else float("inf"))
            for w, r in zip(known, records, strict=True)
        }
    stale = {w for w, age in ages.items() if age > policy.purge_after}
    if stale and policy.purge_brake:
        stale = yield from brake(ages, stale)
    if not stale:
        return Response(200, {"purged": []})
    seen = dict(zip(known, records, strict=True))
    try:
        purged = sorted((yield from layout.purge_workers(stale, indexes, worker_ids, seen)))
    except KVFailure:
        # A write failed (a 429, say) part-way, as an uncaught rejection ends a Worker invocation: the earlier
        # writes stand. Report what the sweeper set out to purge, then fail.
        yield Trace("workers_purged", {"worker_ids": sorted(stale), "failed": True})
        raise
    if not purged:
        return Response(200, {"purged": []})
    yield Trace("workers_purged", {"worker_ids": purged})
    return Response(200, {"purged": purged})
