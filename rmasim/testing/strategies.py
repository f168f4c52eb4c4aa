"""Hypothesis strategies for rmasim scenarios: fault schedules valid for a scenario, and runnable scenarios.

Model: a schedule is drawn as :func:`rmasim.scenario.space.draw_schedule` draws one (the same registered
drawers, :data:`rmasim.scenario.space.DRAWERS`, over the same :class:`~rmasim.scenario.space.FaultSpace`), but
each of a drawer's random choices is a hypothesis draw: ``rng.integers(lo, hi)`` is ``st.integers(lo, hi - 1)``,
``rng.choice(xs)`` is ``st.sampled_from(xs)``, a fault's kind is ``st.sampled_from(kinds)`` and the schedule is
``st.lists`` of faults. Hypothesis therefore shrinks a failing schedule with its own engine towards the simplest
one: fewer faults (list elements deleted), the first kind listed, ``at`` at the window's start, lengths at
``min_duration``, the first machine of the first group, ``oneway`` off, the smallest counts and factors.

No swarm switch: hypothesis varies the mix of kinds itself, and shrinks it. Times and lengths are whole
seconds, as the explore search draws them, so a falsifying example reads as a person writes a scenario.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from pydantic import ValidationError

from ..scenario import Scenario, load_scenario
from ..scenario.space import DRAWERS, FaultSpace, SpaceContext
from ..scenario.units import parse_duration

__all__ = ["fault_schedules", "scenarios"]

ScenarioLike = Scenario | str | os.PathLike[str]


class _Choices:
    """The part of ``numpy.random.Generator`` the drawers call, each call one hypothesis draw."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self._draw = draw

    def integers(self, low: int, high: int | None = None) -> int:
        low, high = (0, low) if high is None else (low, high)
        return int(self._draw(st.integers(int(low), int(high) - 1)))

    def choice(self, options: Sequence[Any]) -> Any:
        return self._draw(st.sampled_from(list(options)))


def _scenario(value: ScenarioLike, argument: str) -> Scenario:
    if isinstance(value, Scenario):
        return value
    if isinstance(value, str | os.PathLike):
        return load_scenario(value)
    raise InvalidArgument(f"{argument} must be a Scenario or the path of a scenario file, not {value!r}")


def _space(scenario: Scenario, given: Mapping[str, Any]) -> FaultSpace:
    """The scenario's ``explore`` space (or the built-in one) with the arguments given over it."""
    base = scenario.explore.model_dump(exclude_unset=True) if scenario.explore is not None else {}
    try:
        space = FaultSpace.model_validate({**base, **{k: v for k, v in given.items() if v is not None}})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'space'}: {e['msg']}" for e in error.errors())
        raise InvalidArgument(f"fault_schedules(): {problems}") from None
    for group in space.groups or []:
        if group not in scenario.fleet:
            raise InvalidArgument(
                f"fault_schedules(): unknown group {group!r}; fleet groups: {', '.join(scenario.fleet)}"
            )
    for name in ("start", "end"):
        value = getattr(space, name)
        if value is not None and value >= scenario.duration:
            raise InvalidArgument(f"fault_schedules(): {name}={value:g}s is not before the end of the run "
                                  f"({scenario.duration:g}s)")  # fmt: skip
    return space


@st.composite
def _fault(
    draw: Callable[[st.SearchStrategy[Any]], Any], kinds: Sequence[str], context: SpaceContext
) -> dict[str, Any]:
    kind = draw(st.sampled_from(list(kinds)))
    return DRAWERS[kind](cast(np.random.Generator, _Choices(draw)), context)


def fault_schedules(
    scenario: ScenarioLike,
    kinds: Sequence[str] | None = None,
    min_faults: int | None = None,
    max_faults: int | None = None,
    start: float | str | None = None,
    end: float | str | None = None,
    groups: Sequence[str] | None = None,
    min_duration: float | str | None = None,
    max_duration: float | str | None = None,
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """A strategy of fault lists valid for ``scenario`` (a ``Scenario`` or a scenario file's path), in ``at``
    order, each fault plain data as a scenario's ``faults`` list holds it (``{"action": "crash", "at": "42s",
    "target": "gpu/1"}``).

    The arguments are those of the scenario's ``explore`` section (:class:`rmasim.scenario.space.FaultSpace`)
    and override it; unset, the section's values (or its defaults) apply: every drawable kind that fits the
    fleet, 1 to 3 faults, ``at`` from the warmup (or 30 s) to half the run, lengths from 5 s to 2 min. Durations
    are seconds or text (``"30s"``, ``"2m"``). A bad argument raises ``InvalidArgument`` at once.

    >>> from hypothesis import given
    >>> @given(fault_schedules("scenarios/crash.yaml", kinds=["crash", "partition"], max_faults=2))
    ... def test_purged(faults): ...
    """
    base = _scenario(scenario, "fault_schedules(scenario)")
    given = {"kinds": None if kinds is None else list(kinds), "min_faults": min_faults, "max_faults": max_faults,
             "start": start, "end": end, "groups": None if groups is None else list(groups),
             "min_duration": min_duration, "max_duration": max_duration}  # fmt: skip
    space = _space(base, given)
    on = space.kinds_for(base)
    context = space.context(base)
    lists = st.lists(_fault(on, context), min_size=space.min_faults, max_size=space.max_faults)
    return lists.map(lambda faults: sorted(faults, key=lambda f: parse_duration(f["at"])))


def scenarios(
    base: ScenarioLike,
    faults: st.SearchStrategy[list[dict[str, Any]]] | None = None,
    seeds: st.SearchStrategy[int] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> st.SearchStrategy[Scenario]:
    """A strategy of runnable scenarios: ``base`` (a ``Scenario`` or a file's path) with ``overrides`` (dotted
    paths, as ``--set``: ``{"coordinator.preset": "reference"}``) applied, its ``faults`` replaced by a draw of
    ``faults`` (default: ``fault_schedules(base)``) and its ``seed`` by a draw of ``seeds`` (default: the
    scenario's own seed, so only the faults vary). The ``explore`` section is dropped: each scenario is a plain
    one that ``rmasim run`` replays.

    >>> from hypothesis import given, strategies as st
    >>> @given(scenarios("scenarios/crash.yaml", faults=fault_schedules("scenarios/crash.yaml", kinds=["crash"]),
    ...                  seeds=st.integers(0, 1000)))
    ... def test_crash(scenario): check_properties(scenario)
    """
    scenario = _scenario(base, "scenarios(base)")
    if overrides:
        scenario = scenario.with_overrides(dict(overrides))
    drawn_faults = fault_schedules(scenario) if faults is None else faults
    drawn_seeds = st.just(scenario.seed) if seeds is None else seeds

    def build(args: tuple[list[dict[str, Any]], int]) -> Scenario:
        schedule, seed = args
        return scenario.with_overrides({"faults": schedule, "seed": seed, "explore": None})

    return st.tuples(drawn_faults, drawn_seeds).map(build)
