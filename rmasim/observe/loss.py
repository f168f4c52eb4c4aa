"""Registry loss: live providers missing from the service index, i.e. registrations the store lost.

Every list in the KV is updated by read-modify-write; two edges doing so within a cache TTL lose one update. At
each sample, over the central store: a *provider* is a (worker id, service) pair whose id is live, whose machine
really serves the service, and which that agent registered (its ``registered`` trace) more than
:data:`GRACE` seconds ago. It is *lost* when the id is absent from ``service:{name}``. ``lost_entries`` counts
lost providers; the grace leaves the register call's own writes time to reach the central store.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from .base import Checker, Observations, SampleView, SummaryKey, register_checker

__all__ = ["GRACE", "RegistryLoss", "count_lost", "index_members"]

#: Seconds after a registration completed before a missing index entry counts as lost (covers write latency).
GRACE = 5.0


def index_members(snapshot: Any) -> dict[str, Collection[Any]]:
    """Service -> the ids its index lists, as a set for membership tests (a sample asks about every live worker;
    an index holding something unhashable, as a malformed registration may store, is kept as it is)."""
    members: dict[str, Collection[Any]] = {}
    for service, ids in snapshot.index.items():
        try:
            members[service] = frozenset(ids)
        except TypeError:
            members[service] = ids
    return members


def count_lost(view: SampleView) -> int:
    """Providers (live id, service it serves and registered > ``GRACE`` s ago) absent from the index."""
    lost = 0
    index = index_members(view.snapshot)
    for worker_id, services in view.serving.items():
        registered = view.registered.get(worker_id)
        if registered is None or view.t - registered[0] <= GRACE:
            continue
        for service in services & registered[1]:
            if worker_id not in index.get(service, ()):
                lost += 1
    return lost


@register_checker
class RegistryLoss(Checker):
    name = "loss"
    keys = (
        SummaryKey("registry.loss.max", "largest number of live providers missing from the index, after warmup",
                   "count"),
        SummaryKey("registry.loss.final", "live providers missing from the index at the last sample", "count"),
    )  # fmt: skip

    def sample(self, view: SampleView) -> dict[str, float]:
        return {"lost_entries": count_lost(view)}

    def summarize(self, obs: Observations) -> dict[str, Any]:
        if not obs.samples:
            return {"registry.loss.max": None, "registry.loss.final": None}
        rows = [row for row in obs.samples if row["t"] >= obs.warmup] or obs.samples[-1:]
        return {
            "registry.loss.max": max(row["lost_entries"] for row in rows),
            "registry.loss.final": obs.samples[-1]["lost_entries"],
        }
