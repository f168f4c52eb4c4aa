"""The measured results tables of ``docs/results.md``, generated: declared here, measured into CSV files, rendered.

Each :class:`ResultTable` names scenarios, presets, keys and a seed count. ``python -m rmasim.report.results
--measure`` runs them (one sweep per table, the sweep executor) and stores each table's intervals as
``docs/results/<name>.csv``; ``python -m rmasim.report.results`` renders every table from its CSV between the
``<!-- results:<name>:start -->`` / ``end`` markers of ``docs/results.md``. A test fails when a rendered block is
stale (the CSV or the table's declaration changed without the document), as for ``docs/reference.md``; the prose
around the blocks reads the tables, it does not repeat their numbers.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .compare import interval_text

__all__ = ["TABLES", "ResultTable", "measure", "render", "update_document"]

PRESETS = ("baseline", "seed-fixes", "reference")


@dataclass(frozen=True)
class ResultTable:
    """One table: ``scenarios`` x ``presets`` rows, ``keys`` columns, and optionally a per-scenario ``figure``
    column (scenario -> key, its ``figure_label`` in the header)."""

    name: str
    scenarios: tuple[str, ...]
    keys: tuple[str, ...]
    figure: dict[str, str] = field(default_factory=dict)
    figure_label: str = "scenario figure"
    seeds: int = 20
    presets: tuple[str, ...] = PRESETS

    def all_keys(self) -> list[str]:
        return list(dict.fromkeys([*self.keys, *self.figure.values()]))

    def command(self) -> str:
        """The sweeps this table is measured with, as a person would type them."""
        return (
            f"for s in {' '.join(self.scenarios)}; do rmasim compare scenarios/$s.yaml "
            f"--grid coordinator.preset={','.join(self.presets)} --seeds {self.seeds} "
            f"--keys {','.join(self.all_keys())}; done"
        )


TABLES: tuple[ResultTable, ...] = (
    ResultTable(
        "registry",
        ("crash", "graceful", "leader_race", "restart_storm", "registration_burst"),
        ("pollution.final", "registry.loss.max", "registry.duplicates.max", "leader.conflict_time", "purge.time_max"),
    ),
    ResultTable(
        "resilience",
        ("service_crash", "slow_service", "flapping", "canary", "custom_service"),
        ("routing.success_rate", "latency.p99", "routing.to_broken", "routing.retries_per_request"),
        figure={
            "service_crash": "routing.last_to_broken",
            "slow_service": "phase.slow.latency.p99",
            "flapping": "phase.flapping.service.rag.success_rate",
            "canary": "phase.canary.version.upload.1.1.share",
            "custom_service": "service.transcribe.success_rate",
        },
    ),
)


def _csv(root: Path, table: ResultTable) -> Path:
    return root / "docs" / "results" / f"{table.name}.csv"


def measure(table: ResultTable, root: Path, jobs: int | None = None) -> Path:
    """Run ``table`` (every scenario under every preset, ``seeds`` seeds) and write its intervals CSV."""
    from ..outputs import write_atomic
    from ..scenario import load_scenario
    from ..sweep import sweep
    from .stats import interval_table

    scenarios = [load_scenario(root / "scenarios" / f"{s}.yaml") for s in table.scenarios]
    frame = sweep(scenarios, {"coordinator.preset": list(table.presets)}, range(table.seeds), jobs=jobs)
    keys = [k for k in table.all_keys() if k in frame]
    intervals = interval_table(frame, ["coordinator.preset"], keys).rename(columns={"coordinator.preset": "preset"})
    columns = ["scenario", "preset", "key", "mean", "half_width", "ci_low", "ci_high", "n", "interval"]
    path = _csv(root, table)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: intervals[columns].to_csv(tmp, index=False, float_format="%.10g"))
    return path


def _cell(row: pd.Series | None) -> str:
    if row is None or int(row["n"]) == 0 or not math.isfinite(float(row["mean"])):
        return "-"
    if float(row["mean"]) == 0 and float(row["half_width"]) == 0:
        return "0"
    return interval_text(row)


def render(table: ResultTable, intervals: pd.DataFrame) -> str:
    """The markdown table of ``table`` from its intervals (columns scenario, preset, key, mean, half_width, ...)."""
    index = {(r["scenario"], r["preset"], r["key"]): r for _, r in intervals.iterrows()}
    header = ["scenario", "preset", *(f"`{k}`" for k in table.keys)]
    if table.figure:
        header.append(table.figure_label)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for scenario in table.scenarios:
        for preset in table.presets:
            cells = [scenario, preset, *(_cell(index.get((scenario, preset, k))) for k in table.keys)]
            if table.figure:
                key = table.figure.get(scenario)
                cells.append(f"`{key}` {_cell(index.get((scenario, preset, key)))}" if key else "-")
            lines.append("| " + " | ".join(cells) + " |")
    seeds = int(intervals["n"].max()) if len(intervals) else 0
    note = (
        f"{table.seeds} seeds, mean ± 95% interval (`-`: no run had a value; `[0, h]`: a non-negative quantity's "
        f"interval clipped at 0; `k/n`: runs that said yes). Measured with `{table.command()}` "
        f"(`python -m rmasim.report.results --measure`); at most {seeds} runs per cell."
    )
    return "\n".join([*lines, "", note])


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- results:{name}:start -->", f"<!-- results:{name}:end -->"


def rendered_blocks(root: Path, tables: Sequence[ResultTable] = TABLES) -> dict[str, str]:
    """Each table's block as rendered from its CSV."""
    return {t.name: render(t, pd.read_csv(_csv(root, t))) for t in tables}


def update_document(root: Path, tables: Sequence[ResultTable] = TABLES) -> bool:
    """Rewrite the marked blocks of ``docs/results.md``; True when it changed."""
    path = root / "docs" / "results.md"
    text = path.read_text()
    new = text
    for name, block in rendered_blocks(root, tables).items():
        start, end = _markers(name)
        head, found, rest = new.partition(start)
        if not found:
            raise ValueError(f"{path}: no {start} marker")
        _, _, tail = rest.partition(end)
        new = f"{head}{start}\n{block}\n{end}{tail}"
    if new != text:
        path.write_text(new)
    return new != text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the tables of docs/results.md.")
    parser.add_argument("--measure", action="store_true", help="run the tables' sweeps first (minutes)")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--table", action="append", help="only this table (repeatable)")
    parser.add_argument("root", nargs="?", default=".")
    args = parser.parse_args(argv)
    root = Path(args.root)
    tables = [t for t in TABLES if not args.table or t.name in args.table]
    if args.measure:
        for table in tables:
            print(f"measured {measure(table, root, args.jobs)}", flush=True)
    if update_document(root):
        print(f"updated {root / 'docs' / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
