"""rmasim.testing: the strategies draw valid, runnable scenarios; hypothesis shrinks a baseline failure to one
crash; check_properties names the violation and its replayable YAML; the pytest plugin's fixture and options."""

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import rmasim
from rmasim.scenario import load_scenario_text
from rmasim.scenario.units import parse_duration
from rmasim.testing import PropertiesViolated, check_properties, fault_schedules, scenario_yaml, scenarios

FLEET_FILE = Path(__file__).parents[2] / "examples" / "crash_fleet.yaml"
FLEET = rmasim.load_scenario(FLEET_FILE)
BASELINE = FLEET.with_overrides({"coordinator.preset": "baseline"})
CRASH = [{"action": "crash", "at": "30s", "target": "gpu/0"}]
FAST = settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(scenarios(FLEET, faults=fault_schedules(FLEET, max_faults=4, start="20s", end="2m"), seeds=st.integers(0, 99)))
def test_scenarios_are_valid_and_replayable(scenario):
    assert isinstance(scenario, rmasim.Scenario) and scenario.explore is None and 0 <= scenario.seed <= 99
    assert 1 <= len(scenario.faults) <= 4
    ats = [f.at for f in scenario.faults]
    assert ats == sorted(ats) and all(20 <= at <= 120 for at in ats)
    for fault in scenario.faults:
        assert getattr(fault, "target", "gpu/0") in {"gpu/0", "gpu/1", "gpu/2"}
    again = load_scenario_text(scenario_yaml(scenario))
    assert again.faults == scenario.faults and again.seed == scenario.seed


@FAST
@given(fault_schedules(FLEET, kinds=["crash", "restart"], min_faults=2, max_faults=2, max_duration="10s"))
def test_schedules_keep_to_the_space(faults):
    assert len(faults) == 2 and {f["action"] for f in faults} <= {"crash", "restart"}
    assert all(parse_duration(f["down_for"]) <= 10 for f in faults if f["action"] == "restart")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kinds": ["crash", "nope"]}, "'nope' is not a fault action"),
        ({"min_faults": 3, "max_faults": 2}, "min_faults 3 > max_faults 2"),
        ({"end": "10m"}, "end=600s is not before the end of the run (360s)"),
        ({"groups": ["cpu"]}, "unknown group 'cpu'"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(InvalidArgument, match="fault_schedules") as error:
        fault_schedules(FLEET, **kwargs)
    assert message in str(error.value)


def test_hypothesis_shrinks_a_baseline_failure_to_one_crash():
    judged = BASELINE.with_overrides({"properties": [{"name": "no_dead_in_index"}]})

    def purge_violated(faults):
        (verdict,) = rmasim.run(judged.with_overrides({"faults": faults})).properties
        return not verdict.holds

    schedules = fault_schedules(judged, kinds=["partition", "crash"], min_faults=1, max_faults=3, end="2m")
    shrunk = find(schedules, purge_violated, settings=settings(max_examples=50, deadline=None, database=None))
    assert shrunk == CRASH  # the first kind that fails, the window's start (30 s), the first machine


def test_check_properties_names_the_violation_and_replays():
    with pytest.raises(AssertionError) as error:
        check_properties(BASELINE.with_overrides({"faults": CRASH}))
    assert isinstance(error.value, PropertiesViolated)
    message = str(error.value).splitlines()
    assert message[0] == "4 properties violated (scenario crash_fleet, preset baseline, seed 1):"
    assert message[1].startswith("  no_dead_in_index at 270 s: worker-") and "gpu/0 (" in message[1]
    assert message[2].startswith("  no_route_to_dead at 90.626 s: gpu/0, worker-")
    assert message[3].startswith("  settles at 270 s:")
    assert message[4].startswith("  no_duplicate_machine at 280 s: gpu/2, worker-")  # a registration retried
    assert "--- failing.yaml" in message and error.value.yaml in str(error.value)
    replayed = rmasim.run(load_scenario_text(error.value.yaml))
    assert [(p.name, p.violated_at) for p in replayed.properties if not p.holds] == [
        (p.name, p.violated_at) for p in error.value.violated
    ]


def test_check_properties_passes_on_reference_and_judges_what_is_asked():
    result = check_properties(FLEET.with_overrides({"faults": CRASH, "coordinator.preset": "reference"}))
    assert result.passed
    assert [p.name for p in result.properties] == [
        "no_dead_in_index", "single_leader", "no_missing_provider", "no_route_to_dead", "settles",
        "no_duplicate_machine",
    ]  # fmt: skip
    with pytest.raises(AssertionError, match=r"^1 property violated .*\n  no_route_to_dead at 90.626 s"):
        check_properties(BASELINE.with_overrides({"faults": CRASH}), properties=["no_route_to_dead"])
    assert check_properties(BASELINE, properties=["no_dead_in_index"], seed=3).passed  # no fault: nothing dead


def test_the_plugin_is_a_pytest11_entry_point():
    (plugin,) = [e for e in entry_points(group="pytest11") if e.name == "rmasim"]
    assert plugin.value == "rmasim.testing.plugin"


PLUGIN_TESTS = f"""
import pytest

FLEET = {str(FLEET_FILE)!r}
CRASH = {{"faults": {CRASH!r}}}


def test_options(rmasim_run, rmasim_overrides):
    assert rmasim_overrides == {{"coordinator.edges": 2, "coordinator.preset": "reference"}}
    assert rmasim_run(FLEET, overrides=CRASH).passed


@pytest.mark.rmasim(preset="baseline")
def test_marker_over_options(rmasim_run):
    with pytest.raises(AssertionError, match="no_dead_in_index at 270 s"):
        rmasim_run(FLEET, overrides=CRASH)


def test_violation_fails_the_test(rmasim_run):
    rmasim_run(FLEET, properties=["no_route_to_dead"], overrides={{**CRASH, "coordinator.preset": "baseline"}})
"""


def test_fixture_options_and_marker_in_a_pytest_run(tmp_path):
    (tmp_path / "test_plugin.py").write_text(PLUGIN_TESTS)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers",
               "--rmasim-preset", "reference", "--rmasim-set", "coordinator.edges=2", "test_plugin.py"]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 2 passed" in done.stdout
    assert "PropertiesViolated: 1 property violated (scenario crash_fleet, preset baseline" in done.stdout
    assert "no_route_to_dead at 90.9527 s: gpu/0" in done.stdout  # two edges (--rmasim-set)
    assert "coordinator: {edges: 2, preset: baseline}" in done.stdout
    assert "- {action: crash, at: 30s, target: gpu/0}" in done.stdout


def test_public_names_and_the_documented_example():
    import rmasim.testing

    assert all(callable(getattr(rmasim.testing, name)) for name in rmasim.testing.__all__)
    docs = (Path(__file__).parents[2] / "docs" / "properties.md").read_text()
    block = docs.split("## For pytest users", 1)[1].split("```python\nFLEET = ", 1)[1].split("```", 1)[0]
    assert "FLEET = " + block in (Path(__file__).parents[2] / "examples" / "test_crash_properties.py").read_text()
