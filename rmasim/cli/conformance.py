"""``rmasim conformance``: the Python presets against the Workers written to the same code (issue 12, Build 6).

For each pair (``baseline`` and ``workers/baseline``, ``seed-fixes`` and ``workers/seed-fixes``) and each
scenario: the two summaries at the scenario's seed, key by key; where they differ, every key's 95% intervals over
``--seeds`` seeds and whether they overlap (:mod:`rmasim.report.conformance`). Prints one row per pair and
scenario; with ``--out DIR`` also writes ``DIR/conformance.csv`` (one row per key) and ``DIR/conformance.md``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..outputs import check_target, replace_report
from .common import bad_input, bad_output, console, err_console, parse_sets
from .sweep import MAX_SEEDS

__all__ = ["conformance"]


def conformance(
    scenario_files: Annotated[
        list[Path] | None,
        typer.Argument(help="Scenario files (default: scenarios/<name>.yaml for the six of Build 6)."),
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", min=2, max=MAX_SEEDS, help="Seeds 0..N-1 for the intervals.")] = 20,
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="Worker processes (1: in this process).")] = None,
    workers: Annotated[
        Path, typer.Option("--workers", help="Directory of the Workers: <DIR>/<preset>/wrangler.toml.")
    ] = Path("workers"),
    pair: Annotated[
        list[str] | None, typer.Option("--pair", help="Only these pairs (baseline, seed-fixes; repeatable).")
    ] = None,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="Override a field of every scenario: KEY=VALUE (repeatable).")
    ] = None,
    always_intervals: Annotated[
        bool, typer.Option("--always-intervals", help="Intervals also for pairs identical at the seed.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write conformance.csv and conformance.md into this report directory.")
    ] = None,
) -> None:
    """Run each Python preset and its Worker on the scenarios: identical at the same seed? else, do every summary
    key's intervals over N seeds overlap?"""
    from rich.console import Console
    from rich.table import Table

    from ..report.conformance import (
        PAIR_NAMES,
        SCENARIO_NAMES,
        TABLE_HEADER,
        default_pairs,
        findings_frame,
        markdown_table,
        table_rows,
    )
    from ..report.conformance import (
        conformance as run_conformance,
    )
    from ..scenario import Problem, ScenarioError, load_scenario

    with bad_input():
        files = list(scenario_files or [Path("scenarios") / f"{name}.yaml" for name in SCENARIO_NAMES])
        overrides = parse_sets(sets)
        scenarios = [load_scenario(f) for f in files]
        if overrides:
            scenarios = [s.with_overrides(overrides) for s in scenarios]
        unknown = [p for p in pair or [] if p not in PAIR_NAMES]
        if unknown:
            known = ", ".join(PAIR_NAMES)
            raise ScenarioError([Problem("--pair", None, None, p, f"unknown pair; known: {known}") for p in unknown])
        pairs = [p for p in default_pairs(workers) if not pair or p.name in pair]
        missing = [p for p in pairs if not p.worker.is_file()]
        if missing:
            raise ScenarioError(
                [Problem("--workers", None, None, p.name, f"no such file: {p.worker}") for p in missing]
            )
    if out is not None:
        with bad_output("--out"):
            check_target(out)  # refused now, not after the runs

    def report(message: str) -> None:
        err_console.print(f"conformance: {message}", markup=False)

    with bad_input():
        findings = run_conformance(scenarios, pairs, seeds, jobs=jobs, always_intervals=always_intervals,
                                   progress=report)  # fmt: skip

    shown = Table(title=f"conformance: Python preset vs Worker (intervals over {seeds} seeds)", title_justify="left")
    for name in TABLE_HEADER:
        shown.add_column(name, overflow="fold")
    for row in table_rows(findings):
        shown.add_row(*row)
    (console if console.is_terminal else Console(width=200)).print(shown, markup=False)

    if out is not None:
        command = "rmasim conformance " + " ".join(shlex.quote(a) for a in sys.argv[2:])
        text = f"Command: `{command}`\n\n{markdown_table(findings)}\n"
        frame = findings_frame(findings)
        with bad_output("--out"), replace_report(out, "conformance") as tmp:
            frame.to_csv(tmp / "conformance.csv", index=False)
            (tmp / "conformance.md").write_text(text)
        console.print(
            f"per key -> {out / 'conformance.csv'}; table -> {out / 'conformance.md'}", markup=False, soft_wrap=True
        )
