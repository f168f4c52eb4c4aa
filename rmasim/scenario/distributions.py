"""Random durations: latencies and service times.

A scenario gives a distribution as a mapping tagged by ``dist``::

    service_time: {dist: exponential, mean: 200ms}
    read_latency: {dist: lognormal, median: 10ms, p99: 50ms}

or as a plain duration (``"20ms"``), which means a constant. Every distribution knows its theoretical ``mean``
and draws ``sample(rng, size)`` values from a numpy ``Generator`` that the caller owns, so the world decides
which named random stream feeds which distribution.

``LogNormal`` is parametrised the way latencies are quoted: a median and a 99th percentile. With ``z99`` the
standard normal 0.99 quantile, ``mu = ln(median)`` and ``sigma = ln(p99 / median) / z99``.

To add a distribution: subclass ``Distribution`` with a ``dist: Literal[...]`` tag, a ``mean`` property and
``sample``, and add it to the ``Dist`` union below.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from .units import DURATION_PATTERN, Duration, PositiveDuration

__all__ = ["Z99", "Constant", "Dist", "Distribution", "Exponential", "LogNormal", "Uniform"]

Z99 = 2.3263478740408408
"""The 0.99 quantile of the standard normal distribution."""


class Distribution(BaseModel):
    """Base of the duration distributions; subclasses define ``dist``, ``mean`` and ``sample``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values in seconds."""
        raise NotImplementedError


class Constant(Distribution):
    """Always ``value``."""

    dist: Literal["constant"] = "constant"
    value: Duration

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value, dtype=float)


class Exponential(Distribution):
    """Memoryless, with the given mean (an M/M/c service time)."""

    dist: Literal["exponential"] = "exponential"
    mean: PositiveDuration

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean, size)


class Uniform(Distribution):
    """Uniform on ``[low, high]``."""

    dist: Literal["uniform"] = "uniform"
    low: Duration
    high: Duration

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low > self.high:
            raise ValueError("uniform needs low <= high")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)


class LogNormal(Distribution):
    """Log-normal given its median and 99th percentile: the usual shape of network and storage latency."""

    dist: Literal["lognormal"] = "lognormal"
    median: PositiveDuration
    p99: PositiveDuration

    @model_validator(mode="after")
    def _ordered(self) -> LogNormal:
        if self.p99 < self.median:
            raise ValueError("lognormal needs p99 >= median")
        return self

    @property
    def sigma(self) -> float:
        return math.log(self.p99 / self.median) / Z99

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.lognormal(math.log(self.median), self.sigma, size)


def _constant_from_string(value: Any) -> Any:
    """A plain duration string is shorthand for ``{dist: constant, value: ...}``."""
    if isinstance(value, str):
        return {"dist": "constant", "value": value}
    return value


Dist = Annotated[
    Constant | Exponential | Uniform | LogNormal,
    Field(discriminator="dist"),
    BeforeValidator(
        _constant_from_string,
        json_schema_input_type=Annotated[str, Field(pattern=DURATION_PATTERN)]
        | Constant
        | Exponential
        | Uniform
        | LogNormal,
    ),
]
"""Any duration distribution, discriminated on ``dist``; a plain duration string means ``Constant``."""
