"""Client traffic: open-loop Poisson clients per service (DESIGN.md section 3, the Jepsen "workload").

Each :class:`PoissonClients` sends requests for one service with exponentially distributed gaps of mean
``1/rate`` between ``start`` and ``stop``; each request arrives at an edge drawn uniformly (clients spread over
the coordinator's locations) and its outcome is recorded by the observer. Open loop: a slow or failing system
does not slow the arrivals down, as with real users.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PoissonClients"]


class PoissonClients:
    """Open-loop Poisson arrivals for one service (one SimPy timeout per request, no process)."""

    def __init__(self, spec: Any, runtime: Any, edges: list[Any], rng: Any, until: float) -> None:
        self.service = spec.service
        self.rate = float(spec.rate)
        self.start = float(spec.start)
        self.stop = min(float(spec.stop), until) if spec.stop is not None else until
        self.runtime = runtime
        self.edges = edges
        self.rng = rng
        self.sent = 0
        self._gaps: list[float] = []
        self._picks: list[int] = []

    def install(self, env: Any) -> None:
        """Schedule the first arrival."""
        if self.rate > 0 and self.stop > self.start:
            self._schedule(env, self.start + self._gap() - env.now)

    def _gap(self) -> float:
        if not self._gaps:
            self._gaps = self.rng.exponential(1.0 / self.rate, 4096).tolist()[::-1]
        return self._gaps.pop()

    def _edge(self) -> Any:
        if len(self.edges) == 1:
            return self.edges[0]
        if not self._picks:
            self._picks = self.rng.integers(0, len(self.edges), 4096).tolist()[::-1]
        return self.edges[self._picks.pop()]

    def _schedule(self, env: Any, delay: float) -> None:
        if env.now + delay < self.stop:
            env.timeout(delay).callbacks.append(self._arrive)

    def _arrive(self, event: Any) -> None:
        env = event.env
        self.sent += 1
        self.runtime.client_request(self.service, self._edge())
        self._schedule(env, self._gap())
