"""Circuit breakers and outlier ejection at work (flaw #9), from the coordinator's traces.

``breaker.opened`` counts the times an edge's breaker opened (half-open trials that fail open it again and
count too), ``breaker.first_open_failures`` is how many failed forwards of its window opened the first one (the
note "opened after N failures"), ``outlier.ejections`` counts ejections and ``outlier.first_ejection_at`` is the
time of the first. Keys are present whether or not anything opened (0 and None then).
"""

from __future__ import annotations

from typing import Any

from .base import Checker, Observations, SummaryKey, register_checker

__all__ = ["Resilience"]


@register_checker
class Resilience(Checker):
    name = "resilience"
    keys = (
        SummaryKey("breaker.opened", "times an edge's circuit breaker opened", "count", "none"),
        SummaryKey("breaker.first_open_at", "time the first breaker opened", "s", "none"),
        SummaryKey("breaker.first_open_failures", "failed forwards in the window that opened the first breaker",
                   "count", "none"),
        SummaryKey("outlier.ejections", "providers ejected by an edge's outlier detection", "count", "none"),
        SummaryKey("outlier.first_ejection_at", "time of the first ejection", "s", "none"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        opened = [(t, fields) for t, _node, event, fields in obs.traces if event == "breaker_opened"]
        ejected = [t for t, _node, event, _fields in obs.traces if event == "outlier_ejected"]
        return {
            "breaker.opened": len(opened),
            "breaker.first_open_at": opened[0][0] if opened else None,
            "breaker.first_open_failures": opened[0][1]["failures"] if opened else None,
            "outlier.ejections": len(ejected),
            "outlier.first_ejection_at": ejected[0] if ejected else None,
        }
