"""``rmasim compare SCENARIO --grid key=v1,v2 --seeds N``: each variant's mean and 95% interval per summary key.

Runs the sweep (rows stored under ``DIR/sweep``, so ``--resume`` picks up an interrupted comparison), prints one
row per key and one column per variant, and writes ``DIR/intervals.csv`` and one PNG per key family into ``DIR``
(default ``reports/compare/<scenario name>``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..outputs import open_report, report_path, write_atomic
from .common import bad_input, bad_output, console, run_failure
from .sweep import MAX_SEEDS, _progress_reporter, parse_grid

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["compare"]

_ARROWS = {"higher": "↑", "lower": "↓"}


def compare(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    grid: Annotated[list[str] | None, typer.Option("--grid", help="KEY=V1,V2,... (repeatable): the variants.")] = None,
    seeds: Annotated[int, typer.Option("--seeds", min=2, max=MAX_SEEDS, help="Seeds 0..N-1 for every variant.")] = 20,
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="Worker processes (1: in this process).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Default: reports/compare/<scenario name>.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Run only what is missing in DIR/sweep.")] = False,
    keys: Annotated[
        list[str] | None,
        typer.Option("--keys", help="Print only these summary keys (comma-separated, repeatable); files keep all."),
    ] = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the table as Markdown (the --keys in their order).")
    ] = False,
) -> None:
    """Run every variant with every seed; print and write each summary key's mean and 95% interval per variant."""
    from rich.console import Console
    from rich.table import Table

    from ..observe import declaration_of
    from ..report.compare import interval_cells, markdown_cells
    from ..report.stats import interval_table, summary_columns
    from ..scenario import Problem, ScenarioError
    from ..sweep import plan_runs
    from ..sweep import sweep as run_sweep

    with bad_input():
        grid_values = parse_grid(grid)
        wanted = [k.strip() for item in keys or [] for k in item.split(",") if k.strip()]
        unknown = [k for k in wanted if declaration_of(k) is None]
        if unknown:
            raise ScenarioError([Problem("--keys", None, None, k, "unknown summary key") for k in unknown])
        try:
            specs = plan_runs([scenario_file], grid_values, range(seeds))
        except ScenarioError as error:  # grid points are applied as overrides: name them as --grid
            raise ScenarioError(
                [replace(p, file=p.file.replace("--set ", "--grid ", 1)) for p in error.problems]
            ) from None
    name = specs[0].scenario.name
    option = "--out" if out is not None else None
    with bad_output(option):
        out_dir = open_report(out if out is not None else report_path("reports/compare", name), "compare")
    variants = list(grid_values)
    report = _progress_reporter(len(specs))
    try:
        with run_failure(), bad_output(option):
            frame = run_sweep([scenario_file], grid_values, range(seeds), None, out_dir / "sweep", jobs=jobs,
                              resume=resume, progress=report)  # fmt: skip
    finally:
        report.close()
    table = interval_table(frame, variants, summary_columns(frame, variants))
    with bad_output(option):
        plots = _write_files(out_dir, frame, table, variants)
    cells = interval_cells(table, variants)
    shown_rows = table[table["key"].isin(wanted)] if wanted else table
    kinds = set(shown_rows["interval"]) if "interval" in shown_rows else set()
    legend = " ".join(
        text
        for kind, text in (
            ("proportion", "k/n: a yes/no key, the runs that said yes (exact binomial interval in intervals.csv)."),
            ("clipped", "m [0, h]: a quantity that cannot be negative, its interval clipped at 0."),
        )
        if kind in kinds
    )

    if markdown:
        console.print(f"{name}: mean ± 95% interval over {seeds} seeds\n", markup=False)
        console.print(markdown_cells(cells, wanted), markup=False, soft_wrap=True)
        if legend:
            console.print(f"\n{legend}", markup=False, soft_wrap=True)
        return
    shown = Table(title=f"{name}: mean ± 95% interval over {seeds} seeds", title_justify="left")
    shown.add_column("key", no_wrap=True)
    shown.add_column("better", justify="center", min_width=6)
    for label in cells.columns[2:]:
        shown.add_column(str(label), justify="right")
    for row in cells.itertuples(index=False):
        if wanted and row[0] not in wanted:
            continue
        shown.add_row(row[0], _ARROWS.get(row[1], ""), *row[2:])
    # on a terminal the table fits its width; piped or captured, it keeps every cell on one line
    (console if console.is_terminal else Console(width=240)).print(shown, markup=False)
    if legend:
        console.print(legend, markup=False, soft_wrap=True)
    console.print(f"{len(frame)} runs -> {out_dir / 'sweep'}", markup=False)
    console.print(f"intervals -> {out_dir / 'intervals.csv'}", markup=False)
    families = ", ".join(p.stem for p in plots)
    console.print(f"plots -> {out_dir}/<family>.png ({families})", markup=False, soft_wrap=True)


def _write_files(out_dir: Path, frame: pd.DataFrame, table: pd.DataFrame, variants: list[str]) -> list[Path]:
    """``sweep/results.parquet``, ``intervals.csv`` (a ``variant`` label column added) and the family plots
    (returned), each file atomically."""
    from ..report.compare import family_plots, variant_label

    write_atomic(out_dir / "sweep" / "results.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
    labelled = table.assign(variant=[variant_label(row, variants) for _, row in table.iterrows()])
    labelled = labelled[
        ["scenario", *variants, "variant", *(c for c in table.columns if c not in {"scenario", *variants})]
    ]
    write_atomic(out_dir / "intervals.csv", lambda tmp: labelled.to_csv(tmp, index=False))
    return family_plots(table, variants, out_dir)
