"""``rmasim sweep SCENARIO... --grid key=v1,v2 --seeds N``: many runs, one row each."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from ..outputs import check_target, write_atomic
from .common import bad_input, bad_output, cluster_executor, console, parse_sets, run_failure

#: At most this many seeds per grid point (a campaign of more is several sweeps).
MAX_SEEDS = 100_000

__all__ = ["sweep"]


def parse_grid(items: list[str] | None) -> dict[str, list[Any]]:
    """``["coordinator.edges=1,2,4"]`` -> ``{"coordinator.edges": [1, 2, 4]}`` (each value a YAML scalar)."""
    from ..scenario import Problem, ScenarioError

    grid: dict[str, list[Any]] = {}
    given: dict[str, str] = {}
    problems = []
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        values = [v for v in text.split(",") if v.strip()]
        if not sep or not key or not values:
            message = "expected KEY=V1,V2,..., e.g. coordinator.edges=1,2,4"
            problems.append(Problem(f"--grid {item}", None, None, "", message))
        elif key in given:
            message = f"{key} is already given by --grid {given[key]}: list every value in one --grid"
            problems.append(Problem(f"--grid {item}", None, None, "", message))
        else:
            given[key] = item
            try:
                grid[key] = [parse_sets([f"{key}={v}"])[key] for v in values]
            except ScenarioError as error:
                problems += [replace(p, file=f"--grid {item}") for p in error.problems]
    if problems:
        raise ScenarioError(problems)
    return grid


def sweep(
    scenario_files: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
    grid: Annotated[list[str] | None, typer.Option("--grid", help="KEY=V1,V2,... (repeatable).")] = None,
    seeds: Annotated[int, typer.Option("--seeds", min=1, max=MAX_SEEDS, help="Seeds 0..N-1 for every grid point.")] = 1,
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="Worker processes (1: in this process).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="dask.distributed scheduler address.")] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Report directory (created, or added to if it is a sweep's).")
    ] = Path("reports/sweep"),
    resume: Annotated[bool, typer.Option("--resume", help="Run only what is missing in --out.")] = False,
) -> None:
    """Run every scenario at every grid point with every seed; write results.parquet (one row per run)."""
    from ..scenario import ScenarioError
    from ..sweep import plan_runs
    from ..sweep import sweep as run_sweep

    with bad_input():
        grid_values = parse_grid(grid)
        try:
            total = len(plan_runs(scenario_files, grid_values, range(seeds)))
        except ScenarioError as error:  # grid points are applied as overrides: name them as --grid
            raise ScenarioError(
                [replace(p, file=p.file.replace("--set ", "--grid ", 1)) for p in error.problems]
            ) from None
    with bad_output():
        check_target(out)
    report = _progress_reporter(total)
    try:
        with cluster_executor(scheduler) as executor, run_failure(), bad_output():
            frame = run_sweep(scenario_files, grid_values, range(seeds), executor, out, jobs=jobs,
                              resume=resume, progress=report)  # fmt: skip
    finally:
        report.close()
    with bad_output():
        write_atomic(out / "results.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
    console.print(f"{len(frame)} runs -> {out / 'results.parquet'}", markup=False)


class _progress_reporter:
    """A rich progress bar with counts and ETA on a terminal; plain lines otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.bar: Any = None
        if console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
            )
            self.task = self.bar.add_task("sweep", total=total)
            self.bar.start()

    def __call__(self, done: int, total: int, spec: Any) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done)
        elif spec is None:
            print(f"sweep: {total} runs, {done} already done", flush=True)
        else:
            print(f"[{done}/{total}] {spec.label}", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
        sys.stdout.flush()
