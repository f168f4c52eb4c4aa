"""Named random streams and buffered samplers.

Model (DESIGN.md section 4, "Randomness"): one root seed drives a run. Every component draws from its own
stream, a ``numpy.random.Generator`` seeded by ``numpy.random.SeedSequence(root_seed, spawn_key=...)`` where
the spawn key is derived from a stable hash (blake2b) of the component's *name*. Streams are therefore keyed
by name, not by creation order: adding a component, or creating streams in another order, leaves every other
stream's draws unchanged, and the same seed gives the same draws bit for bit on any machine and in any
process.

A *dist* in this layer is any object with ``.sample(rng, size) -> np.ndarray`` (the scenario's ``Dist``
models satisfy it). :class:`Sampler` buffers draws from a dist and hands out one float per call, so a
latency draw on a hot path costs a list index rather than a numpy call. :func:`as_sampler` also accepts a
plain number (a constant that consumes no randomness) or a ready callable.

Example::

    >>> streams = Streams(42)
    >>> rng = streams.generator("kv")
    >>> rng is streams.generator("kv")
    True
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Constant", "Dist", "Sampler", "Streams", "as_sampler", "spawn_key"]


@runtime_checkable
class Dist(Protocol):
    """Anything that can draw ``size`` samples from a numpy generator."""

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray: ...


def spawn_key(name: str) -> tuple[int, ...]:
    """Return the stable SeedSequence spawn key of a stream name: blake2b digest -> four uint32 words."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class Streams:
    """Independent random generators keyed by component name, all derived from one root seed."""

    def __init__(self, root_seed: int) -> None:
        if root_seed < 0:
            raise ValueError(f"root_seed must be >= 0, got {root_seed}")
        self.root_seed = int(root_seed)
        self._generators: dict[str, np.random.Generator] = {}

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        """The SeedSequence behind stream ``name`` (useful to hand a stream to another process)."""
        return np.random.SeedSequence(self.root_seed, spawn_key=spawn_key(name))

    def generator(self, name: str) -> np.random.Generator:
        """The generator of stream ``name``; the same object is returned on every call with that name."""
        gen = self._generators.get(name)
        if gen is None:
            gen = np.random.Generator(np.random.PCG64(self.seed_sequence(name)))
            self._generators[name] = gen
        return gen

    def __repr__(self) -> str:
        return f"Streams(root_seed={self.root_seed}, streams={sorted(self._generators)})"


class Sampler:
    """One float per call from ``dist``, drawn ``batch`` at a time from ``rng`` (deterministic given it)."""

    __slots__ = ("_batch", "_buf", "_i", "dist", "rng")

    def __init__(self, dist: Dist, rng: np.random.Generator, batch: int = 1024) -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self.dist = dist
        self.rng = rng
        self._batch = batch
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        if i >= len(self._buf):
            self._buf = np.asarray(self.dist.sample(self.rng, self._batch), dtype=float).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


class Constant:
    """A dist and a sampler that always give ``value`` and consume no randomness."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value)

    def __call__(self) -> float:
        return self.value

    def __repr__(self) -> str:
        return f"Constant({self.value})"


def as_sampler(spec: float | Dist | Callable[[], float], rng: np.random.Generator) -> Callable[[], float]:
    """A zero-argument callable giving one float per call from a number, a dist or a ready callable."""
    if isinstance(spec, bool):
        raise TypeError("a latency or duration cannot be a bool")
    if isinstance(spec, int | float):
        return Constant(spec)
    if isinstance(spec, Constant):
        return spec
    if isinstance(spec, Dist):
        return Sampler(spec, rng)
    if callable(spec):
        return spec
    raise TypeError(f"expected a number, a dist with .sample(rng, size) or a callable, got {spec!r}")
