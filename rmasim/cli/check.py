"""``rmasim check``: run the scenario suite over a few seeds and compare it with the committed baseline (CI).

Exit status: 0 no regression (or ``--update-baseline``); 1 some key regressed; 2 bad input (a scenario, a
missing or malformed baseline), one line per problem, nothing written.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..outputs import check_target
from .common import bad_input, bad_output, console, err_console, run_failure
from .sweep import _progress_reporter

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["check"]

#: Seeds of one regression check: every suite scenario runs this many times under each of its presets.
MAX_CHECK_SEEDS = 1000


def check(
    suite: Annotated[
        Path | None,
        typer.Option(
            "--suite", help="Directory of scenario files (*.yaml) (default: ./scenarios, else the shipped ones)."
        ),
    ] = None,
    seeds: Annotated[
        int | None,
        typer.Option(
            "--seeds", min=1, max=MAX_CHECK_SEEDS, help="Seeds 0..N-1 (default: as many as the baseline, else 3)."
        ),
    ] = None,
    baseline: Annotated[Path, typer.Option("--baseline", help="Baseline JSON file.")] = Path("reports/baseline.json"),
    out: Annotated[Path, typer.Option("--out", help="Report directory (replaced whole).")] = Path("reports/ci"),
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="Worker processes (1: in this process).")] = None,
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="Rewrite the baseline from this run and exit 0.")
    ] = False,
) -> None:
    """Run every scenario of the suite, compare each summary key with the baseline; exit 1 on a regression."""
    from ..report.check import (
        BaselineError,
        check_baseline_target,
        compare_to_baseline,
        counts,
        load_baseline,
        suite_intervals,
        suite_scenarios,
        write_baseline,
        write_check_report,
    )

    if suite is None:
        from ..scenario import shipped_scenarios

        shipped = shipped_scenarios()
        suite = Path("scenarios") if Path("scenarios").is_dir() or shipped is None else shipped
    with bad_input():
        scenarios = suite_scenarios(suite)
    if update_baseline:
        with bad_output("--baseline"):
            check_baseline_target(baseline)
    else:
        with bad_output("--out"):
            check_target(out)
    base = None
    if not update_baseline:
        try:
            base = load_baseline(baseline)
        except BaselineError as error:
            err_console.print(str(error), markup=False)
            raise typer.Exit(2) from None
    count = seeds if seeds is not None else (len(base.seeds) if base is not None and base.seeds else 3)
    seed_list = list(range(count))
    report = _progress_reporter(len(scenarios) * count)
    try:
        with run_failure():
            runs, now = suite_intervals(scenarios, seed_list, jobs=jobs, progress=report)
    finally:
        report.close()
    if update_baseline:
        with bad_output("--baseline"):
            write_baseline(now, seed_list, baseline)
        console.print(
            f"baseline: {len(scenarios)} scenarios x {count} seeds, {len(now)} keys -> {baseline}", markup=False
        )
        return
    assert base is not None
    if list(base.seeds) != seed_list:
        err_console.print(
            f"note: baseline seeds {list(base.seeds)} differ from this run's {seed_list}", markup=False, style="yellow"
        )
    comparison = compare_to_baseline(base.table, now)
    with bad_output("--out"):
        sources = {s.name: s.source for s in scenarios if s.source is not None}
        write_check_report(comparison, base, now, out, seeds=seed_list, suite=str(suite), runs=runs, sources=sources)
    _print_summary(comparison, counts(comparison), out)
    if counts(comparison)["regression"]:
        raise typer.Exit(1)


def _print_summary(comparison: pd.DataFrame, tally: dict[str, int], out: Path) -> None:
    from rich.table import Table

    from ..report.compare import format_interval

    failed = tally["regression"] > 0
    line = ", ".join(f"{n} {v}" for v, n in tally.items())
    paired = int((comparison["rule"] == "paired").sum())
    if paired:
        identical = int((comparison["identical"] == True).sum())  # noqa: E712  (True/False/None)
        line += f"; {identical} of {paired} keys identical in every seed"
    moved = comparison[comparison["verdict"].isin(["regression", "improvement"])]
    if not moved.empty:
        grid = Table(title="keys that moved beyond the noise", title_justify="left")
        for column in ("scenario", "variant", "key", "baseline", "now", "verdict"):
            grid.add_column(column)
        for _, r in moved.iterrows():
            style = "bold red" if r["verdict"] == "regression" else "green"
            grid.add_row(
                str(r["scenario"]),
                str(r["variant"]),
                str(r["key"]),
                format_interval(float(r["base_mean"]), float(r["base_half_width"])),
                format_interval(float(r["now_mean"]), float(r["now_half_width"])),
                f"[{style}]{r['verdict']}[/]",
            )
        console.print(grid)
    verdict = "[bold red]FAIL[/]" if failed else "[bold green]PASS[/]"
    console.print(f"check: {verdict} ({line}) -> {out / 'index.html'}", soft_wrap=True)
