"""Per-service figures (flaw #12) and requests sent to a broken container.

For each service with requests after warmup: ``service.<name>.requests``, ``.success_rate`` and ``.latency.p99``
(of its successful requests). A request went to a *broken container* when one of its forwards (a retry included)
reached a live machine whose container for the service was down, hung, erroring or slowed at that moment (a service
fault); ``routing.to_broken`` counts them and ``routing.broken_exposure`` is the time from the first to the last of
them: how long routing kept choosing a container that could not serve (0 with at most one such request), and
``routing.last_to_broken`` the arrival time of the last of them (minus a fault's time: how long after it).
"""

from __future__ import annotations

from typing import Any

from .base import Checker, Observations, SummaryKey, register_checker

__all__ = ["ServiceFigures"]


@register_checker
class ServiceFigures(Checker):
    name = "services"
    per_request = True
    keys = (
        SummaryKey("service.*.requests", "client requests for the service after warmup", "count", "none"),
        SummaryKey("service.*.success_rate", "share of the service's requests served ok", "ratio", "higher"),
        SummaryKey("service.*.latency.p99", "99th percentile latency of the service's successful requests", "s"),
        SummaryKey("routing.to_broken", "requests forwarded to a live machine whose container was broken", "count"),
        SummaryKey("routing.broken_exposure", "seconds from the first to the last request sent to a broken "
                   "container", "s"),
        SummaryKey("routing.last_to_broken", "arrival time of the last request sent to a broken container", "s",
                   "none"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        totals = obs.totals()
        out: dict[str, Any] = {}
        for name, mine in sorted(totals.services.items()):
            out[f"service.{name}.requests"] = mine.requests
            out[f"service.{name}.success_rate"] = mine.ok / mine.requests
            out[f"service.{name}.latency.p99"] = mine.latency.percentile(99.0) if mine.ok else None
        first, last = totals.first_broken, totals.last_broken
        out["routing.to_broken"] = totals.to_broken
        out["routing.broken_exposure"] = last - first if first is not None and last is not None else 0.0
        out["routing.last_to_broken"] = last
        return out
