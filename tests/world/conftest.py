"""Tiny fixtures and helpers for the world tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pytest


class Exponential:
    """A minimal dist (``.sample(rng, size)``) for tests, independent of the scenario layer."""

    def __init__(self, mean: float) -> None:
        self.mean = mean

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean, size)


class Script:
    """A sampler that returns scripted values in order (for hand-computed schedules)."""

    def __init__(self, values: Iterable[float]) -> None:
        self._it: Iterator[float] = iter(values)

    def __call__(self) -> float:
        return next(self._it)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def exponential() -> type[Exponential]:
    """The test dist class: ``exponential(mean)``."""
    return Exponential


@pytest.fixture
def script() -> type[Script]:
    """The scripted sampler class: ``script([v1, v2, ...])``."""
    return Script
