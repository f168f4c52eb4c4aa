"""Overload figures: goodput, and how long routing takes to recover after a trigger (issue 13).

``goodput`` = requests served ok per second over the measured window (``[warmup, end)``, or a phase's window):
the work the system got done, which retries and shedding cannot inflate.

Recovery is measured from a scenario phase named ``trigger`` (``phases: {trigger: {start: 5m, end: 7m}}``: an
overload, a burst, a fleet booting under traffic). Rules, by the requests' arrival times:

- the *level* to recover to is the success rate of the requests that arrived in the ``LEVEL_WINDOW`` before the
  trigger (after warmup); when none did (traffic and trigger start together, as in a cold start), it is 1.0;
- a *window* of ``WINDOW`` seconds starting at ``t`` has recovered when the success rate of the requests that
  arrived in ``[t, t + WINDOW)`` is within ``TOLERANCE`` of the level (a window with no request does not count);
- ``recovery.time`` = the first ``t`` >= the trigger's end, in steps of ``STEP``, whose window has recovered, minus
  the trigger's end (0: no visible harm after the trigger); ``null`` when no window recovers, and
  ``recovery.never`` is then 1. Requests still in flight at the end of the run are not in the log, so a window
  ending within the run's slowest request latency of the end is not judged.

A metastable failure (Bronson et al., HotOS 2021) is exactly a trigger after which no window recovers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Checker, Observations, SummaryKey, register_checker
from .outcomes import OUTCOME_CODES

__all__ = ["LEVEL_WINDOW", "STEP", "TOLERANCE", "TRIGGER_PHASE", "WINDOW", "Goodput", "Recovery", "recovery_time"]

TRIGGER_PHASE = "trigger"
WINDOW = 30.0
"""Seconds of arrivals in each judged window."""
STEP = 1.0
"""Seconds between the starts of consecutive judged windows."""
TOLERANCE = 0.01
"""A window has recovered when its success rate is at least the level minus this."""
LEVEL_WINDOW = 300.0
"""Seconds of arrivals before the trigger that set the level to recover to."""

_OK = OUTCOME_CODES["ok"]


@register_checker
class Goodput(Checker):
    name = "goodput"
    per_request = True
    keys = (SummaryKey("goodput", "requests served ok per second over the measured window", "1/s", "higher"),)

    def summarize(self, obs: Observations) -> dict[str, Any]:
        end = min(obs.until, obs.duration)
        span = end - obs.warmup
        return {"goodput": obs.totals().ok / span if span > 0 else None}


def recovery_time(
    t_arrival: np.ndarray, ok: np.ndarray, trigger: tuple[float, float], start: float, end: float
) -> tuple[float | None, float]:
    """``(recovery time or None, level)`` for requests arriving at ``t_arrival`` (sorted or not) with success flags
    ``ok``, a trigger window, the measurement start and the last time a window may end (see the module rules)."""
    t0, t1 = trigger
    before = (t_arrival >= max(start, t0 - LEVEL_WINDOW)) & (t_arrival < t0)
    level = float(ok[before].mean()) if before.any() else 1.0
    order = np.argsort(t_arrival, kind="stable")
    times, good = t_arrival[order], np.cumsum(ok[order].astype(np.int64))
    starts = np.arange(t1, end - WINDOW + 1e-9, STEP)
    if starts.size == 0:
        return None, level
    lo = np.searchsorted(times, starts, side="left")
    hi = np.searchsorted(times, starts + WINDOW, side="left")
    total = hi - lo
    served = np.where(hi > 0, good[np.maximum(hi - 1, 0)], 0) - np.where(lo > 0, good[np.maximum(lo - 1, 0)], 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        recovered = (total > 0) & (served / np.maximum(total, 1) >= level - TOLERANCE)
    hits = np.flatnonzero(recovered)
    return (float(starts[hits[0]] - t1) if hits.size else None), level


@register_checker
class Recovery(Checker):
    name = "recovery"
    keys = (
        SummaryKey("recovery.time", "seconds from the end of the `trigger` phase until a 30 s window of arrivals "
                   "is served within 1% of the pre-trigger success rate (null: never)", "s"),
        SummaryKey("recovery.never", "1 when routing never recovered after the `trigger` phase", "count"),
        SummaryKey("recovery.level", "the success rate to recover to: the 5 minutes before the trigger (1.0 when "
                   "no request came before it)", "ratio", "none"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        trigger = obs.phases.get(TRIGGER_PHASE)
        if trigger is None or not obs.requests.rows:  # totals only: refused with the scenario (check_scenario)
            return {}
        a = obs.requests.arrays()
        latency = a["t_done"] - a["t_arrival"]
        horizon = float(latency.max()) if latency.size else 0.0
        time, level = recovery_time(a["t_arrival"], a["outcome"] == _OK, trigger, obs.warmup, obs.duration - horizon)
        return {"recovery.time": time, "recovery.never": int(time is None), "recovery.level": level}
