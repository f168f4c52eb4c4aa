"""The memory of a Worker isolate: module-level state that survives between requests at one edge.

A Cloudflare location runs the coordinator script in isolates that keep their globals between requests (until
evicted), and different locations share nothing. :class:`Isolate` is that memory, handed to every handler as
Workers hand ``env`` to ``fetch``. The baseline keeps nothing in it except derived data of KV values, which is
a pure speed-up: KV values are never mutated (every write stores a new object), so a result computed from a
value can be reused for as long as the value read is *the same object*.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Isolate"]

S = TypeVar("S")
R = TypeVar("R")


class Isolate:
    """Per-edge, in-memory state of the coordinator (lost on eviction; never shared between edges)."""

    __slots__ = ("_derived", "state")

    def __init__(self) -> None:
        self._derived: dict[str, tuple[Any, Any]] = {}
        self.state: dict[str, Any] = {}
        """Named state a handler keeps between requests (breakers, round-robin counters, ...)."""

    def kept(self, name: str, create: Callable[[], R]) -> R:
        """The state kept under ``name``, created by ``create()`` on first use."""
        value = self.state.get(name)
        if value is None:
            value = self.state[name] = create()
        return value  # type: ignore[no-any-return]

    def derived(self, tag: str, source: S, compute: Callable[[S], R]) -> R:
        """``compute(source)``, remembered under ``tag`` while ``source`` is the same (immutable) object."""
        hit = self._derived.get(tag)
        if hit is not None and hit[0] is source:
            return hit[1]  # type: ignore[no-any-return]
        value = compute(source)
        self._derived[tag] = (source, value)
        return value
