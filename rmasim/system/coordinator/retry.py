"""Retries with a budget (flaw #10): Finagle's ``RetryBudget`` and its jittered backoff, kept per edge.

A failed forward (connection failure, timeout or a 5xx answer) is retried on a *different* provider, at most
``retries`` times, after a backoff drawn uniformly in [25 ms, 250 ms]. Each retry must be paid from the edge's
budget: over the last ``RETRY_WINDOW`` seconds, retries may not exceed ``retry_budget_percent`` of the requests
plus ``retry_budget_min_per_sec`` per second of the window (Finagle: 20% and 10/s over 10 s). During a total
outage the budget caps the extra load at that figure instead of doubling it.
"""

from __future__ import annotations

from collections import deque

__all__ = ["BACKOFF_MAX", "BACKOFF_MIN", "RETRY_WINDOW", "RetryBudget"]

#: Seconds of history the budget weighs (Finagle's ``ttl``).
RETRY_WINDOW = 10.0
#: Jittered backoff bounds, seconds.
BACKOFF_MIN = 0.025
BACKOFF_MAX = 0.250


class RetryBudget:
    """Requests and retries of one edge over the last :data:`RETRY_WINDOW` seconds."""

    __slots__ = ("_requests", "_retries", "min_per_sec", "percent")

    def __init__(self, percent: float, min_per_sec: float) -> None:
        self.percent = percent
        self.min_per_sec = min_per_sec
        self._requests: deque[float] = deque()
        self._retries: deque[float] = deque()

    def _trim(self, now: float) -> None:
        cutoff = now - RETRY_WINDOW
        for times in (self._requests, self._retries):
            while times and times[0] <= cutoff:
                times.popleft()

    def deposit(self, now: float) -> None:
        """A request arrived."""
        self._requests.append(now)

    def withdraw(self, now: float) -> bool:
        """Take one retry if the budget allows it now."""
        self._trim(now)
        allowed = self.percent * len(self._requests) + self.min_per_sec * RETRY_WINDOW
        if len(self._retries) + 1 > allowed:
            return False
        self._retries.append(now)
        return True
