"""Routing outcomes and latency of client requests that arrived after warmup.

``routing.success_rate`` = ok / requests; ``routing.failures.<outcome>`` counts each non-ok outcome of the
table in :mod:`rmasim.observe.outcomes`; latency percentiles are over successful requests only (seconds, from
arrival at the edge to the edge's answer).
"""

from __future__ import annotations

from typing import Any

from .base import Checker, Observations, SummaryKey, register_checker
from .outcomes import OUTCOME_CODES

__all__ = ["Routing"]

_PERCENTILES = {"latency.p50": 50.0, "latency.p95": 95.0, "latency.p99": 99.0}


@register_checker
class Routing(Checker):
    name = "routing"
    per_request = True
    keys = (
        SummaryKey("routing.requests", "client requests that arrived after warmup", "count", "none"),
        SummaryKey("routing.success_rate", "share of those requests served ok", "ratio", "higher"),
        SummaryKey("routing.failures.*", "requests per non-ok outcome (see the outcome table)", "count"),
        SummaryKey("routing.attempts_per_request", "forward attempts per request", "count"),
        SummaryKey("routing.retries_per_request", "forwards per request beyond the first (retries)", "count"),
        SummaryKey("latency.mean", "mean latency of successful requests", "s"),
        SummaryKey("latency.p50", "median latency of successful requests", "s"),
        SummaryKey("latency.p95", "95th percentile latency of successful requests", "s"),
        SummaryKey("latency.p99", "99th percentile latency of successful requests", "s"),
    )

    def summarize(self, obs: Observations) -> dict[str, Any]:
        totals = obs.totals()
        n, counts = totals.requests, totals.outcomes
        out: dict[str, Any] = {
            "routing.requests": n,
            "routing.success_rate": counts[OUTCOME_CODES["ok"]] / n if n else None,
            "routing.attempts_per_request": totals.attempts / n if n else None,
            "routing.retries_per_request": totals.retries / n if n else None,
        }
        for name, code in OUTCOME_CODES.items():
            if name != "ok":
                out[f"routing.failures.{name}"] = counts[code]
        latency = totals.latency
        out["latency.mean"] = latency.mean() if latency.size else None
        for key, q in _PERCENTILES.items():
            out[key] = latency.percentile(q) if latency.size else None
        return out
