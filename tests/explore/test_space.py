"""Fault spaces: the `explore` section's validation, and schedules drawn from a generator."""

from __future__ import annotations

import numpy as np
import pytest

from rmasim.scenario import ScenarioError, load_scenario_text
from rmasim.scenario.space import DRAWERS, FaultSpace, draw_schedule

FLEET = """\
name: space
duration: 6m
fleet:
  gpu: {count: 3, spares: 1, services: {upload: {port: 8103, capacity: 4}}}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text)
    return [str(p) for p in caught.value.problems]


def test_bad_fields_are_located_with_every_other_problem(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delitem(DRAWERS, "rolling_upgrade")  # a fault action without a drawer
    found = problems(FLEET + "explore: {kinds: [crash, crsh, rolling_upgrade], groups: [cpu], end: 7m}\n")
    assert found == [
        "<string>:5:26: explore.kinds.1: 'crsh' is not a fault action; drawable kinds: " + ", ".join(DRAWERS),
        "<string>:5:32: explore.kinds.2: 'rolling_upgrade' is a fault action rmasim cannot draw yet; drawable "
        "kinds: " + ", ".join(DRAWERS),
        "<string>:5:59: explore.groups.0: unknown group 'cpu'; fleet groups: gpu",
        "<string>:5:70: explore.end: 7m is not before the end of the run (6m)",
    ]
    assert problems(FLEET + "explore: {min_faults: 3, max_faults: 2}\n") == [
        "<string>:5:23: explore.min_faults: min_faults 3 > max_faults 2"
    ]


def test_the_builtin_space_fits_the_fleet():
    scenario = load_scenario_text(FLEET)
    assert "start" in FaultSpace().kinds_for(scenario)  # the group has a spare
    no_spare = load_scenario_text(FLEET.replace("spares: 1, ", ""))
    assert "start" not in FaultSpace().kinds_for(no_spare)


def test_a_schedule_is_a_function_of_the_generator_and_validates():
    scenario = load_scenario_text(FLEET)
    space = FaultSpace(kinds=["crash", "partition", "kv_outage"], max_faults=4, start="30s", end="90s")
    first = [draw_schedule(space, scenario, np.random.default_rng(i)) for i in range(20)]
    assert first == [draw_schedule(space, scenario, np.random.default_rng(i)) for i in range(20)]
    for on, faults in first:
        assert on and set(on) <= {"crash", "partition", "kv_outage"}
        assert 1 <= len(faults) <= 4 and {f["action"] for f in faults} <= set(on)
        assert scenario.with_overrides({"faults": faults}).faults  # a valid faults list, times in the window
        assert all(30 <= scenario.with_overrides({"faults": [f]}).faults[0].at <= 90 for f in faults)
    assert len({tuple(on) for on, _ in first}) > 1  # swarm: the kinds switched on vary from run to run


def test_every_drawer_gives_a_valid_fault():
    scenario = load_scenario_text(FLEET)
    space = FaultSpace(kinds=list(DRAWERS), min_faults=20, max_faults=20, swarm=False)
    on, faults = draw_schedule(space, scenario, np.random.default_rng(7))
    assert on == list(DRAWERS)
    assert len(scenario.with_overrides({"faults": faults}).faults) == 20


def test_every_drawable_kind_has_a_spec_and_an_injector():
    from rmasim.chaos import FAULTS
    from rmasim.scenario import FAULT_SPECS

    assert set(DRAWERS) <= set(FAULT_SPECS) & set(FAULTS)
    assert set(DRAWERS) == set(FAULT_SPECS)  # every fault kind can be drawn


def test_every_drawer_is_valid_on_a_fleet_without_spares_and_on_two_edges():
    scenario = load_scenario_text(FLEET.replace("spares: 1, ", "") + "coordinator: {edges: 2}\n")
    space = FaultSpace(kinds=list(DRAWERS), min_faults=20, max_faults=20, swarm=False)
    for seed in range(10):
        _, faults = draw_schedule(space, scenario, np.random.default_rng(seed))
        assert len(scenario.with_overrides({"faults": faults}).faults) == 20


@pytest.mark.parametrize("kind", list(DRAWERS))
def test_every_drawer_runs_under_hypothesis_draws(kind: str):
    """rmasim.testing.fault_schedules calls the same drawers with hypothesis draws (integers and choice only)."""
    from hypothesis import HealthCheck, given, settings

    from rmasim.testing import fault_schedules

    scenario = load_scenario_text(FLEET + "coordinator: {edges: 2}\n")

    @settings(max_examples=20, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(fault_schedules(scenario, kinds=[kind], min_faults=2, max_faults=2))
    def draws(faults: list[dict]) -> None:
        assert [f["action"] for f in faults] == [kind, kind]
        assert len(scenario.with_overrides({"faults": faults}).faults) == 2

    draws()
