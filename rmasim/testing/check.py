"""Asserting a scenario's properties in a test: run it once, raise an ``AssertionError`` that names each violated
property (its time, entities and detail) and carries the failing scenario as a YAML text ``rmasim run`` replays.

The scenario that is run is the one written in the message: the properties judged and the seed are written into
it (the scenario's own ``properties``, or the built-in set, :func:`rmasim.observe.properties.default_properties`,
when it names none), so pasting the text into a file and running ``rmasim run FILE --out DIR`` gives the same
violations at the same simulated times (the run is a pure function of the scenario and its seed).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from typing import Any

from ..engine import RunResult, run
from ..observe.properties import PropertyResult, default_properties
from ..scenario import Scenario, load_scenario
from ..scenario.properties import PropertySpec

__all__ = ["PropertiesViolated", "check_properties", "judged_scenario", "scenario_yaml"]

PropertyLike = str | Mapping[str, Any] | PropertySpec


class PropertiesViolated(AssertionError):
    """A run violated properties: ``result`` (the ``RunResult``), ``violated`` (its failing ``PropertyResult``
    values) and ``yaml`` (the scenario, replayable with ``rmasim run``)."""

    def __init__(self, message: str, result: RunResult, violated: Sequence[PropertyResult], yaml: str) -> None:
        super().__init__(message)
        self.result = result
        self.violated = list(violated)
        self.yaml = yaml


def _spec(p: PropertyLike) -> dict[str, Any]:
    if isinstance(p, PropertySpec):
        return p.model_dump()
    if isinstance(p, str):
        return {"name": p}
    return dict(p)


def judged_scenario(
    scenario: Scenario | str | os.PathLike[str],
    properties: Sequence[PropertyLike] | None = None,
    seed: int | None = None,
) -> Scenario:
    """``scenario`` (or the file at that path) with the properties it is judged by and its seed written in:
    ``properties`` when given (names, ``{"name": ..., params}`` or specs), else its own, else the built-in set."""
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    overrides: dict[str, Any] = {}
    if properties is not None:
        overrides["properties"] = [_spec(p) for p in properties]
    elif not base.properties:
        overrides["properties"] = [p.model_dump() for p in default_properties()]
    if seed is not None:
        overrides["seed"] = seed
    return base.with_overrides(overrides) if overrides else base


def scenario_yaml(scenario: Scenario) -> str:
    """``scenario`` as a plain YAML text (as written, with its overrides applied), for ``rmasim run``."""
    from ruamel.yaml import YAML

    from ..scenario.overrides import plain

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # keep the file's order
    yaml.width = 4096
    text = io.StringIO()
    yaml.dump(scenario._raw or plain(scenario), text)
    return text.getvalue()


def _seconds(value: float | None) -> str:
    return f"{value:.6g}"


def check_properties(
    scenario: Scenario | str | os.PathLike[str],
    properties: Sequence[PropertyLike] | None = None,
    seed: int | None = None,
) -> RunResult:
    """Run ``scenario`` (a ``Scenario`` or a file's path) once and return its ``RunResult`` when every property
    holds; else raise :class:`PropertiesViolated` (an ``AssertionError``) naming each violated property, its time
    and entities, followed by the scenario as YAML. ``properties``: the properties to judge (names, or
    ``{"name": "no_dead_in_index", "purge_within": "2m"}``), default the scenario's own, else the built-in set;
    ``seed``: the run's seed, default the scenario's.

    >>> check_properties("scenarios/crash.yaml", ["no_dead_in_index"])  # doctest: +SKIP
    Traceback (most recent call last):
    PropertiesViolated: 1 property violated (scenario crash, preset baseline, seed 1):
      no_dead_in_index at 360 s: worker-..., gpu/0 (worker-... listed, dead longer than 240 s)
    """
    judged = judged_scenario(scenario, properties, seed)
    result = run(judged)
    violated = [p for p in result.properties if not p.holds]
    if not violated:
        return result
    text = scenario_yaml(judged)
    many = "properties" if len(violated) > 1 else "property"
    lines = [
        f"{len(violated)} {many} violated (scenario {judged.name}, preset {judged.coordinator.preset}, "
        f"seed {judged.seed}):"
    ]
    for p in violated:
        lines.append(f"  {p.name} at {_seconds(p.violated_at)} s: {', '.join(p.entities)} ({p.detail})")
    lines.append("replay: save the scenario below as failing.yaml, then `rmasim run failing.yaml --out DIR`")
    lines.append("--- failing.yaml")
    raise PropertiesViolated("\n".join(lines) + "\n" + text, result, violated, text)
