"""Unregister cleanup: what a graceful stop leaves behind in the registry at the end of the run.

For every graceful stop of a registered worker: is its ``worker:{id}`` record still stored, and how many
``service:{name}`` entries still list its id (flaw #1: the baseline deletes the record, keeps the entries)?
A worker that was stopped and is alive again under the same id (fingerprint identity) is not counted.
"""

from __future__ import annotations

from typing import Any

from .base import Checker, Observations, SummaryKey, register_checker

__all__ = ["UnregisterCleanup"]


@register_checker
class UnregisterCleanup(Checker):
    name = "unregister"
    keys = (
        SummaryKey("unregister.stops", "graceful stops of a registered worker", "count", "none"),
        SummaryKey("unregister.records_left", "stopped workers whose record is still stored at the end", "count"),
        SummaryKey("unregister.index_entries_left", "index entries of stopped workers at the end", "count"),
    )

    def summarize(self, obs: Observations) -> dict[str, Any]:
        stopped = {w for e in obs.events if e.kind == "stop" for w in e.worker_ids} - set(obs.final_serving)
        final = obs.final_snapshot
        if final is None:
            return {k.name: None for k in self.keys} | {"unregister.stops": len(stopped)}
        return {
            "unregister.stops": len(stopped),
            "unregister.records_left": sum(1 for w in stopped if w in final.workers),
            "unregister.index_entries_left": sum(1 for _, w in final.index_entries() if w in stopped),
        }
