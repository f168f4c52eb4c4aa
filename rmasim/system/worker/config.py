"""A Worker's configuration, read the way wrangler reads it: ``wrangler.toml``, or a bare ``.js`` module.

From ``wrangler.toml`` (developers.cloudflare.com/workers/wrangler/configuration) rmasim reads:

- ``main`` - the entry module, relative to the file (required);
- ``[[kv_namespaces]]`` - each ``binding`` becomes ``env.<binding>``, a Workers KV namespace answered by the
  simulated KV. The world has one KV namespace, so at most one binding is accepted;
- ``[vars]`` - plain values put on ``env`` as they are (strings, numbers, booleans, tables);
- ``[triggers] crons`` - the Cron Triggers that run the Worker's ``scheduled()`` handler (see :mod:`.cron`);
- ``name`` and ``compatibility_date`` are kept for the record. Other keys (routes, ``[env.*]`` sections, other
  bindings) are ignored: no other binding is modelled.

A ``.js``/``.mjs`` path is a module with the review's binding: one KV namespace named ``WORKERS`` (the review's
code uses ``env.WORKERS``), no vars, no crons. A ``.ts`` entry point (the path, or ``main``) is bundled with
esbuild first (:mod:`.bundle`).

Problems are :class:`~rmasim.scenario.ScenarioError` lines ``file:line:col: field: message`` (TOML syntax errors
carry the parser's position).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ...scenario import Problem, ScenarioError
from .bundle import bundle_typescript
from .cron import CronSchedule

__all__ = ["DEFAULT_KV_BINDING", "WorkerConfig", "load_worker_config", "resolve_worker_path"]

#: The KV binding a bare module gets: the review's ``env.WORKERS``.
DEFAULT_KV_BINDING = "WORKERS"
_MODULE_SUFFIXES = (".js", ".mjs")
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class WorkerConfig:
    """What the host needs to run a Worker: its entry module, bindings, vars and crons."""

    main: Path
    """The entry module (absolute)."""
    kv_bindings: tuple[str, ...] = (DEFAULT_KV_BINDING,)
    vars: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    crons: tuple[CronSchedule, ...] = ()
    name: str = "worker"
    compatibility_date: str | None = None
    source: Path | None = None
    """The file the configuration came from (the ``wrangler.toml``, or the module itself)."""


def resolve_worker_path(path: str | Path, scenario_source: str | None = None) -> Path:
    """``coordinator.worker`` as a file: absolute as given; a relative path from the current directory when it
    exists there, else from the scenario file's directory."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or candidate.exists() or scenario_source is None:
        return candidate.resolve()
    beside = Path(scenario_source).resolve().parent / candidate
    return beside.resolve() if beside.exists() else candidate.resolve()


def load_worker_config(path: str | Path, scenario_source: str | None = None) -> WorkerConfig:
    """Read ``coordinator.worker``: a ``wrangler.toml`` or a ``.js`` module (see the module docstring)."""
    file = resolve_worker_path(path, scenario_source)
    shown = str(path)
    if not file.is_file():
        raise _problem(shown, None, None, "coordinator.worker", f"no such file: {file}")
    if file.suffix in _MODULE_SUFFIXES:
        return WorkerConfig(main=file, name=file.stem, source=file)
    if file.suffix == ".ts":
        return WorkerConfig(main=bundle_typescript(file, shown), name=file.stem, source=file)
    if file.suffix != ".toml":
        raise _problem(shown, None, None, "coordinator.worker", "expected a wrangler.toml or a .js module")
    try:
        data = tomllib.loads(file.read_text())
    except tomllib.TOMLDecodeError as error:
        found = _TOML_POSITION.search(str(error))
        line, col = (int(found[1]), int(found[2])) if found else (None, None)
        raise _problem(shown, line, col, "TOML", _TOML_POSITION.sub("", str(error)).strip()) from None
    return _from_wrangler(data, file, shown)


def _from_wrangler(data: dict[str, Any], file: Path, shown: str) -> WorkerConfig:
    problems = []
    main = data.get("main")
    if not isinstance(main, str) or not main:
        problems.append(Problem(shown, None, None, "main", "wrangler.toml needs `main`, the Worker's entry module"))
    bindings = []
    for i, namespace in enumerate(data.get("kv_namespaces", [])):
        binding = namespace.get("binding") if isinstance(namespace, dict) else None
        if not isinstance(binding, str) or not binding.isidentifier():
            problems.append(Problem(shown, None, None, f"kv_namespaces.{i}.binding", "expected a binding name"))
        else:
            bindings.append(binding)
    if len(bindings) > 1:
        problems.append(Problem(shown, None, None, "kv_namespaces", f"{len(bindings)} KV bindings; the simulated "
                                "world has one KV namespace, so rmasim runs a Worker with at most one"))  # fmt: skip
    crons = []
    for i, expression in enumerate((data.get("triggers") or {}).get("crons", [])):
        try:
            crons.append(CronSchedule.parse(expression))
        except ValueError as error:
            problems.append(Problem(shown, None, None, f"triggers.crons.{i}", str(error)))
    variables = data.get("vars", {})
    if not isinstance(variables, dict):
        problems.append(Problem(shown, None, None, "vars", "expected a table of values"))
        variables = {}
    entry = (file.parent / main).resolve() if isinstance(main, str) and main else file
    if isinstance(main, str) and main and not entry.is_file():
        problems.append(Problem(shown, None, None, "main", f"no such file: {entry}"))
    if problems:
        raise ScenarioError(problems)
    if entry.suffix == ".ts":
        entry = bundle_typescript(entry, shown)
    return WorkerConfig(
        main=entry,
        kv_bindings=tuple(bindings),
        vars=MappingProxyType(dict(variables)),
        crons=tuple(crons),
        name=str(data.get("name") or file.parent.name),
        compatibility_date=data.get("compatibility_date"),
        source=file,
    )


def _problem(file: str, line: int | None, col: int | None, field: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(file, line, col, field, message)])
