"""What the verbs share: consoles, reading ``--set`` options, and turning bad input into exit status 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console

from ..scenario.limits import MAX_SEED

__all__ = ["MAX_SEED", "bad_input", "bad_output", "cluster_executor", "console", "err_console", "parse_sets"]

console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``["coordinator.edges=2", ...]`` -> ``{"coordinator.edges": 2}``.

    Each value is read as YAML 1.2 under the scenario loader's limits (no alias bomb, no recursive alias, no
    tag: :func:`rmasim.scenario.parse_value`); a value that breaks one is a problem naming the ``--set``
    option. A value that is not YAML at all (``[x``) is taken as the text itself.
    """
    from ruamel.yaml.error import YAMLError

    from ..scenario import Problem, ScenarioError, YamlLimitError, parse_value

    overrides: dict[str, Any] = {}
    problems = []
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            problems.append(Problem("--set", None, None, item, "expected KEY=VALUE, e.g. coordinator.edges=2"))
            continue
        try:
            value = parse_value(text) if text.strip() else ""
        except YamlLimitError as exc:
            problems.append(Problem(f"--set {item}", None, None, key.strip(), exc.message))
            continue
        except YAMLError:
            value = text
        overrides[key.strip()] = value
    if problems:
        raise ScenarioError(problems)
    return overrides


@contextmanager
def bad_input() -> Iterator[None]:
    """Report a :class:`~rmasim.scenario.ScenarioError` as located lines on stderr and exit with status 2."""
    from ..scenario import ScenarioError

    try:
        yield
    except ScenarioError as error:
        for problem in error.problems:
            err_console.print(str(problem), markup=False)
        raise typer.Exit(2) from None


@contextmanager
def run_failure() -> Iterator[None]:
    """Report a run that could not go on - its Worker host died, or stopped answering - as one line on stderr
    and exit with status 1 (the report is not written: it is written whole, after the run, or not at all)."""
    from ..system.worker import HostDied

    try:
        yield
    except HostDied as error:
        err_console.print(f"the run failed: {error}", markup=False)
        raise typer.Exit(1) from None


@contextmanager
def bad_output(option: str | None = "--out") -> Iterator[None]:
    """Report an :class:`~rmasim.outputs.OutputError` (a target rmasim must not replace, or cannot write) as one
    line, ``--out PATH: why`` (or ``PATH: why`` for a default path), and exit with status 2."""
    from ..outputs import OutputError

    try:
        yield
    except OutputError as error:
        err_console.print(f"{option} {error}" if option else str(error), markup=False)
        raise typer.Exit(2) from None


@contextmanager
def cluster_executor(scheduler: str | None) -> Iterator[Any]:
    """The executor of a ``dask.distributed`` cluster at ``--scheduler ADDR`` (its client closed after), or None
    without one; dask missing is bad input (exit 2)."""
    if not scheduler:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        err_console.print("--scheduler needs dask.distributed: pip install 'rmasim[dask]'", markup=False)
        raise typer.Exit(2) from None
    client = Client(scheduler)
    try:
        yield client.get_executor()
    finally:
        client.close()
