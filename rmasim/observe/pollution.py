"""Registry pollution: index entries that point at workers not really serving the service.

At each sample, over the central store: an *entry* is one (service, worker id) pair in a ``service:{name}``
index; it is *dead* when that id is not a live agent's or its machine's container for the service is down.
``pollution`` = dead entries / entries (0 when the index is empty). *Stale records* are ``worker:{id}`` records
whose id is not live. A *phantom service* is listed in the index with no live provider among its entries.
"""

from __future__ import annotations

from typing import Any

from .base import Checker, Observations, SampleView, SummaryKey, register_checker

__all__ = ["RegistryPollution", "measure_pollution"]


def measure_pollution(view: SampleView) -> dict[str, float]:
    """The pollution columns for one sample."""
    serving = view.serving
    entries = view.snapshot.index_entries()
    dead = sum(1 for service, wid in entries if service not in serving.get(wid, ()))
    phantom = sum(
        1 for service, ids in view.snapshot.index.items() if not any(service in serving.get(w, ()) for w in ids)
    )
    stale = sum(1 for wid in view.snapshot.workers if wid not in serving)
    return {
        "pollution": dead / len(entries) if entries else 0.0,
        "index_entries": len(entries),
        "dead_entries": dead,
        "stale_records": stale,
        "phantom_services": phantom,
        "live_workers": len(serving),
    }


def _after_warmup(obs: Observations) -> list[dict[str, Any]]:
    return [row for row in obs.samples if row["t"] >= obs.warmup] or obs.samples[-1:]


@register_checker
class RegistryPollution(Checker):
    name = "pollution"
    keys = (
        SummaryKey("pollution.final", "dead index entries / index entries at the last sample", "ratio"),
        SummaryKey("pollution.max", "largest pollution ratio over the samples after warmup", "ratio"),
        SummaryKey("pollution.mean", "mean pollution ratio over the samples after warmup", "ratio"),
        SummaryKey("registry.dead_entries.final", "index entries whose worker is not serving, at the end", "count"),
        SummaryKey("registry.stale_records.final", "worker records of dead ids at the end", "count"),
        SummaryKey("registry.phantom_services.final", "services listed with no live provider, at the end", "count"),
    )

    def sample(self, view: SampleView) -> dict[str, float]:
        return measure_pollution(view)

    def summarize(self, obs: Observations) -> dict[str, Any]:
        if not obs.samples:
            return {k.name: None for k in self.keys}
        rows = _after_warmup(obs)
        last = obs.samples[-1]
        return {
            "pollution.final": last["pollution"],
            "pollution.max": max(r["pollution"] for r in rows),
            "pollution.mean": sum(r["pollution"] for r in rows) / len(rows),
            "registry.dead_entries.final": last["dead_entries"],
            "registry.stale_records.final": last["stale_records"],
            "registry.phantom_services.final": last["phantom_services"],
        }
