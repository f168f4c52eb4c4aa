"""Compare variants of a scenario: the interval table as text cells and as PNG plots, one per key family.

Input is an interval table as :func:`rmasim.report.stats.interval_table` returns it (one row per scenario,
variant values and summary key, with the mean and its 95% interval over seeds). A *variant* is one grid point,
labelled by the last dotted component of each grid key (``edges=2``, ``preset=baseline,edges=2``); a *family* is
the text of a key before its first dot (``routing``, ``latency``, ``kv``, ...). Plots show each key's mean per
variant with its interval as an error bar; keys with no finite mean are left out. A table may carry an extra
``series`` column (for example ``baseline`` / ``now``): each distinct value is then drawn as its own series,
offset slightly on x, with a legend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..outputs import write_atomic

__all__ = [
    "family_of",
    "family_plots",
    "format_interval",
    "interval_cells",
    "interval_text",
    "plot_intervals",
    "variant_label",
]

_ARROWS = {"higher": "↑ higher", "lower": "↓ lower"}


def _short_names(variants: Sequence[str]) -> dict[str, str]:
    """Each grid key's last dotted component, or the whole key where two keys would share it."""
    last = [v.rsplit(".", 1)[-1] for v in variants]
    return {v: (s if last.count(s) == 1 else v) for v, s in zip(variants, last, strict=True)}


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def variant_label(row: Mapping[str, Any] | pd.Series, variants: Sequence[str]) -> str:
    """``edges=2`` or ``preset=baseline,edges=2`` for a row holding the grid keys ``variants``; ``all`` if none.

    >>> variant_label({"coordinator.preset": "baseline", "kv.cache_ttl": 60}, ["coordinator.preset", "kv.cache_ttl"])
    'preset=baseline,cache_ttl=60'
    """
    if not variants:
        return "all"
    names = _short_names(variants)
    return ",".join(f"{names[v]}={_value_text(row[v])}" for v in variants)


def family_of(key: str) -> str:
    """The key's family: the text before its first dot (``routing.failures.dead_target`` -> ``routing``)."""
    return key.split(".", 1)[0]


def _decimals(size: float) -> int:
    return 4 if size < 10 else 2 if size < 1000 else 0


def format_interval(mean: float, half_width: float, decimals: int | None = None) -> str:
    """``0.7163 ± 0.0031``; by default fewer decimals for larger means; ``-`` when the mean is not finite."""
    if not math.isfinite(mean):
        return "-"
    places = _decimals(abs(mean)) if decimals is None else decimals
    half = half_width if math.isfinite(half_width) else 0.0
    return f"{mean:.{places}f} ± {half:.{places}f}"


def interval_text(row: Mapping[str, Any] | pd.Series, decimals: int | None = None) -> str:
    """One interval-table row as a cell: ``0.7163 ± 0.0031``; a yes/no key as ``2/3`` (how many runs said yes);
    a non-negative key whose interval was clipped at 0 as ``0.0123 [0, 0.0423]``."""
    mean = float(row["mean"])
    kind = row.get("interval", "mean")
    if kind == "proportion" and math.isfinite(mean):
        n = int(row["n"])
        return f"{round(mean * n)}/{n}"
    if kind == "clipped" and math.isfinite(mean):
        places = _decimals(abs(mean)) if decimals is None else decimals
        return f"{mean:.{places}f} [0, {float(row['ci_high']):.{places}f}]"
    return format_interval(mean, float(row["half_width"]), decimals)


def _labelled(table: pd.DataFrame, variants: Sequence[str]) -> pd.DataFrame:
    """The table with a ``label`` column (variant label, prefixed by the scenario when there are several)."""
    labels = [variant_label(row, variants) for _, row in table.iterrows()]
    if "scenario" in table and table["scenario"].nunique() > 1:
        labels = [f"{s}:{label}" for s, label in zip(table["scenario"], labels, strict=True)]
    return table.assign(label=labels)


def interval_cells(table: pd.DataFrame, variants: Sequence[str]) -> pd.DataFrame:
    """One row per key: ``key``, ``better`` (higher, lower, none), then per variant label ``mean ± half_width``.

    Decimals are chosen per key from its largest mean, so a row reads in one precision. A cell whose ``n`` is
    below the largest ``n`` of the table says so (``(n=7)``): keys that are null in some runs, like purge times
    when nothing was purged, are summarized over fewer runs.
    """
    frame = _labelled(table, variants)
    full_n = int(frame["n"].max()) if len(frame) else 0
    labels = list(dict.fromkeys(frame["label"]))
    means = pd.to_numeric(frame["mean"], errors="coerce").abs()
    largest = means.where(means.map(math.isfinite)).groupby(frame["key"]).max().fillna(0.0)
    rows: dict[str, dict[str, str]] = {}
    for _, r in frame.iterrows():
        row = rows.setdefault(r["key"], {"key": r["key"], "better": r["better"]})
        cell = interval_text(r, _decimals(float(largest[r["key"]])))
        if 0 < int(r["n"]) < full_n:
            cell += f" (n={int(r['n'])})"
        row[r["label"]] = cell
    return pd.DataFrame(list(rows.values()), columns=["key", "better", *labels]).fillna("-")


def markdown_cells(cells: pd.DataFrame, keys: Sequence[str] = ()) -> str:
    """``cells`` (from :func:`interval_cells`) as a Markdown table, only ``keys`` (in that order) when given."""
    if keys:
        cells = cells.set_index("key").reindex(list(keys)).reset_index().fillna("-")
    labels = [str(c) for c in cells.columns[2:]]
    lines = ["| key | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for row in cells.itertuples(index=False):
        lines.append(f"| `{row[0]}` | " + " | ".join(str(c) for c in row[2:]) + " |")
    return "\n".join(lines)


def _error_bars(points: pd.DataFrame) -> Any:
    """Asymmetric error bars from ``ci_low``/``ci_high`` when the table has them (a proportion's exact interval,
    a clipped one), else the symmetric half-width."""
    mean = pd.to_numeric(points["mean"], errors="coerce")
    if {"ci_low", "ci_high"} <= set(points.columns):
        low = (mean - pd.to_numeric(points["ci_low"], errors="coerce")).fillna(0.0).clip(lower=0.0)
        high = (pd.to_numeric(points["ci_high"], errors="coerce") - mean).fillna(0.0).clip(lower=0.0)
        return [low.to_numpy(), high.to_numpy()]
    return pd.to_numeric(points["half_width"], errors="coerce").fillna(0.0)


def plot_intervals(
    table: pd.DataFrame, variants: Sequence[str], path: Path, keys: Sequence[str], title: str = ""
) -> Path:
    """One PNG at ``path``: a small panel per key of ``keys`` (x: variant, points with 95% interval bars).

    Keys with no finite mean are skipped. With a ``series`` column in ``table``, each distinct value is its own
    series (offset on x, in a legend).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = _labelled(table[table["key"].isin(list(keys))], variants)
    frame = frame[pd.to_numeric(frame["mean"], errors="coerce").map(math.isfinite)]
    shown = [k for k in dict.fromkeys(keys) if (frame["key"] == k).any()]
    labels = list(dict.fromkeys(frame["label"]))
    series = list(dict.fromkeys(frame["series"])) if "series" in frame else [None]
    cols = max(1, min(len(shown), 4))
    rows = max(1, math.ceil(len(shown) / cols))
    width = max(2.2, 0.55 * len(labels) + 1.4)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, 2.6 * rows), squeeze=False, constrained_layout=True)
    step = 0.5 / max(len(series), 1)
    for ax, key in zip(axes.flat, shown, strict=False):
        part = frame[frame["key"] == key]
        for i, name in enumerate(series):
            points = part if name is None else part[part["series"] == name]
            x = [labels.index(label) + (i - (len(series) - 1) / 2) * step for label in points["label"]]
            yerr = _error_bars(points)
            ax.errorbar(x, points["mean"], yerr=yerr, fmt="o", capsize=3, ms=4, label=None if name is None else name)
        better = part["better"].iloc[0]
        ax.set_title(f"{key} ({_ARROWS[better]})" if better in _ARROWS else key, fontsize=9)
        tilted = len(labels) > 3 or max(map(len, labels)) > 12
        ax.set_xticks(range(len(labels)), labels, rotation=30 if tilted else 0, ha="right" if tilted else "center")
        ax.tick_params(axis="x", labelsize=8)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(shown) :]:
        ax.set_visible(False)
    if not shown:
        axes[0, 0].set_visible(True)
        axes[0, 0].text(0.5, 0.5, "no finite values", ha="center", va="center", transform=axes[0, 0].transAxes)
        axes[0, 0].set_axis_off()
    if series != [None] and shown:
        handles, names = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=len(series), fontsize=8)
    if title:
        fig.suptitle(title)
    path = Path(path)
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
    return path


def family_plots(table: pd.DataFrame, variants: Sequence[str], out_dir: Path) -> list[Path]:
    """``out_dir/<family>.png`` for every family with at least one key with a finite mean; the paths written."""
    out_dir = Path(out_dir)
    finite = table[pd.to_numeric(table["mean"], errors="coerce").map(math.isfinite)]
    families: dict[str, list[str]] = {}
    for key in dict.fromkeys(finite["key"]):
        families.setdefault(family_of(key), []).append(key)
    scenarios = list(dict.fromkeys(table["scenario"])) if "scenario" in table else []
    prefix = f"{', '.join(map(str, scenarios))}: " if scenarios else ""
    return [
        plot_intervals(table, variants, out_dir / f"{family}.png", keys, title=f"{prefix}{family}")
        for family, keys in families.items()
    ]
