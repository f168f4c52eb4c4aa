"""The CI regression check: a scenario suite over a few seeds, compared key by key with a committed baseline.

Model. Every run of the suite is labelled by its scenario and its *variant* (the coordinator preset it runs:
``coordinator.preset``; a scenario runs under its own preset and every preset its ``expect`` names). For each
(scenario, variant, key) the mean over the seeds and its 95% Student-t half-width are computed
(:func:`rmasim.report.stats.interval_table`); keys that are null in every run of a scenario (a purge time when
nothing was purged) are left out. The baseline file holds the same numbers from an earlier run.

Rule. A key *regresses* when its mean moved in its bad direction (``better``: ``higher`` or ``lower``, from the
key's declaration) by more than the noise, ``sqrt(hw_base**2 + hw_now**2) + 1e-9 * max(1, |base|, |now|)``:
the half-widths of both intervals added in quadrature, plus a tiny absolute tolerance so that keys that do not
vary across seeds (half-width 0) are not flagged for floating-point dust. A move beyond the noise in the good
direction is an *improvement*; anything else is *unchanged*. Keys whose ``better`` is ``none`` (counts of
injected faults, requests) never regress nor improve. A key with no baseline entry is *new*; a baseline entry
with no current value is *missing*. Neither fails the check.

Baseline file (JSON, sorted, no timestamps, so a regenerated file diffs cleanly)::

    {"format": 1, "variant_by": "coordinator.preset", "seeds": [0, 1, 2],
     "entries": [{"scenario": "crash", "variant": "baseline", "key": "pollution.final",
                  "mean": 0.333, "half_width": 0.0, "n": 3, "better": "lower"}, ...]}
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..outputs import OutputError, replace_report, write_atomic
from ..scenario import Scenario, load_scenario
from .stats import interval_table, summary_columns

__all__ = [
    "BASELINE_FORMAT",
    "HEADLINE_KEYS",
    "VARIANT_BY",
    "VERDICTS",
    "Baseline",
    "BaselineError",
    "baseline_json",
    "check_baseline_target",
    "compare_to_baseline",
    "counts",
    "load_baseline",
    "suite_intervals",
    "suite_scenarios",
    "verdict",
    "write_baseline",
    "write_check_report",
]

BASELINE_FORMAT = 1
#: The scenario field whose value names a run's variant.
VARIANT_BY = "coordinator.preset"
#: Verdicts in report order: what needs attention first.
VERDICTS = ("regression", "improvement", "new", "missing", "unchanged")
#: Keys plotted for every scenario, whether they moved or not.
HEADLINE_KEYS = ("routing.success_rate", "pollution.final", "latency.p99")
#: Relative tolerance for keys that do not vary (scaled by max(1, |base|, |now|)).
TOLERANCE = 1e-9

Better = Literal["higher", "lower", "none"]


class BaselineError(ValueError):
    """A baseline file that is missing or malformed; ``str()`` is one line naming the file."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: str
    variant: str
    key: str
    mean: float
    half_width: float = Field(ge=0)
    n: int = Field(ge=1)
    better: Better


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal[1]
    variant_by: str
    seeds: list[int]
    entries: list[_Entry]


@dataclass(frozen=True)
class Baseline:
    """A baseline: the seeds it was computed over and its table (scenario, variant, key, mean, half_width, n,
    better)."""

    seeds: tuple[int, ...]
    table: pd.DataFrame
    variant_by: str = VARIANT_BY


_TABLE_COLUMNS = ["scenario", "variant", "key", "mean", "half_width", "n", "better"]


def load_baseline(path: str | os.PathLike[str]) -> Baseline:
    """Read a baseline file; raise :class:`BaselineError` (one line) when it is missing or malformed."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise BaselineError(f"{path}: {'is a directory' if path.is_dir() else 'is not a regular file'}, not a baseline")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BASELINE_BYTES + 1)
    except FileNotFoundError:
        raise BaselineError(f"{path}: no such baseline file (create it with --update-baseline)") from None
    except OSError as error:
        raise BaselineError(f"{path}: cannot read: {error.strerror}") from None
    if len(raw) > MAX_BASELINE_BYTES:
        raise BaselineError(f"{path}: larger than {MAX_BASELINE_BYTES // 2**20} MiB, not a baseline file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line, col = _line_col(raw, error.start)
        raise BaselineError(f"{path}:{line}:{col}: not UTF-8 text (byte {raw[error.start]:#04x})") from None
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as error:
        raise BaselineError(f"{path}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from None
    except _NotFinite as error:
        raise BaselineError(f"{path}: {error}; a baseline holds finite numbers only") from None
    try:
        parsed = _File.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f" (and {error.error_count() - 1} more problems)" if error.error_count() > 1 else ""
        raise BaselineError(f"{path}: {where}: {first['msg']}{more}") from None
    if parsed.variant_by != VARIANT_BY:
        raise BaselineError(f"{path}: variant_by: expected {VARIANT_BY!r}, got {parsed.variant_by!r}")
    seen: set[tuple[str, str, str]] = set()
    for entry in parsed.entries:
        ident = (entry.scenario, entry.variant, entry.key)
        if ident in seen:
            raise BaselineError(f"{path}: entries: duplicate entry for {'/'.join(ident)}")
        seen.add(ident)
    table = pd.DataFrame([e.model_dump() for e in parsed.entries], columns=_TABLE_COLUMNS)
    return Baseline(tuple(parsed.seeds), table, parsed.variant_by)


#: A baseline of the whole suite is about 0.5 MiB; anything far larger is not one.
MAX_BASELINE_BYTES = 64 * 2**20


class _NotFinite(ValueError):
    pass


def _no_constant(name: str) -> float:
    raise _NotFinite(f"{name} is not a number a baseline may hold")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(f"{text} overflows to {value}")
    return value


def _line_col(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    return line, offset - (raw.rfind(b"\n", 0, offset) + 1) + 1


def baseline_json(table: pd.DataFrame, seeds: Iterable[int]) -> str:
    """The text of a baseline file for an interval table with a ``variant`` column (rows with n = 0 dropped)."""
    entries = []
    for _, r in table.sort_values(["scenario", "variant", "key"], kind="stable").iterrows():
        if int(r["n"]) == 0 or not math.isfinite(float(r["mean"])):
            continue
        entries.append(
            {"scenario": str(r["scenario"]), "variant": str(r["variant"]), "key": str(r["key"]),
             "mean": float(r["mean"]), "half_width": float(r["half_width"]), "n": int(r["n"]),
             "better": str(r["better"])}
        )  # fmt: skip
    head = {"format": BASELINE_FORMAT, "variant_by": VARIANT_BY, "seeds": list(seeds)}
    lines = [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    body = ",\n".join(f"  {json.dumps(e)}" for e in entries)
    return "{\n" + "\n".join(lines) + '\n "entries": [\n' + body + ("\n" if entries else "") + " ]\n}\n"


def write_baseline(table: pd.DataFrame, seeds: Iterable[int], path: str | os.PathLike[str]) -> Path:
    """Write the baseline file atomically (temporary sibling, then rename). An existing file is replaced only
    when it is an rmasim baseline (its ``format`` is :data:`BASELINE_FORMAT`); anything else raises
    :class:`~rmasim.outputs.OutputError`."""
    path = check_baseline_target(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(path, f"cannot be written: {error.strerror or error}") from None
    text = baseline_json(table, seeds)
    write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return path


def check_baseline_target(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path when a baseline may be written there (missing, or an rmasim baseline file); else
    :class:`~rmasim.outputs.OutputError`."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not _is_baseline(path)):
        raise OutputError(path, "exists and is not an rmasim baseline file; rmasim replaces only its own baselines")
    parent = Path(os.path.abspath(path)).parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(path, f"cannot be created: {parent} is not a directory")
    return path


def _is_baseline(path: Path) -> bool:
    """Whether ``path`` is a regular file that holds a baseline's JSON (of any content)."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_BASELINE_BYTES:
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == BASELINE_FORMAT


def suite_scenarios(suite: str | os.PathLike[str]) -> list[Scenario]:
    """Every ``*.yaml`` of the suite directory, by file name (raises ``ScenarioError`` on a bad file)."""
    from ..scenario import Problem, ScenarioError

    suite = Path(suite)
    paths = sorted(suite.glob("*.yaml")) if suite.is_dir() else []
    if not paths:
        what = "no *.yaml scenario files in it" if suite.is_dir() else "not a directory"
        raise ScenarioError([Problem(str(suite), None, None, "--suite", what)])
    problems = []
    scenarios = []
    for path in paths:
        try:
            scenarios.append(load_scenario(path))
        except ScenarioError as error:
            problems += error.problems
    if problems:
        raise ScenarioError(problems)
    return scenarios


def suite_intervals(
    scenarios: Sequence[Scenario],
    seeds: Iterable[int],
    *,
    jobs: int | None = None,
    progress: Callable[[int, int, Any], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the suite (each scenario under its own preset and every preset its ``expect`` names, the preset being
    the variant) and return ``(runs, intervals)``.

    ``runs``: one row per run (see :func:`rmasim.sweep.sweep`) with a ``variant`` column. ``intervals``: one row
    per (scenario, variant, key) with a value in at least one run: mean, half_width, ci_low, ci_high, n, better.
    """
    from ..sweep import sweep

    seeds = list(seeds)
    variants = {id(s): s.expectation_presets() for s in scenarios}
    total = sum(len(v) for v in variants.values()) * len(seeds)
    frames = []
    offset = 0
    for preset in dict.fromkeys(p for s in scenarios for p in variants[id(s)]):
        group = [s for s in scenarios if preset in variants[id(s)]]

        def report(done: int, _total: int, spec: Any, offset: int = offset) -> None:
            if progress is not None and (spec is not None or offset == 0):
                progress(offset + done, total, spec)

        frames.append(sweep(group, {VARIANT_BY: [preset]}, seeds, jobs=jobs, progress=report))
        offset += len(group) * len(seeds)
    runs = pd.concat(frames, ignore_index=True).rename(columns={VARIANT_BY: "variant"})
    tables = []
    for (_, _), part in runs.groupby(["scenario", "variant"], sort=False):
        keys = [c for c in summary_columns(part, ["variant"]) if part[c].notna().any()]
        tables.append(interval_table(part, ["variant"], keys))
    intervals = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=_TABLE_COLUMNS)
    return runs, intervals


def verdict(better: str, base: float | None, base_hw: float, now: float | None, now_hw: float) -> str:
    """The verdict of one key (see the module docstring); ``None`` or NaN means "no value" on that side.

    >>> verdict("higher", 0.9, 0.01, 0.7, 0.01)
    'regression'
    >>> verdict("lower", 5.0, 0.0, 5.0 + 1e-12, 0.0)
    'unchanged'
    """
    has_base = base is not None and math.isfinite(base)
    has_now = now is not None and math.isfinite(now)
    if not has_base:
        return "new" if has_now else "unchanged"
    if not has_now:
        return "missing"
    assert base is not None and now is not None
    if better not in ("higher", "lower"):
        return "unchanged"
    noise = _noise(base, base_hw, now, now_hw)
    gain = (now - base) if better == "higher" else (base - now)
    if gain < -noise:
        return "regression"
    if gain > noise:
        return "improvement"
    return "unchanged"


def _hw(value: Any) -> float:
    value = float(value)
    return value if math.isfinite(value) else 0.0


def _noise(base: float, base_hw: float, now: float, now_hw: float) -> float:
    return math.hypot(_hw(base_hw), _hw(now_hw)) + TOLERANCE * max(1.0, abs(base), abs(now))


def compare_to_baseline(base: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame:
    """One row per (scenario, variant, key) of either table, regressions first.

    Both tables have columns scenario, variant, key, mean, half_width, n, better. The result has scenario,
    variant, key, better, base_mean, base_half_width, base_n, now_mean, now_half_width, now_n, change (now - base),
    noise and verdict; it is sorted by verdict (in :data:`VERDICTS` order), then scenario, variant and key.
    """
    ident = ["scenario", "variant", "key"]
    stats = ["mean", "half_width", "n", "better"]
    left = base[ident + stats].rename(columns={c: f"base_{c}" for c in stats})
    right = now[ident + stats].rename(columns={c: f"now_{c}" for c in stats})
    merged = left.merge(right, on=ident, how="outer")
    rows = []
    for _, r in merged.iterrows():
        better = r["now_better"] if isinstance(r["now_better"], str) else r["base_better"]
        base_mean = float(r["base_mean"]) if pd.notna(r["base_mean"]) else math.nan
        now_mean = float(r["now_mean"]) if pd.notna(r["now_mean"]) else math.nan
        base_hw, now_hw = _hw(r["base_half_width"]), _hw(r["now_half_width"])
        both = math.isfinite(base_mean) and math.isfinite(now_mean)
        rows.append(
            {"scenario": r["scenario"], "variant": r["variant"], "key": r["key"], "better": better,
             "base_mean": base_mean, "base_half_width": base_hw if math.isfinite(base_mean) else math.nan,
             "base_n": int(r["base_n"]) if pd.notna(r["base_n"]) else 0,
             "now_mean": now_mean, "now_half_width": now_hw if math.isfinite(now_mean) else math.nan,
             "now_n": int(r["now_n"]) if pd.notna(r["now_n"]) else 0,
             "change": now_mean - base_mean if both else math.nan,
             "noise": _noise(base_mean, base_hw, now_mean, now_hw) if both else math.nan,
             "verdict": verdict(better, base_mean, base_hw, now_mean, now_hw)}
        )  # fmt: skip
    columns = [*ident, "better", "base_mean", "base_half_width", "base_n", "now_mean", "now_half_width", "now_n"]
    frame = pd.DataFrame(rows, columns=[*columns, "change", "noise", "verdict"])
    order = frame["verdict"].map(VERDICTS.index)
    return (
        frame.assign(_order=order)
        .sort_values(["_order", *ident], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


# --- the report ----------------------------------------------------------------------------------------------


def _number(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.4g}"


def _cells(r: pd.Series) -> list[str]:
    """key, better, baseline, now, change, noise, verdict of one comparison row, as text."""
    from .compare import format_interval

    change = float(r["change"])
    return [
        str(r["key"]),
        str(r["better"]),
        format_interval(float(r["base_mean"]), float(r["base_half_width"])),
        format_interval(float(r["now_mean"]), float(r["now_half_width"])),
        "-" if not math.isfinite(change) else f"{change:+.4g}",
        "-" if not math.isfinite(float(r["noise"])) else f"±{float(r['noise']):.3g}",
        str(r["verdict"]),
    ]


_HEADER = ["key", "better", "baseline", "now", "change", "noise", "verdict"]


def _slug(*parts: str) -> str:
    import re

    return "--".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", p) for p in parts)


def counts(comparison: pd.DataFrame) -> dict[str, int]:
    """Number of keys per verdict, every verdict present (in :data:`VERDICTS` order)."""
    found = comparison["verdict"].value_counts()
    return {v: int(found.get(v, 0)) for v in VERDICTS}


def _plot_keys(part: pd.DataFrame, limit: int = 12) -> list[str]:
    moved = part.loc[part["verdict"].isin(["regression", "improvement"]), "key"].tolist()
    return list(dict.fromkeys([*moved, *(k for k in HEADLINE_KEYS if (part["key"] == k).any())]))[:limit]


def _plot(part: pd.DataFrame, base: pd.DataFrame, now: pd.DataFrame, keys: list[str], path: Path, title: str) -> Path:
    from .compare import plot_intervals

    scenario, variant = part["scenario"].iloc[0], part["variant"].iloc[0]
    frames = []
    for name, table in (("baseline", base), ("now", now)):
        rows = table[(table["scenario"] == scenario) & (table["variant"] == variant) & table["key"].isin(keys)]
        rows = rows[["scenario", "variant", "key", "mean", "half_width", "n", "better"]].copy()
        rows["ci_low"] = rows["mean"] - rows["half_width"]
        rows["ci_high"] = rows["mean"] + rows["half_width"]
        rows["series"] = name
        frames.append(rows)
    return plot_intervals(pd.concat(frames, ignore_index=True), ["variant"], path, keys, title=title)


def write_check_report(
    comparison: pd.DataFrame,
    base: Baseline,
    now: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    seeds: Sequence[int],
    suite: str = "",
    runs: pd.DataFrame | None = None,
) -> Path:
    """Write ``index.md``, a self-contained ``index.html``, ``plots/*.png``, ``comparison.csv`` and
    ``intervals.csv`` (and ``results.parquet`` when ``runs`` is given) into ``out``, atomically."""
    from .html import data_uri, escape, page, table

    out = Path(out)
    tally = counts(comparison)
    failed = tally["regression"] > 0
    outcome = "FAIL" if failed else "PASS"
    plural = {"regression": "regressions", "improvement": "improvements"}
    summary = ", ".join(f"{n} {plural.get(v, v) if n != 1 else v}" for v, n in tally.items())
    seed_text = f"seeds {_seed_range(seeds)}; baseline seeds {_seed_range(base.seeds)}"
    rule = (
        "A key regresses when its mean moves in its bad direction by more than "
        "sqrt(hw_base² + hw_now²) + 1e-9·max(1, |base|, |now|) (hw: 95% half-width over seeds)."
    )
    groups = list(comparison.groupby(["scenario", "variant"], sort=True))
    with replace_report(out, "check") as tmp:
        (tmp / "plots").mkdir()
        md = [f"# Regression check: {outcome}", ""]
        md += [f"Suite `{suite}`, {seed_text}. {summary}.", "", rule, ""]
        body = [f"<h1>Regression check: <span class='{outcome.lower()}'>{outcome}</span></h1>"]
        body.append(
            f"<p class='summary'>Suite <code>{escape(suite)}</code>, {escape(seed_text)}. {escape(summary)}.</p>"
        )
        body.append(f"<p>{escape(rule)}</p>")
        regressions = comparison[comparison["verdict"] == "regression"]
        md += ["## Regressions", ""]
        body.append("<h2>Regressions</h2>")
        if regressions.empty:
            md += ["None.", ""]
            body.append("<p>None.</p>")
        header = ["scenario", "variant", *_HEADER]
        rows = [[str(r["scenario"]), str(r["variant"]), *_cells(r)] for _, r in regressions.iterrows()]
        if rows:
            md += _md_table(header, rows, bold=True)
        body.append(table(header, rows, row_classes=["regression"] * len(rows), table_id="regressions"))
        for (scenario, variant), part in groups:
            title = f"{scenario} ({VARIANT_BY}={variant})"
            part_tally = ", ".join(f"{n} {v}" for v, n in counts(part).items() if n)
            md += [f"## {title}", "", part_tally + ".", ""]
            body.append(f"<h2>{escape(title)}</h2><p>{escape(part_tally)}.</p>")
            keys = _plot_keys(part)
            if keys:
                name = f"{_slug(str(scenario), str(variant))}.png"
                png = _plot(part, base.table, now, keys, tmp / "plots" / name, f"{title}: baseline vs now")
                md += [f"![{title}](plots/{name})", ""]
                body.append(f'<p><img alt="{escape(title)}" src="{data_uri(png)}"></p>')
            rows = [_cells(r) for _, r in part.iterrows()]
            md += _md_table(_HEADER, rows, bold=False)
            body.append(
                table(_HEADER, rows, row_classes=list(part["verdict"]), numeric=(2, 3, 4, 5),
                      table_id=f"t-{_slug(str(scenario), str(variant))}")
            )  # fmt: skip
        (tmp / "index.md").write_text("\n".join(md).rstrip() + "\n")
        (tmp / "index.html").write_text(page(f"rmasim check: {outcome}", "\n".join(body)))
        comparison.to_csv(tmp / "comparison.csv", index=False)
        now.to_csv(tmp / "intervals.csv", index=False)
        if runs is not None:
            runs.to_parquet(tmp / "results.parquet", index=False)
    return out


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, bold: bool) -> list[str]:
    def line(cells: Sequence[str], strong: bool) -> str:
        text = [c.replace("|", "\\|") for c in cells]
        if strong:
            text = [f"**{c}**" for c in text]
        return "| " + " | ".join(text) + " |"

    lines = [line(header, False), "|" + "---|" * len(header)]
    lines += [line(r, bold or r[-1] == "regression") for r in rows]
    return [*lines, ""]


def _seed_range(seeds: Sequence[int]) -> str:
    seeds = list(seeds)
    if seeds and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}..{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
    return ",".join(map(str, seeds)) or "none"
