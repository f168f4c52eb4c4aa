"""Cron Triggers: which minutes of simulated time run a Worker's ``scheduled()`` handler.

Cloudflare's Cron Triggers take five fields, ``minute hour day-of-month month day-of-week``, evaluated in UTC, at
one-minute resolution at the finest (developers.cloudflare.com/workers/configuration/cron-triggers). Each field
is ``*``, a value, a range ``a-b``, a list ``a,b``, or a step ``*/n`` / ``a-b/n``; months may be ``JAN``-``DEC``;
day-of-week is ``1``-``7`` = Sunday-Saturday or ``SUN``-``SAT``. The Quartz extensions Cloudflare also accepts
(``L``, ``W``, ``#``) are refused with a clear message (not modelled yet). As in classic cron, when both
day-of-month and day-of-week are restricted, a day matches either.

Simulated time ``t`` seconds is the instant ``1970-01-01T00:00:00Z + t`` (the edge clocks start at 0 too), so
``*/5 * * * *`` fires at t = 300, 600, ...
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["CronSchedule"]

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
#: (name, lowest, highest, names for lowest..): the five fields in order.
_FIELDS = (
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day-of-month", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
)


def _value(text: str, low: int, names: list[str] | None, field: str) -> int:
    if names is not None and text.upper() in names:
        return low + names.index(text.upper())
    if not text.isdigit():
        raise ValueError(f"{field}: {text!r} is not a number" + (f" or one of {','.join(names)}" if names else ""))
    return int(text)


def _field(text: str, field: str, low: int, high: int, names: list[str] | None) -> frozenset[int]:
    if any(c in text.upper() for c in "LW#?"):
        raise ValueError(f"{field}: {text!r}: the L, W, # and ? extensions are not supported yet")
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"{field}: step {step_text!r} must be a positive number")
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = _value(a, low, names, field), _value(b, low, names, field)
        else:
            first = _value(span, low, names, field)
            last = high if step else first
        if not (low <= first <= high and low <= last <= high) or first > last:
            raise ValueError(f"{field}: {part!r} is outside {low}-{high}")
        values.update(range(first, last + 1, step or 1))
    return frozenset(values)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """One cron expression, parsed: the matching values of each field."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """1 = Sunday ... 7 = Saturday."""
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Parse ``"*/5 * * * *"``; a ``ValueError`` names the bad field."""
        parts = str(expression).split()
        if len(parts) != 5:
            raise ValueError(f"{expression!r}: a cron expression has 5 fields (minute hour day month weekday)")
        fields = (_field(text, *spec) for text, spec in zip(parts, _FIELDS, strict=True))
        minutes, hours, days, months, weekdays = fields
        return cls(expression, minutes, hours, days, months, weekdays, parts[2] == "*", parts[4] == "*")

    def matches(self, t: float) -> bool:
        """True when the minute that starts at simulated time ``t`` (seconds) is one of the schedule's."""
        when = datetime.fromtimestamp(t, UTC)
        if when.minute not in self.minutes or when.hour not in self.hours or when.month not in self.months:
            return False
        day_ok = when.day in self.days
        weekday_ok = (when.isoweekday() % 7) + 1 in self.weekdays
        if self.any_day or self.any_weekday:
            return day_ok and weekday_ok
        return day_ok or weekday_ok
