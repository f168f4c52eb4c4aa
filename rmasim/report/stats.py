"""Means and 95% confidence intervals of summary keys across seeds, per scenario and variant.

Seeds are independent replications, so a key's mean over n seeds has the Student-t interval
``mean +- t(0.975, n-1) * s / sqrt(n)`` (``s`` the sample standard deviation). With one seed, or a key that
does not vary, the half-width is 0. Keys whose value is null in some runs (a purge time when nothing was purged)
are summarized over the runs that have a value; ``n`` says how many.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..observe import declaration_of

__all__ = ["FIXED_COLUMNS", "better_direction", "interval_table", "mean_ci", "summary_columns"]

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


def better_direction(key: str) -> str:
    """``higher``, ``lower`` or ``none``, from the key's declaration (unknown keys: ``none``)."""
    declared = declaration_of(key)
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
            mean, half, n = mean_ci(pd.to_numeric(part[key], errors="coerce").to_numpy())
            rows.append(
                {**labels, "key": key, "mean": mean, "half_width": half, "ci_low": mean - half,
                 "ci_high": mean + half, "n": n, "better": better_direction(key)}
            )  # fmt: skip
    return pd.DataFrame(rows)
