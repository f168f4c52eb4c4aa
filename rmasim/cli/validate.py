"""``rmasim validate FILE...`` and ``rmasim schema``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .common import console, err_console

__all__ = ["schema", "validate"]


def validate(files: Annotated[list[Path], typer.Argument(help="Scenario files to check.")]) -> None:
    """Check scenario files; print every problem as file:line:col: field: message (exit 2 if any)."""
    from ..engine import check_scenario
    from ..scenario import ScenarioError, load_scenario

    failed = False
    for path in files:
        try:
            check_scenario(load_scenario(path))
        except ScenarioError as error:
            failed = True
            for problem in error.problems:
                err_console.print(str(problem), markup=False)
        else:
            console.print(f"{path}: ok", markup=False, soft_wrap=True)  # one line per file, however long
    if failed:
        raise typer.Exit(2)


def schema() -> None:
    """Print the JSON Schema of scenario files."""
    from ..scenario import scenario_json_schema

    typer.echo(json.dumps(scenario_json_schema(), indent=2))
