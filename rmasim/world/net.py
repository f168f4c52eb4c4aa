"""The simulated network: one-way latency, message loss, and one- or two-way partitions between named nodes.

Model (DESIGN.md section 4, "Network"; after Maelstrom's ``net.clj``): nodes are named by paths such as
``client/0``, ``edge/1``, ``agent/gpu/3`` or ``container/gpu/3/rag``. A message from ``src`` to ``dst``
takes one draw of the latency dist (:meth:`Network.latency`) and arrives unless a partition blocks ``src ->
dst`` or it is lost with probability ``loss`` (:meth:`Network.delivered`). A partition names two sides as
iterables of ``fnmatch`` patterns (``"agent/gpu/*"``); a two-way partition blocks both directions, a one-way
partition only ``side_a -> side_b``. Partitions stack and are healed individually by handle. The caller (the
runtime) turns an undelivered request into a connection error after ``connect_timeout`` seconds (a tunnel to
a crashed or cut-off agent fails that way). With no partition and no loss, :meth:`Network.delivered` draws
no randomness and is a single attribute test. ``now`` is accepted for a uniform time-explicit interface (and
time-scheduled faults later); the current rules do not depend on it.

Example::

    >>> import numpy as np
    >>> net = Network(0.01, np.random.default_rng(0))
    >>> h = net.partition(["edge/*"], ["agent/gpu/1"], oneway=True)
    >>> net.delivered("edge/0", "agent/gpu/1", 0.0), net.delivered("agent/gpu/1", "edge/0", 0.0)
    (False, True)
"""

from __future__ import annotations

import fnmatch
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rmasim.world.rng import Dist, as_sampler

__all__ = ["Network", "Partition"]


@dataclass(frozen=True, slots=True)
class Partition:
    """A handle to an active partition: ``side_a`` and ``side_b`` are fnmatch patterns over node names."""

    id: int
    side_a: tuple[str, ...]
    side_b: tuple[str, ...]
    oneway: bool

    def blocks(self, src: str, dst: str) -> bool:
        """True when this partition stops a message from ``src`` to ``dst``."""
        if _matches(src, self.side_a) and _matches(dst, self.side_b):
            return True
        return not self.oneway and _matches(src, self.side_b) and _matches(dst, self.side_a)


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


class Network:
    """Latency, loss and partitions between named nodes."""

    def __init__(
        self,
        latency: float | Dist | Callable[[], float],
        rng: np.random.Generator,
        loss: float = 0.0,
        connect_timeout: float = 15.0,
    ) -> None:
        if not 0.0 <= loss <= 1.0:
            raise ValueError(f"loss must be within [0, 1], got {loss}")
        if connect_timeout < 0:
            raise ValueError(f"connect_timeout must be >= 0, got {connect_timeout}")
        self._latency = as_sampler(latency, rng)
        self._rng = rng
        self.loss = float(loss)
        self.connect_timeout = float(connect_timeout)
        self._partitions: dict[int, Partition] = {}
        self._blocked: dict[tuple[str, str], bool] = {}  # memo, cleared whenever partitions change
        self._ids = itertools.count(1)
        self.perfect = self.loss == 0.0
        """No partition and no loss: every message arrives (:meth:`delivered` is True and draws nothing). Kept up
        to date by the partition methods; a caller on a hot path may test it before calling :meth:`delivered`."""

    @classmethod
    def from_config(cls, cfg: Any, rng: np.random.Generator) -> Network:
        """Build from an object with ``latency``, ``loss`` and ``connect_timeout`` (``NetworkConfig``)."""
        return cls(
            latency=cfg.latency,
            rng=rng,
            loss=getattr(cfg, "loss", 0.0),
            connect_timeout=getattr(cfg, "connect_timeout", 15.0),
        )

    def latency(self, src: str, dst: str) -> float:
        """One draw of the one-way latency of a hop from ``src`` to ``dst``."""
        return self._latency()

    def delivered(self, src: str, dst: str, now: float) -> bool:
        """Whether a message sent from ``src`` to ``dst`` at ``now`` arrives (not partitioned, not lost)."""
        if self.perfect:
            return True
        if self._partitions and self.blocked(src, dst):
            return False
        return not (self.loss and self._rng.random() < self.loss)

    def blocked(self, src: str, dst: str) -> bool:
        """True when an active partition blocks ``src -> dst`` (loss aside)."""
        key = (src, dst)
        hit = self._blocked.get(key)
        if hit is None:
            hit = any(p.blocks(src, dst) for p in self._partitions.values())
            self._blocked[key] = hit
        return hit

    def partition(self, side_a: Iterable[str], side_b: Iterable[str], oneway: bool = False) -> Partition:
        """Cut ``side_a`` from ``side_b`` (both directions unless ``oneway``); returns the handle for heal."""
        a, b = _patterns(side_a), _patterns(side_b)
        handle = Partition(next(self._ids), a, b, bool(oneway))
        self._partitions[handle.id] = handle
        self._changed()
        return handle

    def heal(self, handle: Partition) -> None:
        """Remove one partition; healing an already healed partition is a no-op."""
        if self._partitions.pop(handle.id, None) is not None:
            self._changed()

    def heal_all(self) -> None:
        """Remove every partition."""
        self._partitions.clear()
        self._changed()

    @property
    def partitions(self) -> tuple[Partition, ...]:
        """The active partitions, oldest first."""
        return tuple(self._partitions.values())

    def _changed(self) -> None:
        self._blocked.clear()
        self.perfect = self.loss == 0.0 and not self._partitions


def _patterns(side: Iterable[str]) -> tuple[str, ...]:
    if isinstance(side, str):
        return (side,)
    patterns = tuple(side)
    if not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise ValueError(f"a partition side must be a non-empty iterable of node-name patterns, got {side!r}")
    return patterns
