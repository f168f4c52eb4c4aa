"""KV faults: a central outage, and replication lag to one edge.

``kv_outage``: :meth:`set_outage` on the run's store from ``at`` for ``duration``. With Workers KV, cache hits
are still served while refetches, lists and writes fail (the coordinator gets a 503 ``KVFailure``); the strong
store has no cache, so every operation fails. ``edge_lag``: :meth:`set_edge_lag` on edge ``spec.edge`` for
``duration`` (the strong store accepts and ignores it).

Both are windows: overlapping outages end when the last one does, and overlapping lags on one edge apply the
largest lag still open (0 when none is).
"""

from __future__ import annotations

from typing import Any

from .base import Chaos, register_fault

__all__ = ["edge_lag", "kv_outage"]


@register_fault("kv_outage")
def kv_outage(spec: Any, chaos: Chaos) -> None:
    """Take the central store down now; bring it back after ``spec.duration`` unless another outage is open."""
    kv = chaos.runtime.kv
    chaos.open_window("kv_outage", spec)
    chaos.record("kv_outage", "kv", not kv.outage)
    kv.set_outage(True)

    def end() -> None:
        still_open = chaos.close_window("kv_outage", spec)
        if not still_open:
            kv.set_outage(False)
        chaos.record("kv_restored", "kv", not still_open)

    chaos.after(spec.duration, end)


@register_fault("edge_lag")
def edge_lag(spec: Any, chaos: Chaos) -> None:
    """Delay writes to edge ``spec.edge``'s refetches by ``spec.lag`` now, for ``spec.duration``."""
    edge = chaos.edge(spec)
    kv = chaos.runtime.kv
    key = f"edge_lag/{edge.index}"
    kv.set_edge_lag(edge.index, max(chaos.open_window(key, spec.lag)))
    chaos.record("edge_lag", edge, True)

    def end() -> None:
        kv.set_edge_lag(edge.index, max(chaos.close_window(key, spec.lag), default=0.0))
        chaos.record("edge_lag_end", edge, True)

    chaos.after(spec.duration, end)
