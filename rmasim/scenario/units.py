"""Durations and rates as scenario files write them.

A duration is a number followed by a unit, with no space needed: ``250ms``, ``30s``, ``1.5s``, ``5m``, ``2h``,
``1d``. A bare number is refused: ``30`` could be seconds or milliseconds, and a scenario must say which. A
rate is a number per unit of time: ``20/s``, ``3/m``, ``10/h``, ``0.5/s``. Digits are ASCII ``0-9`` only: a
fullwidth ``'５m'`` or Arabic-Indic digits are refused (Python's ``float`` would read them; a reader of the file
might not). After validation both are plain floats, in seconds and in events per second, so the engine never
sees a unit.

The pydantic types below parse strings on input, dump back to the shortest exact string (so a dumped scenario
loads again) and describe themselves in JSON Schema as strings with a pattern.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = [
    "Duration",
    "PositiveDuration",
    "Rate",
    "SignedDuration",
    "format_duration",
    "format_rate",
    "parse_duration",
    "parse_rate",
]

_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_TIME_UNITS = r"ms|s|m|h|d"
DURATION_PATTERN = rf"^{_NUMBER}({_TIME_UNITS})$"
SIGNED_DURATION_PATTERN = rf"^[-+]?{_NUMBER}({_TIME_UNITS})$"
RATE_PATTERN = rf"^{_NUMBER}/(s|m|h|d)$"

_DURATION_RE = re.compile(rf"^\s*([-+]?{_NUMBER})\s*({_TIME_UNITS})\s*$", re.ASCII)
_RATE_RE = re.compile(rf"^\s*({_NUMBER})\s*/\s*([a-z]+)\s*$", re.ASCII)
_BARE_NUMBER_RE = re.compile(rf"^\s*[-+]?{_NUMBER}\s*$", re.ASCII)

# Seconds per unit. Milliseconds divide by 1000 rather than multiply by 0.001 so "100ms" is exactly 0.1.
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_MS_PER_SECOND = 1000


def _to_seconds(number: float, unit: str) -> float:
    return number / _MS_PER_SECOND if unit == "ms" else number * _SECONDS[unit]


def parse_duration(text: str) -> float:
    """Parse ``"250ms"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"1d"`` (or ``"-2s"``) into seconds.

    >>> parse_duration("1.5m")
    90.0
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(f"expected a duration such as '30s', got {type(text).__name__}")
    if isinstance(text, str) and not text.isascii():
        raise ValueError(f"invalid duration {text!r}: write it with ASCII digits 0-9 and a unit, e.g. '30s'")
    if isinstance(text, int | float) or _BARE_NUMBER_RE.match(text):
        raise ValueError(f"a duration needs a unit (ms, s, m, h, d): use e.g. '30s' instead of {text!r}")
    match = _DURATION_RE.match(text)
    if match is None:
        raise ValueError(f"invalid duration {text!r}: use a number and a unit (ms, s, m, h, d), e.g. '30s'")
    seconds = _to_seconds(float(match.group(1)), match.group(2))
    if not math.isfinite(seconds):
        raise ValueError(f"duration {text!r} is too large")
    return seconds


def parse_rate(text: str) -> float:
    """Parse ``"20/s"``, ``"3/m"``, ``"10/h"`` or ``"1/d"`` into events per second.

    >>> parse_rate("3/m")
    0.05
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(f"expected a rate such as '20/s', got {type(text).__name__}")
    if isinstance(text, str) and not text.isascii():
        raise ValueError(f"invalid rate {text!r}: write it with ASCII digits 0-9 and a unit, e.g. '20/s'")
    if isinstance(text, int | float) or _BARE_NUMBER_RE.match(text):
        raise ValueError(f"a rate needs a unit of time: use e.g. '20/s' or '3/m' instead of {text!r}")
    match = _RATE_RE.match(text)
    if match is None:
        raise ValueError(f"invalid rate {text!r}: use a number per unit of time, e.g. '20/s' or '3/m'")
    number, unit = float(match.group(1)), match.group(2)
    if unit not in _SECONDS:
        raise ValueError(f"invalid rate unit '/{unit}' in {text!r}: use /s, /m, /h or /d")
    rate = number / _SECONDS[unit]
    if not math.isfinite(rate):
        raise ValueError(f"rate {text!r} is too large")
    return rate


def _plain_number(value: float) -> str:
    """``2.0`` -> ``"2"``, ``0.25`` -> ``"0.25"``, never an exponent."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of a duration: ``90.0`` -> ``"90s"``, ``0.25`` -> ``"250ms"``.

    A whole number wins, then the shortest text; the result always parses back to exactly ``seconds``.

    >>> format_duration(3600.0), format_duration(0.25), format_duration(1.5)
    ('1h', '250ms', '1500ms')
    """
    if seconds == 0:
        return "0s"
    candidates = []
    for unit in ("d", "h", "m", "s", "ms"):
        amount = seconds * _MS_PER_SECOND if unit == "ms" else seconds / _SECONDS[unit]
        text = _plain_number(amount) + unit
        if _to_seconds(float(_plain_number(amount)), unit) == seconds:
            candidates.append((not float(amount).is_integer(), len(text), text))
    if not candidates:
        return _plain_number(seconds) + "s"
    return min(candidates)[2]


def format_rate(per_second: float) -> str:
    """The shortest exact spelling of a rate: ``0.05`` -> ``"3/m"``, ``20.0`` -> ``"20/s"``."""
    candidates = []
    for unit in ("s", "m", "h", "d"):
        amount = per_second * _SECONDS[unit]
        text = f"{_plain_number(amount)}/{unit}"
        if float(_plain_number(amount)) / _SECONDS[unit] == per_second:
            candidates.append((not float(amount).is_integer(), len(text), text))
    if not candidates:
        return f"{_plain_number(per_second)}/s"
    return min(candidates)[2]


def _non_negative(seconds: float) -> float:
    if seconds < 0:
        raise ValueError("a duration must not be negative")
    return seconds


def _positive(seconds: float) -> float:
    if seconds <= 0:
        raise ValueError("a duration must be greater than 0s")
    return seconds


def _parse_duration_input(value: Any) -> float:
    return parse_duration(value)


def _parse_rate_input(value: Any) -> float:
    return parse_rate(value)


_DURATION_DUMP = PlainSerializer(format_duration, return_type=str)

Duration = Annotated[
    float,
    BeforeValidator(_parse_duration_input),
    AfterValidator(_non_negative),
    _DURATION_DUMP,
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["250ms", "30s", "5m"]}),
]
"""A non-negative duration in seconds, written ``"30s"``."""

PositiveDuration = Annotated[
    float,
    BeforeValidator(_parse_duration_input),
    AfterValidator(_positive),
    _DURATION_DUMP,
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["30s"]}),
]
"""A duration greater than zero, in seconds."""

SignedDuration = Annotated[
    float,
    BeforeValidator(_parse_duration_input),
    _DURATION_DUMP,
    WithJsonSchema({"type": "string", "pattern": SIGNED_DURATION_PATTERN, "examples": ["-2s", "500ms"]}),
]
"""A duration that may be negative (a clock offset), in seconds."""

Rate = Annotated[
    float,
    BeforeValidator(_parse_rate_input),
    PlainSerializer(format_rate, return_type=str),
    WithJsonSchema({"type": "string", "pattern": RATE_PATTERN, "examples": ["20/s", "3/m"]}),
]
"""A non-negative rate in events per second, written ``"20/s"``."""
