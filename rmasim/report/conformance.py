"""Differential conformance: a Python preset against the JavaScript Worker written to the same code.

A *pair* is a Python coordinator preset and a Worker (``wrangler.toml``) meant to behave the same:
``baseline`` with ``workers/baseline``, ``seed-fixes`` with ``workers/seed-fixes``. Both sides of a pair run with
the pair's preset (the agents and everything else the preset sets are the same); the Worker side only adds
``coordinator.worker``. Each scenario is run in two steps:

1. **Same seed** (the scenario's own ``seed``, as ``rmasim run`` uses): when both sides issue the same operations
   in the same order (same reads, writes, draws), the simulation is the same and so is every summary key; the
   keys whose values differ are listed.
2. **Intervals**, only for a pair and scenario that differ at the same seed (or always, on request): each side
   over seeds ``0..N-1``, and for every summary key both sides' means and 95% Student-t intervals
   (:func:`rmasim.report.stats.interval_table`, as ``rmasim compare``), and whether they overlap. Two
   implementations that differ in their operations but not in their behaviour give overlapping intervals; a key
   whose intervals do not overlap is a behavioural difference to explain.

Runs go through :func:`rmasim.sweep.sweep`, so a process pool (``jobs``) or any executor runs them.

Example::

    >>> findings = conformance([load_scenario("scenarios/crash.yaml")], default_pairs("workers"))  # doctest: +SKIP
    >>> [(f.pair, f.scenario, f.identical) for f in findings]  # doctest: +SKIP
    [('baseline', 'crash', True), ('seed-fixes', 'crash', False)]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..scenario import Scenario
from ..sweep import sweep
from ..sweep.execute import default_executor
from .stats import interval_table, summary_columns

__all__ = [
    "PAIR_NAMES",
    "SCENARIO_NAMES",
    "Finding",
    "KeyComparison",
    "Pair",
    "conformance",
    "default_pairs",
    "findings_frame",
    "markdown_table",
]

#: The pairs of Build 6: each is a preset name and the Worker directory of the same name.
PAIR_NAMES = ("baseline", "seed-fixes")
#: The scenarios of Build 6 (files ``scenarios/<name>.yaml``).
SCENARIO_NAMES = ("crash", "graceful", "routing_resilience", "leader_race", "registration_burst", "restart_storm")

#: ``progress(message)``: called before each batch of runs.
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Pair:
    """A Python preset and the Worker that should behave as it does."""

    name: str
    preset: str
    worker: Path
    """The Worker's ``wrangler.toml`` (or module)."""

    def python(self, scenario: Scenario) -> Scenario:
        """``scenario`` with the Python coordinator of the pair's preset."""
        return scenario.with_overrides({"coordinator.preset": self.preset, "coordinator.worker": None})

    def javascript(self, scenario: Scenario) -> Scenario:
        """``scenario`` with the pair's Worker as the coordinator (agents and knobs: the pair's preset)."""
        return scenario.with_overrides({"coordinator.preset": self.preset, "coordinator.worker": str(self.worker)})


def default_pairs(workers: str | Path = "workers") -> list[Pair]:
    """The pairs of :data:`PAIR_NAMES`, their Workers at ``workers/<name>/wrangler.toml``."""
    root = Path(workers)
    return [Pair(name, name, (root / name / "wrangler.toml").resolve()) for name in PAIR_NAMES]


@dataclass(frozen=True)
class KeyComparison:
    """One summary key over seeds: each side's mean, 95% interval and number of runs with a value."""

    key: str
    python: tuple[float, float, float, int]
    """``(mean, ci_low, ci_high, n)``."""
    javascript: tuple[float, float, float, int]

    @property
    def overlap(self) -> bool:
        """The two intervals share a point (or neither side has a value in any run)."""
        (_, lo_a, hi_a, n_a), (_, lo_b, hi_b, n_b) = self.python, self.javascript
        if n_a == 0 or n_b == 0:
            return n_a == n_b
        return lo_a <= hi_b and lo_b <= hi_a


@dataclass(frozen=True)
class Finding:
    """One pair on one scenario: the same-seed comparison and, when it was run, the interval comparison."""

    pair: str
    scenario: str
    seed: int
    python: Mapping[str, Any] = field(repr=False)
    """The Python side's summary at ``seed``."""
    javascript: Mapping[str, Any] = field(repr=False)
    intervals: tuple[KeyComparison, ...] | None = None
    seeds: int = 0
    """Seeds behind ``intervals`` (0: not run)."""

    @property
    def differing(self) -> tuple[str, ...]:
        """The summary keys whose values differ at ``seed`` (a key only one side has counts as differing)."""
        keys = sorted(set(self.python) | set(self.javascript))
        return tuple(k for k in keys if not _same(self.python.get(k, _MISSING), self.javascript.get(k, _MISSING)))

    @property
    def identical(self) -> bool:
        return not self.differing

    @property
    def apart(self) -> tuple[str, ...]:
        """The keys whose intervals do not overlap (empty when the intervals were not run)."""
        return tuple(c.key for c in self.intervals or () if not c.overlap)

    @property
    def overlap(self) -> bool | None:
        """Every key's intervals overlap; None when the intervals were not run."""
        return None if self.intervals is None else not self.apart


_MISSING = object()


def _same(a: Any, b: Any) -> bool:
    """Equal values; numbers compared as numbers (a sweep frame may hold an int column as floats), and a null
    (None, NaN: a key without a value in that run) equal only to a null."""
    if _null(a) or _null(b):
        return _null(a) and _null(b)
    if isinstance(a, numbers.Real) and isinstance(b, numbers.Real):
        return float(a) == float(b)
    return a == b


def _null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def conformance(
    scenarios: Sequence[Scenario],
    pairs: Sequence[Pair],
    seeds: int = 20,
    *,
    jobs: int | None = None,
    executor: Executor | None = None,
    always_intervals: bool = False,
    progress: Progress | None = None,
) -> list[Finding]:
    """Every pair on every scenario, in that order (see the module docstring). ``jobs``: worker processes for
    the runs (1: this process; default one per core), unless an ``executor`` is given (not shut down here)."""
    pool = executor if executor is not None or jobs == 1 else default_executor(jobs)
    try:
        return _conformance(scenarios, pairs, seeds, pool, always_intervals, progress)
    finally:
        if executor is None and pool is not None:
            pool.shutdown(cancel_futures=True)


def _run(variants: list[Scenario], seeds: Iterable[int], pool: Executor | None) -> list[list[dict[str, Any]]]:
    """Each variant's rows over ``seeds`` (one sweep; a scenario that two pairs share, such as the Python side of
    two pairs of one preset, is run once)."""
    seeds = list(seeds)
    unique: dict[str, int] = {}
    distinct: list[Scenario] = []
    slots = []
    for variant in variants:
        key = variant.model_dump_json()
        if key not in unique:
            unique[key] = len(distinct)
            distinct.append(variant)
        slots.append(unique[key])
    rows = sweep(distinct, None, seeds, pool, jobs=1 if pool is None else None).to_dict("records")
    per_variant = [rows[i * len(seeds) : (i + 1) * len(seeds)] for i in range(len(distinct))]
    return [per_variant[slot] for slot in slots]


def _summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """A sweep row less its fixed columns, nulls dropped (a sweep frame fills a key a run lacks with NaN)."""
    fixed = {"run", "run_id", "scenario", "seed"}
    return {k: v for k, v in row.items() if k not in fixed}


def _conformance(
    scenarios: Sequence[Scenario],
    pairs: Sequence[Pair],
    seeds: int,
    pool: Executor | None,
    always_intervals: bool,
    progress: Progress | None,
) -> list[Finding]:
    cases = [(pair, scenario) for scenario in scenarios for pair in pairs]
    same_seed: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
    by_seed: dict[int, list[int]] = {}
    for i, (_, scenario) in enumerate(cases):
        by_seed.setdefault(scenario.seed, []).append(i)
    for seed, members in by_seed.items():  # one sweep per distinct seed: all its cases in one batch
        if progress:
            names = ", ".join(dict.fromkeys(cases[i][1].name for i in members))
            progress(f"same seed {seed}: {names} ({2 * len(members)} runs)")
        variants = [side(cases[i][1]) for i in members for side in (cases[i][0].python, cases[i][0].javascript)]
        rows = _run(variants, [seed], pool)
        for j, i in enumerate(members):
            same_seed[i] = (_summary(rows[2 * j][0]), _summary(rows[2 * j + 1][0]))
    findings = [
        Finding(pair.name, scenario.name, scenario.seed, *same_seed[i]) for i, (pair, scenario) in enumerate(cases)
    ]
    wanted = [i for i, f in enumerate(findings) if always_intervals or not f.identical]
    if wanted and seeds > 0:
        if progress:
            labels = ", ".join(f"{cases[i][0].name}/{cases[i][1].name}" for i in wanted)
            progress(f"intervals over {seeds} seeds: {labels} ({2 * len(wanted) * seeds} runs)")
        variants = [side(cases[i][1]) for i in wanted for side in (cases[i][0].python, cases[i][0].javascript)]
        rows = _run(variants, range(seeds), pool)
        for j, i in enumerate(wanted):
            compared = _intervals(rows[2 * j], rows[2 * j + 1])
            findings[i] = Finding(**{**findings[i].__dict__, "intervals": compared, "seeds": seeds})
    return findings


def _intervals(python: list[dict[str, Any]], javascript: list[dict[str, Any]]) -> tuple[KeyComparison, ...]:
    frame = pd.DataFrame(
        [{**row, "side": "python"} for row in python] + [{**row, "side": "javascript"} for row in javascript]
    )
    table = interval_table(frame, ["side"], summary_columns(frame, ["side"]))
    cells = {(r.side, r.key): (float(r.mean), float(r.ci_low), float(r.ci_high), int(r.n)) for r in table.itertuples()}
    keys = list(dict.fromkeys(table["key"]))
    return tuple(KeyComparison(k, cells[("python", k)], cells[("javascript", k)]) for k in keys)


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"


def table_rows(findings: Sequence[Finding], max_keys: int = 6) -> list[list[str]]:
    """The printed table: pair, scenario, seed, identical at that seed, keys differing, intervals overlap (with
    the keys that do not, and the seeds)."""
    rows = []
    for f in findings:
        differing = _listed(f.differing, max_keys) if f.differing else "-"
        if f.intervals is None:
            overlap = "-"
        elif f.overlap:
            overlap = f"yes ({f.seeds} seeds)"
        else:
            overlap = f"no ({f.seeds} seeds): {_listed(f.apart, max_keys)}"
        rows.append([f.pair, f.scenario, str(f.seed), _yes_no(f.identical), differing, overlap])
    return rows


TABLE_HEADER = ["pair", "scenario", "seed", "identical at seed", "keys differing", "intervals overlap"]


def _listed(keys: Sequence[str], max_keys: int) -> str:
    if max_keys <= 0 or len(keys) <= max_keys:
        return f"{len(keys)}: " + ", ".join(keys)
    return f"{len(keys)}: " + ", ".join(keys[:max_keys]) + f", ... (+{len(keys) - max_keys})"


def markdown_table(findings: Sequence[Finding], max_keys: int = 0) -> str:
    """:func:`table_rows` as a Markdown table (every key listed by default)."""
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|" + "---|" * len(TABLE_HEADER)]
    for row in table_rows(findings, max_keys):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)


def findings_frame(findings: Sequence[Finding]) -> pd.DataFrame:
    """One row per (pair, scenario, key): both sides' values at the seed and whether they are equal, then, where
    the intervals were run, each side's mean, interval and n, and whether the intervals overlap."""
    rows = []
    for f in findings:
        compared = {c.key: c for c in f.intervals or ()}
        for key in sorted(set(f.python) | set(f.javascript)):
            py, js = f.python.get(key), f.javascript.get(key)
            row: dict[str, Any] = {"pair": f.pair, "scenario": f.scenario, "seed": f.seed, "key": key,
                                   "python": py, "javascript": js, "identical": key not in f.differing}  # fmt: skip
            c = compared.get(key)
            if c is not None:
                for side, (mean, low, high, n) in (("python", c.python), ("javascript", c.javascript)):
                    row.update({f"{side}_mean": mean, f"{side}_ci_low": low, f"{side}_ci_high": high, f"{side}_n": n})
                row.update({"seeds": f.seeds, "overlap": c.overlap})
            rows.append(row)
    return pd.DataFrame(rows)
