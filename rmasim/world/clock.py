"""Per-node clocks: offset, drift and jumps over the simulation's true time.

Model (DESIGN.md section 4, "Clocks"): every node (edge, agent) reads its own clock::

    local(t) = t * (1 + drift) + offset + sum(delta for each jump applied at or before t)

``drift`` is a rate error (``1e-4`` gains 8.64 s a day), ``offset`` a constant skew, and a jump (an NTP
step, a VM resume, an operator's ``date -s``) moves local time by ``delta`` from the true instant it is
applied. A local timer of ``d`` seconds (``sleep(d)`` measured on the node's oscillator) lasts ``d / (1 +
drift)`` true seconds; jumps do not shorten or lengthen timers, as with a monotonic clock. Timestamps
written to the KV come from the writer's clock and ages are computed with the reader's, which is how clock
faults reach the coordinator.

Example::

    >>> c = Clock(offset=5.0, drift=0.0)
    >>> c.jump(-10.0, at_true_t=100.0)
    >>> c.local(50.0), c.local(100.0)
    (55.0, 95.0)
"""

from __future__ import annotations

import bisect
from typing import Any

__all__ = ["Clock"]


class Clock:
    """A node's local clock; pure function of true time plus the jumps applied so far."""

    __slots__ = ("_cum", "_jump_at", "drift", "offset")

    def __init__(self, offset: float = 0.0, drift: float = 0.0) -> None:
        if drift <= -1.0:
            raise ValueError(f"drift must be > -1 (a clock cannot stop or run backwards), got {drift}")
        self.offset = float(offset)
        self.drift = float(drift)
        self._jump_at: list[float] = []  # true instants of jumps, sorted
        self._cum: list[float] = []  # cumulative jump deltas, parallel to _jump_at

    @classmethod
    def from_config(cls, cfg: Any) -> Clock:
        """Build from any object with ``offset`` and ``drift`` attributes (``ClockConfig``); None -> ideal."""
        if cfg is None:
            return cls()
        return cls(offset=getattr(cfg, "offset", 0.0), drift=getattr(cfg, "drift", 0.0))

    def local(self, true_t: float) -> float:
        """The node's reading at true time ``true_t``."""
        base = true_t * (1.0 + self.drift) + self.offset
        if not self._jump_at:
            return base
        i = bisect.bisect_right(self._jump_at, true_t)
        return base + (self._cum[i - 1] if i else 0.0)

    def monotonic(self, true_t: float) -> float:
        """The node's monotonic clock (``time.monotonic()``): the oscillator's count, without offset or jumps."""
        return true_t * (1.0 + self.drift)

    def jump(self, delta: float, at_true_t: float) -> None:
        """Step the local time by ``delta`` seconds from true instant ``at_true_t`` onwards."""
        i = bisect.bisect_right(self._jump_at, at_true_t)
        self._jump_at.insert(i, float(at_true_t))
        self._cum.insert(i, (self._cum[i - 1] if i else 0.0) + float(delta))
        for j in range(i + 1, len(self._cum)):
            self._cum[j] += float(delta)

    @property
    def total_jump(self) -> float:
        """Sum of all jumps applied so far."""
        return self._cum[-1] if self._cum else 0.0

    def true_duration(self, local_d: float) -> float:
        """True seconds that a local timer of ``local_d`` seconds lasts."""
        return local_d / (1.0 + self.drift)

    def local_duration(self, true_d: float) -> float:
        """Local seconds the node's oscillator counts during ``true_d`` true seconds (no jumps)."""
        return true_d * (1.0 + self.drift)

    def __repr__(self) -> str:
        return f"Clock(offset={self.offset}, drift={self.drift}, jumps={len(self._jump_at)})"
