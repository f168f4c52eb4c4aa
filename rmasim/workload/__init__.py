"""Client traffic: open-loop Poisson clients per service (DESIGN.md section 3, the Jepsen "workload").

Each :class:`PoissonClients` sends requests for one service between ``start`` and ``stop``; each request arrives
at an edge drawn uniformly, or by ``coordinator.location_weights`` (clients spread over the coordinator's
locations, or near some of them more than others), and its outcome is recorded by the
observer. Open loop: a slow or failing system does not slow the arrivals down, as with real users.

The rate is ``rate x multiplier x diurnal(t)``. ``multiplier`` is piecewise constant (a ``hot_service`` fault
sets it); as Poisson arrivals are memoryless, a change simply discards the pending arrival and draws the next gap
at the new rate from the moment of the change, which is exact. A ``diurnal`` curve is followed by thinning: gaps
are drawn at the curve's peak rate and each candidate arrival is kept with probability rate(t) / peak (Lewis and
Shedler). Without either, the gaps are exponential with mean ``1/rate``, one scheduled callback per request
(:meth:`~rmasim.runtime.loop.Loop.call_later`).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["PoissonClients"]

_BLOCK = 4096


class PoissonClients:
    """Open-loop Poisson arrivals for one service (one scheduled callback per request, no process)."""

    def __init__(
        self, spec: Any, runtime: Any, edges: list[Any], rng: Any, until: float, weights: list[float] | None = None
    ) -> None:
        self.service = spec.service
        self.rate = float(spec.rate)
        self.start = float(spec.start)
        self.stop = min(float(spec.stop), until) if spec.stop is not None else until
        self.runtime = runtime
        self.edges = edges
        self.weights = None if weights is None else [w / math.fsum(weights) for w in weights]
        """The share of clients near each location (None: uniform)."""
        self.rng = rng
        self.diurnal = getattr(spec, "diurnal", None)
        self.multiplier = 1.0
        self.sent = 0
        self._scale = 1.0 / self.rate if self.rate > 0 else math.inf
        """Mean gap at the current peak rate."""
        self._gaps: list[float] = []
        self._picks: list[int] = []
        self._keeps: list[float] = []
        self._pending: Any = None
        self._discarded: Any = None
        self._env: Any = None
        """The event loop (:class:`~rmasim.runtime.loop.Loop`), from :meth:`install`."""

    def install(self, env: Any) -> None:
        """Schedule the first arrival."""
        self._env = env
        self._set_scale()
        if self.rate > 0 and self.stop > self.start:
            self._schedule(env, self.start + self._gap() - env.now)

    def set_multiplier(self, env: Any, multiplier: float) -> None:
        """From now on, send ``multiplier`` times the configured rate (memoryless: the pending arrival is redrawn)."""
        self.multiplier = multiplier
        self._set_scale()
        if self._pending is not None and env.now >= self.start:
            self._discarded = self._pending
            self._pending = None
            self._schedule(env, self._gap())

    def extra_requests(self, env: Any, times: list[float]) -> None:
        """Send one request at each of ``times`` (absolute), besides the Poisson arrivals (a burst)."""
        for t in times:
            env.timeout(max(0.0, t - env.now)).callbacks.append(self._send_one)

    def rate_at(self, t: float) -> float:
        """The arrival rate at time ``t``."""
        rate = self.rate * self.multiplier
        if self.diurnal is not None:
            d = self.diurnal
            rate *= 1.0 + d.amplitude * math.cos(2.0 * math.pi * (t - d.peak_at) / d.period)
        return rate

    def _set_scale(self) -> None:
        peak = self.rate * self.multiplier * (1.0 + (self.diurnal.amplitude if self.diurnal is not None else 0.0))
        self._scale = 1.0 / peak if peak > 0 else math.inf

    def _gap(self) -> float:
        if not self._gaps:
            self._gaps = self.rng.exponential(1.0, _BLOCK).tolist()[::-1]
        return self._scale * self._gaps.pop()

    def _edge(self) -> Any:
        if len(self.edges) == 1:
            return self.edges[0]
        if not self._picks:
            n = len(self.edges)
            picks = (
                self.rng.integers(0, n, _BLOCK) if self.weights is None else self.rng.choice(n, _BLOCK, p=self.weights)
            )
            self._picks = picks.tolist()[::-1]
        return self.edges[self._picks.pop()]

    def _schedule(self, env: Any, delay: float) -> None:
        if delay < math.inf and env.now + delay < self.stop:
            self._pending = env.call_later(delay, self._arrive)
        else:
            self._pending = None

    def _arrive(self, call: Any) -> None:
        """An arrival (a candidate one with a diurnal curve): send it, then schedule the next. The hot path, inline:
        an edge and a gap from the drawn blocks (:meth:`_edge` and :meth:`_gap` when a block must be drawn, or with
        one edge), in the order of :meth:`_send_one` then :meth:`_schedule`."""
        if call is self._discarded:
            return
        env = self._env
        now = env.now
        if self.diurnal is None or self._kept(now):
            self.sent += 1
            picks = self._picks
            self.runtime.client_request(self.service, self.edges[picks.pop()] if picks else self._edge())
        gaps = self._gaps
        delay = self._scale * gaps.pop() if gaps else self._gap()
        if delay < math.inf and now + delay < self.stop:
            self._pending = env.call_later(delay, self._arrive)
        else:
            self._pending = None

    def _kept(self, now: float) -> bool:
        """Thinning: keep a candidate arrival with probability rate(now) / peak rate."""
        if not self._keeps:
            self._keeps = self.rng.random(_BLOCK).tolist()[::-1]
        return self._keeps.pop() < self._scale * self.rate_at(now)

    def _send_one(self, _event: Any) -> None:
        self.sent += 1
        self.runtime.client_request(self.service, self._edge())
