"""Means and 95% confidence intervals of summary keys across seeds, per scenario and variant.

Seeds are independent replications, so a key's mean over n seeds has the Student-t interval
``mean +- t(0.975, n-1) * s / sqrt(n)`` (``s`` the sample standard deviation). With one seed, or a key that
does not vary, the half-width is 0. Keys whose value is null in some runs (a purge time when nothing was purged)
are summarized over the runs that have a value; ``n`` says how many.

Two kinds of key get a better interval than ``mean +- half_width`` (the ``interval`` column says which, and
``ci_low``/``ci_high`` hold it): a yes/no key (unit ``bool``, every value 0 or 1) is a binomial proportion, with
the exact Clopper-Pearson interval of ``k`` yes out of ``n`` (``interval = "proportion"``); a key that cannot be
negative (a count, a duration, a ratio, a price) whose t-interval reaches below 0 has it clipped at 0
(``interval = "clipped"``). ``half_width`` stays the t half-width, which the regression check's tests use.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..observe import declaration_of

__all__ = [
    "FIXED_COLUMNS",
    "NON_NEGATIVE_UNITS",
    "better_direction",
    "interval_table",
    "mean_ci",
    "summary_columns",
    "unit_of",
    "welch_half_width",
]

#: Units of quantities that are never negative: their intervals are clipped at 0.
NON_NEGATIVE_UNITS = frozenset({"count", "count/day", "s", "ratio", "USD", "bool"})
#: Columns of a sweep frame that are not summary keys.
FIXED_COLUMNS = ("run", "run_id", "scenario", "seed")


def mean_ci(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> tuple[float, float, int]:
    """``(mean, half_width, n)`` of the finite values; ``(nan, nan, 0)`` when there are none."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, 0
    mean = float(x.mean())
    if n == 1:
        return mean, 0.0, 1
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, half, n


def welch_half_width(var_a: float, n_a: int, var_b: float, n_b: int, confidence: float = 0.95) -> float:
    """Half-width of the Welch interval of a difference of two means, from each mean's variance (``s^2 / n``)
    and its number of runs (Welch-Satterthwaite degrees of freedom); 0 when neither side varies."""
    if var_a + var_b == 0:
        return 0.0
    df = (var_a + var_b) ** 2 / sum(v**2 / (n - 1) for v, n in ((var_a, n_a), (var_b, n_b)) if v > 0)
    return float(stats.t.ppf(0.5 + confidence / 2, df)) * math.sqrt(var_a + var_b)


def _base_key(key: str) -> str:
    """``phase.<name>.<key>`` -> ``<key>``; any other key unchanged."""
    if key.startswith("phase."):
        _, _, rest = key.partition(".")
        _, _, base = rest.partition(".")
        if base:
            return base
    return key


def unit_of(key: str) -> str:
    """The key's declared unit (a per-phase key's is its base key's; unknown keys: "")."""
    declared = declaration_of(_base_key(key))
    return declared.unit if declared is not None else ""


def better_direction(key: str) -> str:
    """``higher``, ``lower`` or ``none``, from the key's declaration (unknown keys: ``none``); a per-phase key
    ``phase.<name>.<key>`` is judged as its base key (``phase.canary.routing.success_rate``: higher)."""
    declared = declaration_of(_base_key(key))
    return declared.better if declared is not None else "none"


def summary_columns(frame: pd.DataFrame, variants: Sequence[str] = ()) -> list[str]:
    """The summary-key columns of a sweep frame: not a fixed or variant column, every value a number or null.

    Unlike a dtype test this keeps optional keys (``purge.time_max`` is null in runs that purged nothing), which
    a sweep's frame holds as ``object`` columns when some runs have no value.
    """
    skip = {*FIXED_COLUMNS, *variants}
    return [
        column
        for column in frame.columns
        if column not in skip
        and (
            pd.api.types.is_numeric_dtype(frame[column])
            or all(isinstance(v, numbers.Real) for v in frame[column].dropna())
        )
    ]


def interval_table(frame: pd.DataFrame, variants: Sequence[str], keys: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per (scenario, variant values, key): mean, half_width, ci_low, ci_high, n, better."""
    keys = list(keys) if keys is not None else summary_columns(frame, variants)
    by = ["scenario", *variants]
    rows = []
    for group, part in frame.groupby(by, sort=False, dropna=False):
        labels = dict(zip(by, group if isinstance(group, tuple) else (group,), strict=True))
        for key in keys:
            if key not in part:
                continue
            values = pd.to_numeric(part[key], errors="coerce").to_numpy(dtype=float)
            mean, half, n = mean_ci(values)
            low, high, kind = _interval(key, values[np.isfinite(values)], mean, half)
            rows.append(
                {**labels, "key": key, "mean": mean, "half_width": half, "ci_low": low, "ci_high": high, "n": n,
                 "better": better_direction(key), "interval": kind}
            )  # fmt: skip
    return pd.DataFrame(rows)


def _interval(key: str, values: np.ndarray, mean: float, half: float) -> tuple[float, float, str]:
    """``(ci_low, ci_high, kind)``: see the module docstring."""
    if values.size == 0:
        return mean - half, mean + half, "mean"
    unit = unit_of(key)
    if unit == "bool" and np.isin(values, (0.0, 1.0)).all():
        ci = stats.binomtest(int(values.sum()), int(values.size)).proportion_ci(0.95, method="exact")
        return float(ci.low), float(ci.high), "proportion"
    if unit in NON_NEGATIVE_UNITS and values.min() >= 0 and mean - half < 0:
        return 0.0, mean + half, "clipped"
    return mean - half, mean + half, "mean"
