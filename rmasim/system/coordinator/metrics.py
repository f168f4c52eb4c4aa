"""Flaw #12, per-edge request metrics: what one edge saw of the requests it proxied, per service.

With ``policy.metrics`` on, ``Coordinator.handle`` reads the edge's monotonic clock before and after each proxied
request and records the service, the answer's status and the duration in the edge's memory
(``isolate.state["metrics"]``, an :class:`EdgeMetrics`), as a Worker keeps counters in module globals. The
figures are per edge and since its isolate started (an eviction loses them); no edge sees another's. Per service:
requests, errors (status >= 500, a KV failure answered 500 included), the latency sum and a latency histogram
with fixed, Prometheus-style upper bounds (:data:`LATENCY_BOUNDS`).

``GET /api/admin/metrics`` answers this edge's figures. A quantile is read from the histogram as Prometheus'
``histogram_quantile`` does, without its linear interpolation: the upper bound of the first bucket whose cumulative
count reaches ``q x requests``. It is an upper-bound estimate, coarse by at most one bucket; a quantile that falls
in the +Inf bucket is reported as the highest finite bound (60 s), as Prometheus does.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from itertools import accumulate
from typing import Any

from ..ops import Request, Response
from .isolate import Isolate
from .registry import Handler

__all__ = ["LATENCY_BOUNDS", "EdgeMetrics", "ServiceMetrics", "admin_metrics", "edge_metrics"]

#: Inclusive upper bounds (seconds) of the latency buckets: Prometheus' defaults, extended to a minute, and +Inf.
LATENCY_BOUNDS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, math.inf,
)  # fmt: skip


class ServiceMetrics:
    """One service's counters at one edge."""

    __slots__ = ("buckets", "errors", "latency_sum", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        """Answers with status >= 500."""
        self.latency_sum = 0.0
        self.buckets = [0] * len(LATENCY_BOUNDS)
        """Requests per bucket, not cumulative: ``buckets[i]`` counts latencies in ``(bound[i-1], bound[i]]``."""

    def observe(self, status: int, latency: float) -> None:
        """Count one answered request."""
        self.requests += 1
        if status >= 500:
            self.errors += 1
        self.latency_sum += latency
        self.buckets[bisect_left(LATENCY_BOUNDS, latency)] += 1

    def quantile(self, q: float) -> float:
        """The upper bound of the bucket where the cumulative count reaches ``q x requests`` (+Inf: 60 s)."""
        rank = q * self.requests
        bucket = next(i for i, seen in enumerate(accumulate(self.buckets)) if seen >= rank)
        return min(LATENCY_BOUNDS[bucket], LATENCY_BOUNDS[-2])

    def figures(self) -> dict[str, float]:
        """The JSON-able figures of a service that has had requests."""
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.errors / self.requests,
            "latency_mean": self.latency_sum / self.requests,
            "latency_p50": self.quantile(0.5),
            "latency_p99": self.quantile(0.99),
        }


class EdgeMetrics:
    """Every service's counters at one edge; a service appears with its first request."""

    __slots__ = ("services",)

    def __init__(self) -> None:
        self.services: dict[str, ServiceMetrics] = {}

    def record(self, service: str, status: int, latency: float) -> None:
        """Count one request for ``service``, answered ``status`` after ``latency`` seconds."""
        counters = self.services.get(service)
        if counters is None:
            counters = self.services[service] = ServiceMetrics()
        counters.observe(status, latency)

    def figures(self) -> dict[str, dict[str, float]]:
        """Service name -> its figures, by name."""
        return {name: self.services[name].figures() for name in sorted(self.services)}


def edge_metrics(isolate: Isolate) -> EdgeMetrics:
    """The metrics in ``isolate``'s memory, created on first use."""
    return isolate.kept("metrics", EdgeMetrics)


def admin_metrics(req: Request, policy: Any, isolate: Isolate) -> Handler:
    """GET /api/admin/metrics: this edge's figures per service; 404 when the policy keeps no metrics."""
    if not policy.metrics:
        return Response(404, {"error": "metrics disabled"})
    metrics = isolate.state.get("metrics")
    return Response(200, {"services": metrics.figures() if metrics is not None else {}})
    yield  # a handler is a generator; this one reads only the edge's memory
