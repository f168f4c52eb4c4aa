"""The ``rmasim`` command line: thin verbs over the library (typer + rich).

Exit status: 0 success; 1 an ``expect`` line failed; 2 bad input (a scenario or an option), reported as
``file:line:col: field: message`` lines on stderr, never a traceback.
"""

from __future__ import annotations

import typer

from . import check as _check
from . import compare as _compare
from . import conformance as _conformance
from . import explore as _explore
from . import findings as _findings
from . import presets as _presets
from . import run as _run
from . import shrink as _shrink
from . import sweep as _sweep
from . import validate as _validate

__all__ = ["app"]

app = typer.Typer(
    name="rmasim",
    help="Deterministic simulation and chaos testing of a Workers-KV service coordinator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"rmasim {version('rmasim')}")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print rmasim's version and exit."
    ),
) -> None:
    """Deterministic simulation and chaos testing of a Workers-KV service coordinator."""


app.command("run")(_run.run)
app.command("sweep")(_sweep.sweep)
app.command("shrink")(_shrink.shrink)
app.command("compare")(_compare.compare)
app.command("explore")(_explore.explore)
app.command("findings")(_findings.findings)
app.command("check")(_check.check)
app.command("conformance")(_conformance.conformance)
app.command("presets")(_presets.presets)
app.command("validate")(_validate.validate)
app.command("schema")(_validate.schema)
