"""``rmasim explore SCENARIO --runs N --out DIR``: a swarm fault search, its distinct failures, replayable YAMLs.

Each run draws a fault schedule from the scenario's ``explore`` space (or the built-in one) with its own seed,
derived from the campaign's ``--seed`` and its index; the rows are stored under ``DIR/sweep`` (``--resume``
runs only what is missing); ``DIR`` gets ``results.parquet``/``results.csv``, ``failures.csv`` (distinct
failures with counts), ``coverage.csv`` (the sometimes properties: how many runs reached each) and
``failing/run-NNNNNN.yaml`` for each failing run (``rmasim run`` replays it). ``--scheduler ADDR`` runs them on
a dask.distributed cluster instead of local processes (as ``rmasim sweep --scheduler``). Then
(unless ``--no-shrink``) one run per distinct failure is shrunk into ``shrunk/<signature>.yaml`` and
``shrunk.csv``, and each shrunk file is replayed in a fresh process (the self-check).
Exit status: 0 when no run violated a property, 1 when one did (or a self-check mismatched), 2 on bad input.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from ..outputs import check_target
from .common import MAX_SEED, bad_input, bad_output, cluster_executor, console, err_console, parse_sets, run_failure

__all__ = ["explore"]


def explore(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario YAML file (its `explore:` section, if any).")],
    out: Annotated[Path, typer.Option("--out", help="Report directory (created, or added to if it is one).")],
    runs: Annotated[int | None, typer.Option("--runs", help="Runs 0..N-1 (default 100 without --time).")] = None,
    time_: Annotated[str | None, typer.Option("--time", help="Run batches until this much wall time: 10m.")] = None,
    preset: Annotated[str | None, typer.Option("--preset", help="coordinator.preset for every run.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a field: KEY=VALUE (repeatable).")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="Worker processes (1: in this process).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="dask.distributed scheduler address.")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, max=MAX_SEED, help="Campaign seed.")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Run only what is missing in --out.")] = False,
    shrink: Annotated[
        bool, typer.Option("--shrink/--no-shrink", help="Shrink one run per distinct failure, then self-check.")
    ] = True,
    shrink_budget: Annotated[
        int, typer.Option("--shrink-budget", min=1, max=100_000, help="Candidate runs per shrink.")
    ] = 200,
) -> None:
    """Search fault schedules; list the distinct failures; exit 1 when a property was violated."""
    from ..engine import check_scenario
    from ..explore import MAX_RUNS, Campaign
    from ..explore import explore as run_campaign
    from ..scenario import Problem, ScenarioError, load_scenario, parse_duration

    with bad_input():
        problems = []
        if runs is not None and not 1 <= runs <= MAX_RUNS:
            problems.append(Problem(f"--runs {runs}", None, None, "", f"give 1 to {MAX_RUNS} runs"))
        limit = None
        if time_ is not None:
            try:
                limit = parse_duration(time_)
            except (ValueError, TypeError) as exc:
                problems.append(Problem(f"--time {time_}", None, None, "", str(exc)))
            else:
                if limit <= 0:
                    problems.append(Problem(f"--time {time_}", None, None, "", "give a positive wall time, e.g. 10m"))
        if problems:
            raise ScenarioError(problems)
        scenario = load_scenario(scenario_file)
        overrides = parse_sets(set_)
        if preset is not None:
            overrides["coordinator.preset"] = preset
        if overrides:
            try:
                scenario = scenario.with_overrides(overrides)
            except ScenarioError as error:  # name the --preset option as it was given
                label = f"--set coordinator.preset={preset}"
                raise ScenarioError(
                    [replace(p, file=f"--preset {preset}") if p.file == label else p for p in error.problems]
                ) from None
        check_scenario(scenario)
        campaign = Campaign(scenario, seed=seed)
        campaign.plan(0)  # a space that gives no valid schedule is bad input, before anything is written
    if runs is None and limit is None:
        runs = 100
    with bad_output():
        check_target(out)
    report = _Progress(runs)
    try:
        with cluster_executor(scheduler) as executor, run_failure(), bad_output():
            result = run_campaign(campaign, out, runs=runs, time_limit=limit, jobs=jobs, executor=executor,
                                  resume=resume, progress=report, shrink=shrink,
                                  shrink_budget=shrink_budget)  # fmt: skip
    finally:
        report.close()
    _print(result, out)
    _print_coverage(result, out)
    if result.shrunk:
        _print_shrunk(result, out)
    mismatches = [c for c in result.checks if not c.ok]
    for c in mismatches:
        err_console.print(f"error: self-check failed: {c.message}", markup=False, highlight=False)
    if result.failures or mismatches:
        raise typer.Exit(1)


def _print(result: Any, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    frame = result.frame
    failing = int(frame["failed"].sum()) if len(frame) else 0
    rate = result.ran / result.wall_seconds * 60 if result.wall_seconds else 0.0
    console.print(
        f"{len(frame)} runs ({result.ran} run now, {rate:.0f}/min), {failing} with a violation, "
        f"{len(result.failures)} distinct failures",
        markup=False,
    )
    if result.failures:
        table = Table(title="distinct failures", title_justify="left")
        for name, justify in (("signature", "left"), ("runs", "right"), ("first", "right"), ("at (s)", "right"),
                              ("replay", "left")):  # fmt: skip
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for f in result.failures:
            at = "" if f.violated_at is None else f"{f.violated_at:.6g}"
            table.add_row(f.signature, str(f.count), str(f.first_run), at, f"failing/run-{f.first_run:06d}.yaml")
        (console if console.is_terminal else Console(width=240)).print(table, markup=False)
    console.print(f"results -> {out / 'results.parquet'}, {out / 'failures.csv'}, {out / 'failing'}/", markup=False)


def _print_coverage(result: Any, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    coverage = result.coverage
    if not len(coverage):
        return
    reached = int((coverage["runs_reached"] > 0).sum())
    table = Table(title=f"sometimes coverage: {reached}/{len(coverage)} reached", title_justify="left")
    for name, justify in (("property", "left"), ("runs", "right"), ("fraction", "right"), ("first run", "right"),
                          ("seed", "right"), ("at (s)", "right")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in coverage.to_dict("records"):
        first = row["runs_reached"] > 0
        table.add_row(row["property"], str(row["runs_reached"]), f"{row['fraction']:.1%}",
                      str(row["first_run"]) if first else "-", str(row["first_seed"]) if first else "-",
                      f"{row['first_reached_at']:.6g}" if first else "-")  # fmt: skip
    (console if console.is_terminal else Console(width=240)).print(table, markup=False)
    console.print(f"coverage -> {out / 'coverage.csv'}", markup=False)


def _print_shrunk(result: Any, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    distinct = result.distinct_shrunk
    console.print(
        f"shrunk {len(result.shrunk)} distinct failures in {result.shrink_seconds:.1f} s "
        f"({sum(s.shrunk.runs for s in result.shrunk)} candidate runs): {len(distinct)} distinct after shrinking",
        markup=False,
        soft_wrap=True,
    )
    table = Table(title="shrunk failures", title_justify="left")
    for name, justify in (("signature", "left"), ("from", "right"), ("faults", "right"), ("machines", "right"),
                          ("at (s)", "right"), ("schedule", "left"), ("replay", "left")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    from ..explore.shrink import machines_of

    for s in distinct:
        merged = sum(1 for t in result.shrunk if t.signature == s.signature)
        faults = s.shrunk.raw.get("faults") or []
        from ..explore import schedule_text

        table.add_row(s.signature, str(merged), str(len(faults)), str(machines_of(s.shrunk.raw)),
                      f"{s.shrunk.after.violated_at:.6g}", schedule_text(faults) or "-", s.file)  # fmt: skip
    (console if console.is_terminal else Console(width=240)).print(table, markup=False)
    if result.checks:
        passed = sum(c.ok for c in result.checks)
        console.print(
            f"self-check: {passed}/{len(result.checks)} shrunk failures replayed in a fresh process to the same "
            f"violation at the same time",
            markup=False,
            soft_wrap=True,
        )
    console.print(f"shrunk -> {out / 'shrunk'}/, {out / 'shrunk.csv'}", markup=False, soft_wrap=True)


class _Progress:
    """A rich progress bar with runs, violations and distinct failures on a terminal; plain lines otherwise."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.bar: Any = None
        if console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("explore"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[found]}"), TimeElapsedColumn(), console=console)  # fmt: skip
            self.task = self.bar.add_task("explore", total=total, found="")
            self.bar.start()

    def __call__(self, p: Any) -> None:
        found = f"{p.failing} failing, {p.distinct} distinct"
        if p.sometimes:
            found += f", {p.reached}/{p.sometimes} sometimes reached"
        if self.bar is not None:
            self.bar.update(self.task, completed=p.done, found=found)
        elif p.row is None:
            if p.done:
                print(f"explore: {p.done} runs already done ({found})", flush=True)
        else:
            row = p.row
            of = f"/{p.total}" if p.total is not None else ""
            verdict = f" -> {row['violations']}" if row["failed"] else ""
            print(f"[{p.done}{of}] run {row['run']}: {row['faults']}{verdict} ({found})", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
        sys.stdout.flush()
        err_console.file.flush()
