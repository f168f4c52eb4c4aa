"""The CI regression check: a scenario suite over a few seeds, compared key by key with a committed baseline.

Model. Every run of the suite is labelled by its scenario and its *variant* (the coordinator preset it runs:
``coordinator.preset``; a scenario runs under its own preset and every preset its ``expect`` names). For each
(scenario, variant, key) the mean over the seeds and its 95% Student-t half-width are computed
(:func:`rmasim.report.stats.interval_table`); keys that are null in every run of a scenario (a purge time when
nothing was purged) are left out. The baseline file holds the same numbers from an earlier run.

Rule. A key *regresses* when it moved in its bad direction (``better``: ``higher`` or ``lower``, from the
key's declaration; a ``phase.<name>.<key>`` inherits its base key's) by more than the noise, and *improves* when it
moved as far in its good direction; anything else is *unchanged*. Two tests, the sharpest the data allows:

- **paired by seed** (both sides hold the per-seed values of at least one common seed, as every baseline this
  module writes does): the simulation is deterministic, so a seed run before and after the change differs only
  by what the change did. With ``d_i = now_i - base_i`` over the common seeds, the noise is the 95% Student-t
  half-width of their mean, ``t(0.975, n-1) * sd(d) / sqrt(n)`` (0 for one seed), and the key moved when
  ``|mean(d)|`` exceeds it: a two-sided paired t-test at 5%. A change that shifts every seed alike is caught
  however small; a key *identical* in every seed is reported as such (``identical``).
- **Welch's test** otherwise (a baseline without per-seed values, other seeds): the two means differ when the
  95% Welch interval of their difference, ``t(0.975, df) * sqrt(s_b^2/n_b + s_n^2/n_n)`` with
  Welch-Satterthwaite's ``df``, excludes 0 (a two-sided Welch t-test at 5%; ``s`` is recovered from the stored
  half-width); with no variance on either side any difference counts.

Both add a tiny absolute tolerance, ``1e-9 * max(1, |base|, |now|)``, so floating-point dust is not a move. Keys
whose ``better`` is ``none`` (counts of injected faults, requests) never regress nor improve. A key with no
baseline entry is *new*; a baseline entry with no current value is *missing*. Neither fails the check.

Baseline file (JSON, sorted, no timestamps, so a regenerated file diffs cleanly)::

    {"format": 2, "variant_by": "coordinator.preset", "seeds": [0, 1, 2],
     "entries": [{"scenario": "crash", "variant": "baseline", "key": "pollution.final",
                  "mean": 0.333, "half_width": 0.0, "n": 3, "better": "lower",
                  "values": [0.333, 0.333, 0.333]}, ...]}

``values`` lists the key's value at each of ``seeds`` (null where a run had none); format 1 files, without
it, are still read (and compared with Welch's test).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy.stats import t as student_t

from ..outputs import OutputError, replace_report, write_atomic
from ..scenario import Scenario, load_scenario
from .stats import interval_table, summary_columns, welch_half_width

__all__ = [
    "BASELINE_FORMAT",
    "HEADLINE_KEYS",
    "MD_LIMIT",
    "READABLE_FORMATS",
    "VARIANT_BY",
    "VERDICTS",
    "Baseline",
    "BaselineError",
    "Judgement",
    "baseline_json",
    "check_baseline_target",
    "check_markdown",
    "compare_to_baseline",
    "counts",
    "load_baseline",
    "matrix",
    "paired_verdict",
    "reproducer",
    "suite_intervals",
    "suite_scenarios",
    "verdict",
    "welch_verdict",
    "write_baseline",
    "write_check_report",
]

BASELINE_FORMAT = 2
#: Formats :func:`load_baseline` reads (1: no per-seed values).
READABLE_FORMATS = (1, 2)
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
    values: list[float | None] | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal[1, 2]
    variant_by: str
    seeds: list[int]
    entries: list[_Entry]


@dataclass(frozen=True)
class Baseline:
    """A baseline: the seeds it was computed over and its table (scenario, variant, key, mean, half_width, n,
    better, values: ``{seed: value}`` or None)."""

    seeds: tuple[int, ...]
    table: pd.DataFrame
    variant_by: str = VARIANT_BY


_TABLE_COLUMNS = ["scenario", "variant", "key", "mean", "half_width", "n", "better", "values"]


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
    records = []
    for number, entry in enumerate(parsed.entries):
        ident = (entry.scenario, entry.variant, entry.key)
        if ident in seen:
            raise BaselineError(f"{path}: entries: duplicate entry for {'/'.join(ident)}")
        seen.add(ident)
        record = entry.model_dump()
        if entry.values is not None:
            record["values"] = _seed_values(path, number, entry, parsed.seeds)
        records.append(record)
    table = pd.DataFrame(records, columns=_TABLE_COLUMNS)
    return Baseline(tuple(parsed.seeds), table, parsed.variant_by)


def _seed_values(path: Path, number: int, entry: _Entry, seeds: Sequence[int]) -> dict[int, float]:
    """An entry's ``values`` as ``{seed: value}``, checked against its ``seeds``, ``n`` and ``mean``."""
    where = f"{path}: entries.{number}.values"
    assert entry.values is not None
    if len(entry.values) != len(seeds):
        raise BaselineError(f"{where}: {len(entry.values)} values for {len(seeds)} seeds")
    values = {seed: value for seed, value in zip(seeds, entry.values, strict=True) if value is not None}
    if len(values) != entry.n:
        raise BaselineError(f"{where}: {len(values)} values, but n is {entry.n}")
    mean = math.fsum(values.values()) / len(values)
    if not math.isclose(mean, entry.mean, rel_tol=1e-9, abs_tol=1e-12):
        raise BaselineError(f"{where}: their mean {mean!r} is not the entry's mean {entry.mean!r} (edited by hand?)")
    return values


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
    seeds = list(seeds)
    entries = []
    for _, r in table.sort_values(["scenario", "variant", "key"], kind="stable").iterrows():
        if int(r["n"]) == 0 or not math.isfinite(float(r["mean"])):
            continue
        entry = {"scenario": str(r["scenario"]), "variant": str(r["variant"]), "key": str(r["key"]),
                 "mean": float(r["mean"]), "half_width": float(r["half_width"]), "n": int(r["n"]),
                 "better": str(r["better"])}  # fmt: skip
        values = r.get("values")
        if isinstance(values, dict):
            entry["values"] = [float(values[seed]) if seed in values else None for seed in seeds]
        entries.append(entry)
    head = {"format": BASELINE_FORMAT, "variant_by": VARIANT_BY, "seeds": seeds}
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
    return isinstance(data, dict) and data.get("format") in READABLE_FORMATS


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
        table = interval_table(part, ["variant"], keys)
        seeds_of = part["seed"].astype(int).tolist()
        table["values"] = [_values_by_seed(seeds_of, part[key]) for key in table["key"]]
        tables.append(table)
    intervals = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=_TABLE_COLUMNS)
    return runs, intervals


def _values_by_seed(seeds: Sequence[int], column: pd.Series) -> dict[int, float]:
    numbers = pd.to_numeric(column, errors="coerce").tolist()
    return {seed: float(v) for seed, v in zip(seeds, numbers, strict=True) if math.isfinite(v)}


@dataclass(frozen=True, slots=True)
class Judgement:
    """One key's comparison: its ``verdict``, the ``noise`` its move was held against, the ``rule`` used
    (``paired`` or ``welch``), whether every common seed gave the same value (``identical``, None unpaired) and
    the seed whose value moved furthest in the bad direction (``worst_seed``, None unpaired)."""

    verdict: str
    noise: float
    rule: str
    identical: bool | None = None
    worst_seed: int | None = None


def _tolerance(base: float, now: float) -> float:
    return TOLERANCE * max(1.0, abs(base), abs(now))


def _direction(better: str, gain: float, noise: float) -> str:
    if better not in ("higher", "lower"):
        return "unchanged"
    if gain < -noise:
        return "regression"
    if gain > noise:
        return "improvement"
    return "unchanged"


def welch_verdict(
    better: str, base: float, base_hw: float, base_n: int, now: float, now_hw: float, now_n: int
) -> Judgement:
    """Welch's two-sided t-test at 5% on two means given as ``mean ± 95% half-width`` over ``n`` runs."""

    def variance_of_mean(hw: float, n: int) -> float:
        if n < 2 or not math.isfinite(hw) or hw <= 0:
            return 0.0
        return (hw / float(student_t.ppf(0.975, n - 1))) ** 2  # (s / sqrt(n))^2

    vb, vn = variance_of_mean(base_hw, base_n), variance_of_mean(now_hw, now_n)
    noise = welch_half_width(vb, base_n, vn, now_n) + _tolerance(base, now)
    gain = (now - base) if better == "higher" else (base - now)
    return Judgement(_direction(better, gain, noise), noise, "welch")


def paired_verdict(better: str, base: Mapping[int, float], now: Mapping[int, float]) -> Judgement | None:
    """The paired-by-seed test over the seeds both sides hold (None when they share none)."""
    common = sorted(set(base) & set(now))
    if not common:
        return None
    diffs = np.array([now[s] - base[s] for s in common])
    scale = max(1.0, *(abs(base[s]) for s in common), *(abs(now[s]) for s in common))
    tol = TOLERANCE * scale
    identical = bool(np.all(np.abs(diffs) <= tol))
    n = len(diffs)
    spread = float(student_t.ppf(0.975, n - 1) * diffs.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    noise = spread + tol
    sign = 1.0 if better == "higher" else -1.0
    gain = sign * float(diffs.mean())
    worst = common[int(np.argmin(sign * diffs))]
    verdict = "unchanged" if identical else _direction(better, gain, noise)
    return Judgement(verdict, noise, "paired", identical, worst)


def verdict(
    better: str, base: float | None, base_hw: float, now: float | None, now_hw: float, base_n: int = 3, now_n: int = 3
) -> str:
    """The verdict of one key from its two means (Welch's test; see the module docstring); ``None`` or NaN means
    "no value" on that side.

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
    return welch_verdict(better, base, base_hw, base_n, now, now_hw, now_n).verdict


def _hw(value: Any) -> float:
    value = float(value)
    return value if math.isfinite(value) else 0.0


def compare_to_baseline(base: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame:
    """One row per (scenario, variant, key) of either table, regressions first.

    Both tables have columns scenario, variant, key, mean, half_width, n, better, and optionally values (``{seed:
    value}``). The result has scenario, variant, key, better, base_mean, base_half_width, base_n, now_mean,
    now_half_width, now_n, change (now - base), noise, rule, identical, worst_seed and verdict; it is sorted by
    verdict (in :data:`VERDICTS` order), then scenario, variant and key.
    """
    ident = ["scenario", "variant", "key"]
    stats = ["mean", "half_width", "n", "better", "values"]
    left = base.reindex(columns=ident + stats).rename(columns={c: f"base_{c}" for c in stats})
    right = now.reindex(columns=ident + stats).rename(columns={c: f"now_{c}" for c in stats})
    merged = left.merge(right, on=ident, how="outer")
    rows = []
    for r in merged.to_dict("records"):
        better = r["now_better"] if isinstance(r["now_better"], str) else r["base_better"]
        base_mean = float(r["base_mean"]) if pd.notna(r["base_mean"]) else math.nan
        now_mean = float(r["now_mean"]) if pd.notna(r["now_mean"]) else math.nan
        base_hw, now_hw = _hw(r["base_half_width"]), _hw(r["now_half_width"])
        base_n = int(r["base_n"]) if pd.notna(r["base_n"]) else 0
        now_n = int(r["now_n"]) if pd.notna(r["now_n"]) else 0
        both = math.isfinite(base_mean) and math.isfinite(now_mean)
        judged: Judgement | None = None
        if both:
            if isinstance(r["base_values"], dict) and isinstance(r["now_values"], dict):
                judged = paired_verdict(better, r["base_values"], r["now_values"])
            if judged is None:
                judged = welch_verdict(better, base_mean, base_hw, base_n, now_mean, now_hw, now_n)
        rows.append(
            {"scenario": r["scenario"], "variant": r["variant"], "key": r["key"], "better": better,
             "base_mean": base_mean, "base_half_width": base_hw if math.isfinite(base_mean) else math.nan,
             "base_n": base_n,
             "now_mean": now_mean, "now_half_width": now_hw if math.isfinite(now_mean) else math.nan,
             "now_n": now_n,
             "change": now_mean - base_mean if both else math.nan,
             "noise": judged.noise if judged else math.nan,
             "rule": judged.rule if judged else "",
             "identical": judged.identical if judged else None,
             "worst_seed": judged.worst_seed if judged else None,
             "verdict": judged.verdict if judged else verdict(better, base_mean, 0.0, now_mean, 0.0)}
        )  # fmt: skip
    columns = [*ident, "better", "base_mean", "base_half_width", "base_n", "now_mean", "now_half_width", "now_n"]
    frame = pd.DataFrame(rows, columns=[*columns, "change", "noise", "rule", "identical", "worst_seed", "verdict"])
    frame["worst_seed"] = frame["worst_seed"].astype("Int64")
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
        "-" if not math.isfinite(float(r["noise"])) else f"±{float(r['noise']):.3g} ({r['rule']})",
        str(r["verdict"]),
    ]


_HEADER = ["key", "better", "baseline", "now", "change", "noise", "verdict"]
#: GitHub refuses a comment longer than this many characters; the markdown report stays below it.
MD_LIMIT = 65_536


def _slug(*parts: str) -> str:
    import re

    return "--".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", p) for p in parts)


def counts(comparison: pd.DataFrame) -> dict[str, int]:
    """Number of keys per verdict, every verdict present (in :data:`VERDICTS` order)."""
    found = comparison["verdict"].value_counts()
    return {v: int(found.get(v, 0)) for v in VERDICTS}


def reproducer(r: pd.Series | Mapping[str, Any], sources: Mapping[str, str], seeds: Sequence[int]) -> str:
    """The ``rmasim run`` line that replays one comparison row's worst seed (the first seed when unpaired)."""
    scenario, variant = str(r["scenario"]), str(r["variant"])
    seed = r["worst_seed"] if pd.notna(r["worst_seed"]) else (seeds[0] if seeds else 0)
    source = sources.get(scenario, f"scenarios/{scenario}.yaml")
    return f"rmasim run {source} --seed {int(seed)} --set {VARIANT_BY}={variant}"


def matrix(comparison: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The scenario x variant grid: ``pass``, ``FAIL (k)`` with k regressions, ``+k`` improvements, ``·`` when the
    scenario does not run under that variant."""
    variants = sorted(comparison["variant"].unique(), key=lambda v: (v not in _PRESET_ORDER, _order_of(v), v))
    rows = []
    for scenario, part in comparison.groupby("scenario", sort=True):
        cells = [str(scenario)]
        for variant in variants:
            cell = part[part["variant"] == variant]
            if cell.empty:
                cells.append("·")
                continue
            tally = counts(cell)
            text = f"FAIL ({tally['regression']})" if tally["regression"] else "pass"
            if tally["improvement"]:
                text += f" +{tally['improvement']}"
            cells.append(text)
        rows.append(cells)
    return ["scenario", *variants], rows


_PRESET_ORDER = ("baseline", "seed-fixes", "reference")


def _order_of(variant: str) -> int:
    return _PRESET_ORDER.index(variant) if variant in _PRESET_ORDER else len(_PRESET_ORDER)


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


def check_markdown(
    comparison: pd.DataFrame,
    *,
    seeds: Sequence[int],
    base_seeds: Sequence[int],
    suite: str = "",
    sources: Mapping[str, str] | None = None,
    plots: Mapping[tuple[str, str], str] | None = None,
    limit: int = MD_LIMIT,
) -> str:
    """The report a reviewer reads in a pull request, under ``limit`` characters: the outcome, the regressions
    (each with the command that reproduces it), the scenario x preset grid, then only the keys that moved; every
    unchanged, new or missing key collapsed into counts (all of them are in ``comparison.csv``)."""
    sources = sources or {}
    plots = plots or {}
    tally = counts(comparison)
    outcome = "FAIL" if tally["regression"] else "PASS"
    identical = int((comparison["identical"] == True).sum())  # noqa: E712  (a column of True/False/None)
    paired = int((comparison["rule"] == "paired").sum())
    head = [
        f"# Regression check: {outcome}",
        "",
        f"Suite `{suite}`, {_seeds_text(seeds, base_seeds)}. {_summary(tally)}.",
    ]
    if paired:
        head[-1] += f" {identical} of the {paired} keys compared seed by seed are identical in every seed."
    head += ["", _RULE, ""]
    regressions = comparison[comparison["verdict"] == "regression"]
    sections = [["## Regressions", ""]]
    if regressions.empty:
        sections[0] += ["None.", ""]
    else:
        rows = [[str(r["scenario"]), str(r["variant"]), *_cells(r), f"`{reproducer(r, sources, seeds)}`"]
                for _, r in regressions.iterrows()]  # fmt: skip
        sections[0] += _md_table(["scenario", "variant", *_HEADER, "reproduce"], rows, bold=True)
    header, grid = matrix(comparison)
    sections.append(["## Scenario x preset", "", *_md_table(header, grid, bold=False)])
    moved = comparison[comparison["verdict"].isin(["regression", "improvement"])]
    for (scenario, variant), part in moved.groupby(["scenario", "variant"], sort=True):
        title = f"{scenario} ({VARIANT_BY}={variant})"
        section = [f"## Moved: {title}", ""]
        if (scenario, variant) in plots:
            section += [f"![{title}]({plots[scenario, variant]})", ""]
        section += _md_table(_HEADER, [_cells(r) for _, r in part.iterrows()], bold=False)
        sections.append(section)
    rest = comparison[~comparison["verdict"].isin(["regression", "improvement"])]
    if not rest.empty:
        lines = ["<details><summary>Keys that did not move: "
                 + ", ".join(f"{n} {v}" for v, n in counts(rest).items() if n) + "</summary>", ""]  # fmt: skip
        per = rest.groupby(["scenario", "variant", "verdict"]).size().unstack(fill_value=0)
        rows = [[str(s), str(v), *(str(int(per.loc[(s, v)].get(c, 0))) for c in ("unchanged", "new", "missing"))]
                for s, v in per.index]  # fmt: skip
        lines += _md_table(["scenario", "variant", "unchanged", "new", "missing"], rows, bold=False)
        lines += ["Every key, with both values: `comparison.csv`.", "", "</details>", ""]
        sections.append(lines)
    text = "\n".join(head)
    for number, section in enumerate(sections):
        block = "\n" + "\n".join(section) + "\n"
        if len(text) + len(block) + len(_left_out(f"{len(sections)} more sections", limit)) <= limit:
            text += block
            continue
        what = f"{len(sections) - number} more sections"
        if number == 0:  # the regressions alone are too many: as many rows as fit
            what = f"the other regressions and {len(sections) - 1} more sections"
            for line in section:
                if len(text) + len(line) + 1 + len(_left_out(what, limit)) > limit:
                    break
                text += "\n" + line
        text += _left_out(what, limit)
        break
    return text.rstrip() + "\n"


def _left_out(what: str, limit: int) -> str:
    return (
        f"\n\n_{what} left out to stay under GitHub's {limit:,}-character comment limit: see "
        "index.html and comparison.csv._\n"
    )


_RULE = (
    "A key regresses when it moves in its bad direction beyond the noise: paired by seed, the 95% Student-t "
    "half-width of the per-seed differences (a paired t-test at 5%); without per-seed values, Welch's test at 5%; "
    "plus 1e-9·max(1, |base|, |now|)."
)


def _summary(tally: Mapping[str, int]) -> str:
    plural = {"regression": "regressions", "improvement": "improvements"}
    return ", ".join(f"{n} {plural.get(v, v) if n != 1 else v}" for v, n in tally.items())


def _seeds_text(seeds: Sequence[int], base_seeds: Sequence[int]) -> str:
    return f"seeds {_seed_range(seeds)}; baseline seeds {_seed_range(base_seeds)}"


def write_check_report(
    comparison: pd.DataFrame,
    base: Baseline,
    now: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    seeds: Sequence[int],
    suite: str = "",
    runs: pd.DataFrame | None = None,
    sources: Mapping[str, str] | None = None,
) -> Path:
    """Write ``index.md`` (:func:`check_markdown`), a self-contained ``index.html`` (regressions, the grid, then
    every scenario's table with its unchanged keys collapsed), ``plots/*.png``, ``comparison.csv`` and
    ``intervals.csv`` (and ``results.parquet`` when ``runs`` is given) into ``out``, atomically. ``sources`` maps
    a scenario's name to its file, for the reproducing commands."""
    from .html import data_uri, escape, page, table

    out = Path(out)
    sources = dict(sources or {})
    tally = counts(comparison)
    outcome = "FAIL" if tally["regression"] else "PASS"
    seed_text = _seeds_text(seeds, base.seeds)
    groups = list(comparison.groupby(["scenario", "variant"], sort=True))
    with replace_report(out, "check") as tmp:
        (tmp / "plots").mkdir()
        body = [f"<h1>Regression check: <span class='{outcome.lower()}'>{outcome}</span></h1>"]
        summary = f"Suite <code>{escape(suite)}</code>, {escape(seed_text)}. {escape(_summary(tally))}."
        body.append(f"<p class='summary'>{summary}</p>")
        body.append(f"<p>{escape(_RULE)}</p>")
        regressions = comparison[comparison["verdict"] == "regression"]
        body.append("<h2>Regressions</h2>")
        if regressions.empty:
            body.append("<p>None.</p>")
        header = ["scenario", "variant", *_HEADER, "reproduce"]
        rows = [[str(r["scenario"]), str(r["variant"]), *_cells(r), reproducer(r, sources, seeds)]
                for _, r in regressions.iterrows()]  # fmt: skip
        body.append(table(header, rows, row_classes=["regression"] * len(rows), table_id="regressions"))
        grid_header, grid = matrix(comparison)
        body.append("<h2>Scenario x preset</h2>")
        body.append(table(grid_header, grid, table_id="matrix"))
        plots: dict[tuple[str, str], str] = {}
        for (scenario, variant), part in groups:
            title = f"{scenario} ({VARIANT_BY}={variant})"
            part_tally = ", ".join(f"{n} {v}" for v, n in counts(part).items() if n)
            body.append(f"<h2>{escape(title)}</h2><p>{escape(part_tally)}.</p>")
            keys = _plot_keys(part)
            if keys:
                name = f"{_slug(str(scenario), str(variant))}.png"
                png = _plot(part, base.table, now, keys, tmp / "plots" / name, f"{title}: baseline vs now")
                plots[str(scenario), str(variant)] = f"plots/{name}"
                body.append(f'<p><img alt="{escape(title)}" src="{data_uri(png)}"></p>')
            moved = part["verdict"].isin(["regression", "improvement"])
            slug = _slug(str(scenario), str(variant))
            if moved.any():
                rows = [_cells(r) for _, r in part[moved].iterrows()]
                body.append(table(_HEADER, rows, row_classes=list(part.loc[moved, "verdict"]), numeric=(2, 3, 4, 5),
                                  table_id=f"t-{slug}"))  # fmt: skip
            still = part[~moved]
            if not still.empty:
                rows = [_cells(r) for _, r in still.iterrows()]
                body.append(f"<details><summary>{len(still)} keys that did not move</summary>")
                body.append(table(_HEADER, rows, row_classes=list(still["verdict"]), numeric=(2, 3, 4, 5),
                                  table_id=f"u-{slug}"))  # fmt: skip
                body.append("</details>")
        markdown = check_markdown(comparison, seeds=seeds, base_seeds=base.seeds, suite=suite, sources=sources,
                                  plots=plots)  # fmt: skip
        (tmp / "index.md").write_text(markdown)
        (tmp / "index.html").write_text(page(f"rmasim check: {outcome}", "\n".join(body)))
        comparison.to_csv(tmp / "comparison.csv", index=False)
        now.drop(columns=["values"], errors="ignore").to_csv(tmp / "intervals.csv", index=False)
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
