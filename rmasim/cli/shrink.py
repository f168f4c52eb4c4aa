"""``rmasim shrink SCENARIO --property NAME --out DIR``: shrink one failing scenario, self-check the result.

The scenario (its faults, its seed; ``--set`` overrides applied) must violate ``NAME``; it is shrunk while it
still does (:func:`rmasim.explore.shrink.shrink`) and written as ``DIR/shrunk.yaml``, which is then replayed in
a fresh process (the self-check). Exit status: 0 when the shrunk file replays to the same violation, 1 when the
self-check mismatched, 2 on bad input (the scenario does not violate ``NAME``, an unknown property).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..outputs import check_target
from .common import bad_input, bad_output, console, err_console, parse_sets, run_failure

__all__ = ["shrink"]


def shrink(
    scenario_file: Annotated[Path, typer.Argument(help="A scenario YAML file that violates the property.")],
    property_: Annotated[str, typer.Option("--property", help="The violated property to keep violated.")],
    out: Annotated[Path, typer.Option("--out", help="Report directory for shrunk.yaml (replaced if a report).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a field: KEY=VALUE (repeatable).")] = None,
    budget: Annotated[int, typer.Option("--budget", min=1, max=100_000, help="Candidate runs at most.")] = 200,
) -> None:
    """Shrink a failing scenario while PROPERTY is still violated; write DIR/shrunk.yaml and self-check it."""
    from ..engine import check_scenario
    from ..explore.selfcheck import self_check
    from ..explore.shrink import machines_of, shrink, shrunk_yaml
    from ..outputs import replace_report
    from ..scenario import Problem, ScenarioError, load_scenario

    with bad_input():
        scenario = load_scenario(scenario_file)
        overrides = parse_sets(set_)
        if overrides:
            scenario = scenario.with_overrides(overrides)
        check_scenario(scenario)
    with bad_output():
        check_target(out)
    with bad_input(), run_failure():
        try:
            result = shrink(scenario, property_, max_runs=budget)
        except ValueError as exc:
            raise ScenarioError([Problem(str(scenario_file), None, None, "", str(exc))]) from None
    with bad_output(), replace_report(out, "shrink") as tmp:
        (tmp / "shrunk.yaml").write_text(shrunk_yaml(result, str(scenario_file)), encoding="utf-8")
    a = result.after
    console.print(
        f"shrunk {len(result.original.get('faults') or [])} -> {len(result.raw.get('faults') or [])} faults, "
        f"{machines_of(result.original)} -> {machines_of(result.raw)} machines, {result.original['duration']} -> "
        f"{result.raw['duration']} in {result.runs} candidate runs ({result.wall_seconds:.1f} s): {a.property} "
        f"violated at {a.violated_at:.6g} s: {', '.join(a.entities)}",
        markup=False,
        soft_wrap=True,
    )
    (check,) = self_check([(out / "shrunk.yaml", a.property, a.violated_at)])
    if not check.ok:
        err_console.print(f"error: self-check failed: {check.message}", markup=False, highlight=False)
        raise typer.Exit(1)
    console.print(f"self-check: replayed in a fresh process, the same violation -> {out / 'shrunk.yaml'}",
                  markup=False, soft_wrap=True)  # fmt: skip
