"""``rmasim run SCENARIO``: run one scenario, print its summary, write its artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..outputs import check_target, report_path
from .common import MAX_SEED, bad_input, bad_output, console, parse_sets, run_failure

__all__ = ["run"]


def run(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, max=MAX_SEED, help="Root seed (default: the scenario's).")
    ] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a field: KEY=VALUE (repeatable).")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Report directory (default reports/<name>/); replaced only if it is a report."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the one-line verdict (and what failed).")
    ] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Print every summary key, expectation and property (summary.json has them).")
    ] = False,
) -> None:
    """Run a scenario; exit 1 when an expect line fails or a property is violated, 2 on bad input."""
    from rich.markup import escape

    from .. import engine
    from ..report import write_run
    from ..scenario import load_scenario

    with bad_input(), run_failure():
        scenario = load_scenario(scenario_file)
        overrides = parse_sets(set_)
        if overrides:
            scenario = scenario.with_overrides(overrides)
        engine.check_scenario(scenario)
    option = "--out" if out is not None else None
    with bad_output(option):
        target = check_target(out if out is not None else report_path("reports", scenario.name))
    with run_failure():
        result = engine.run(scenario, seed=seed)
    with bad_output(option):
        write_run(result, target)
    from ..report.narrative import story

    told = story(result)
    colour = "green" if result.passed else "red"
    console.print(f"[bold {colour}]{escape(told.verdict)}[/]", highlight=False, soft_wrap=True)
    if show_all:
        _print_summary(result)
    elif not quiet:
        for sentence in told.narrative:
            console.print(f"  - {escape(sentence)}", highlight=False)
        _print_headline(told.headline)
    if not quiet:
        console.print(f"artifacts: {target}/  ({result.wall_seconds:.2f} s wall)", markup=False)
    failed = [e for e in result.expectations if not e.passed]
    for e in failed:
        console.print(f"[red]expectation failed:[/] {e.text} (actual: {_fmt(e.actual)})", highlight=False)
    violated = [p for p in result.properties if not p.holds]
    for p in violated:
        text = f"{p.name} at {_fmt(p.violated_at)} s: {', '.join(p.entities)} ({p.detail})"
        console.print(f"[red]property violated:[/] {escape(text)}", highlight=False)
    if failed or violated:
        raise typer.Exit(1)


def _fmt(value: object) -> str:
    """A summary value for people: null, integers as they are, floats to 6 significant digits."""
    if value is None:
        return "null"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _print_headline(headline: list[tuple[str, object]]) -> None:
    """The scenario's headline keys, one table (``--all`` prints every key)."""
    from rich.table import Table

    table = Table(show_header=True, box=None, pad_edge=False)
    table.add_column("key")
    table.add_column("value", justify="right")
    for key, value in headline:
        table.add_row(key, _fmt(value))
    console.print(table)


def _print_summary(result: object) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{result.scenario.name}  seed {result.seed}", show_lines=False)  # type: ignore[attr-defined]
    table.add_column("summary key")
    table.add_column("value", justify="right")
    for key, value in sorted(result.summary.items()):  # type: ignore[attr-defined]
        table.add_row(key, _fmt(value))
    console.print(table)
    if result.expectations:  # type: ignore[attr-defined]
        checks = Table(title="expectations")
        checks.add_column("expect")
        checks.add_column("actual", justify="right")
        checks.add_column("", justify="center")
        for e in result.expectations:  # type: ignore[attr-defined]
            checks.add_row(e.text, _fmt(e.actual), "[green]pass[/]" if e.passed else "[red]FAIL[/]")
        console.print(checks)
    if result.properties:  # type: ignore[attr-defined]
        props = Table(title="properties")
        props.add_column("property")
        props.add_column("kind")
        props.add_column("violated at", justify="right")
        props.add_column("entities", overflow="fold")
        props.add_column("", justify="center")
        for p in result.properties:  # type: ignore[attr-defined]
            verdict = "[green]holds[/]" if p.holds else "[red]VIOLATED[/]"
            if not p.checked:
                verdict = "[yellow]not checked[/]"
            at = _fmt(p.violated_at)
            if p.kind == "sometimes":  # never violated: reached at a time, or not
                reached = p.reached_at is not None
                verdict, at = ("[cyan]reached[/]", f"({_fmt(p.reached_at)})") if reached else ("not reached", "-")
            props.add_row(p.name, p.kind, at, escape(", ".join(p.entities)), verdict)
        console.print(props)
