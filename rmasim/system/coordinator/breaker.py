"""Circuit breakers (flaw #9), resilience4j's count-based breaker, one per (worker, service) in an edge's memory.

States of one breaker:

- **closed**: every forward is let through and its result goes into a sliding window of the last ``window``
  results. Once at least ``min_calls`` results are in the window and the share of failures is at least
  ``failure_rate``, the breaker **opens**.
- **open**: nothing is let through for ``open_for`` seconds; then the next permission check turns it
  **half-open** (resilience4j's default, without an automatic transition).
- **half-open**: ``half_open_calls`` trial forwards are let through, no more; once all their results are in, the
  breaker opens again when at least ``failure_rate`` of them failed, and closes with an empty window otherwise.

A failure is what the proxy counts as one: a connection failure, a timeout or a 5xx. Results that arrive while
the breaker is open (forwards let through before it opened) are dropped, as resilience4j does. The defaults
(50%, 100 calls, 20 calls, 60 s, 10 trials) are the knobs' defaults (``breaker_*``).
"""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ["Breaker", "Breakers"]

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class Breaker:
    """One (worker, service) breaker of one edge."""

    __slots__ = ("failures", "opened_at", "results", "state", "trial_results", "trials_left")

    def __init__(self) -> None:
        self.state = CLOSED
        self.results: deque[bool] = deque()
        self.failures = 0
        """Failures among ``results``."""
        self.opened_at = float("-inf")
        self.trials_left = 0
        self.trial_results: list[bool] = []


class Breakers:
    """An edge's breakers, created on first use, with the policy's settings."""

    __slots__ = ("_breakers", "failure_rate", "half_open_calls", "min_calls", "open_for", "window")

    def __init__(self, policy: Any) -> None:
        self.failure_rate: float = policy.breaker_failure_rate
        self.window: int = policy.breaker_window
        self.min_calls: int = policy.breaker_min_calls
        self.open_for: float = policy.breaker_open_for
        self.half_open_calls: int = policy.breaker_half_open_calls
        self._breakers: dict[tuple[str, str], Breaker] = {}

    def state(self, worker_id: str, service: str) -> str:
        """The breaker's state as last changed (an open breaker past ``open_for`` turns half-open when asked)."""
        breaker = self._breakers.get((worker_id, service))
        return CLOSED if breaker is None else breaker.state

    def permitted(self, service: str, candidates: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
        """``candidates`` whose breaker lets a forward through at ``now`` (turning due open breakers half-open)."""
        breakers = self._breakers
        out = []
        for record in candidates:
            breaker = breakers.get((record["id"], service))
            if breaker is None or breaker.state == CLOSED:
                out.append(record)
                continue
            if breaker.state == OPEN and now - breaker.opened_at >= self.open_for:
                breaker.state = HALF_OPEN
                breaker.trials_left = self.half_open_calls
                breaker.trial_results = []
            if breaker.state == HALF_OPEN and breaker.trials_left > 0:
                out.append(record)
        return out

    def acquire(self, worker_id: str, service: str) -> None:
        """A forward to the worker is about to go out: a half-open breaker spends one trial."""
        breaker = self._breakers.get((worker_id, service))
        if breaker is not None and breaker.state == HALF_OPEN:
            breaker.trials_left -= 1

    def report(self, worker_id: str, service: str, ok: bool, now: float) -> tuple[int, int] | None:
        """Record one forward's result. When it opened the breaker: (failures, calls) that made it open."""
        breaker = self._breakers.get((worker_id, service))
        if breaker is None:
            breaker = self._breakers[(worker_id, service)] = Breaker()
        if breaker.state == OPEN:
            return None
        if breaker.state == HALF_OPEN:
            breaker.trial_results.append(ok)
            if len(breaker.trial_results) < self.half_open_calls:
                return None
            failed = breaker.trial_results.count(False)
            if failed >= self.failure_rate * len(breaker.trial_results):
                return self._open(breaker, now, failed, len(breaker.trial_results))
            breaker.state = CLOSED
            breaker.results.clear()
            breaker.failures = 0
            return None
        results = breaker.results
        results.append(ok)
        if not ok:
            breaker.failures += 1
        if len(results) > self.window and not results.popleft():
            breaker.failures -= 1
        calls = len(results)
        if calls >= self.min_calls and breaker.failures >= self.failure_rate * calls:
            return self._open(breaker, now, breaker.failures, calls)
        return None

    @staticmethod
    def _open(breaker: Breaker, now: float, failures: int, calls: int) -> tuple[int, int]:
        breaker.state = OPEN
        breaker.opened_at = now
        breaker.results.clear()
        breaker.failures = 0
        breaker.trial_results = []
        return failures, calls
