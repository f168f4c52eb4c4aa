"""Properties (issue 14, Build 1): pure helpers on hand-made histories, then small runs judged from the model.

Every expected time is computed from the scenario's own numbers (a fault's ``at`` plus a property's bound), not
copied from an earlier run.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

import rmasim
from rmasim.cli import app
from rmasim.observe import MachineEvent, Observations, SampleView
from rmasim.observe.properties import (
    DEFAULT_PROPERTIES,
    PROPERTIES,
    NoMissingProvider,
    dead_spans,
    default_properties,
    first_overlap,
    last_heal,
    settle_time,
)
from rmasim.scenario import ScenarioError, load_scenario_text

ROOT = Path(__file__).parent.parent.parent
CRASH_AT = 120.0
PURGE_WITHIN = 240.0
ROUTE_WITHIN = 60.0
SETTLE = 300.0

CRASH = """\
name: props_crash
seed: 1
duration: 10m
sample_every: 5s
coordinator: {{preset: {preset}}}
fleet:
  gpu: {{count: 3, start_within: 10s, services: {{upload: {{port: 8103, capacity: 4}}}}}}
workload:
  - {{service: upload, rate: 2/s}}
faults:
  - {{at: 2m, action: crash, target: gpu/0}}
properties:
  - {{name: no_dead_in_index, purge_within: 4m}}
  - {{name: no_route_to_dead, route_within: 60s}}
  - {{name: no_missing_provider, visible_within: 60s}}
  - {{name: settles, settle: 5m}}
"""


def crash_run(preset: str, **overrides: object) -> rmasim.RunResult:
    scenario = load_scenario_text(CRASH.format(preset=preset))
    return rmasim.run(scenario.with_overrides(overrides) if overrides else scenario)


def verdicts(result: rmasim.RunResult) -> dict[str, object]:
    return {p.name: p for p in result.properties}


def crashed_ids(result: rmasim.RunResult) -> list[str]:
    row = result.events[result.events.kind == "crash"].iloc[0]
    assert row.t == CRASH_AT and row.machine == "gpu/0"
    return row.worker_ids.split(",")


@pytest.fixture(scope="module")
def baseline() -> rmasim.RunResult:
    return crash_run("baseline")


@pytest.fixture(scope="module")
def reference() -> rmasim.RunResult:
    return crash_run("reference")


# --- hand-made histories ----------------------------------------------------------------------------------


def test_dead_spans_end_when_a_later_incarnation_is_issued_the_same_id():
    events = [
        MachineEvent(1.0, "register", "m/0", 1, ("a",)),
        MachineEvent(10.0, "crash", "m/0", 1, ("a",)),
        MachineEvent(30.0, "start", "m/0", 2, ()),
        MachineEvent(31.0, "register", "m/0", 2, ("a",)),
        MachineEvent(50.0, "stop", "m/0", 2, ("a",)),
        MachineEvent(51.0, "exit", "m/0", 2, ("a",)),
    ]
    assert dead_spans(_obs(events=events)) == {"a": [(10.0, 31.0), (50.0, float("inf"))]}


def test_first_overlap_needs_a_positive_time_and_a_hand_over_at_one_instant_is_none():
    hand_over = [(0.0, 1, "a"), (5.0, -1, "a"), (5.0, 1, "b")]
    assert first_overlap(hand_over, 100.0) is None
    assert first_overlap([(0.0, 1, "a"), (7.0, 1, "b"), (9.0, -1, "a")], 100.0) == (7.0, ["a", "b"])
    assert first_overlap([(0.0, 1, "a"), (100.0, 1, "b")], 100.0) is None  # at the end: no time left


def test_last_heal_is_the_latest_end_of_a_fault():
    scenario = load_scenario_text(
        """\
name: heal
duration: 1h
fleet: {gpu: {count: 2, services: {upload: {}}}}
faults:
  - {at: 1m, action: crash, target: gpu/0}
  - {at: 2m, action: partition, target: gpu/1, duration: 3m}
  - {at: 4m, action: restart, target: gpu/0, down_for: 30s}
  - {at: 1m, action: crash_loop, target: gpu/1, every: 1m, times: 5}
"""
    )
    assert last_heal(scenario.faults) == max(60.0, 120.0 + 180.0, 240.0 + 30.0, 60.0 + 5 * 60.0)
    assert last_heal([]) == 0.0
    policy = scenario.policy
    assert settle_time(scenario) == (
        max(policy.offline_after, policy.purge_after) + policy.sweep_interval + 60.0 + policy.heartbeat_interval
    )


def test_a_provider_never_listed_is_missing_from_its_registration_and_a_purged_one_is_silent():
    """Worker ``a`` registered ``upload`` at 12 s and is never listed: missing since 12 s, so with 60 s allowed the
    property is violated at 72 s. Worker ``b`` was purged by the sweeper after it registered: silent, not lost."""
    spec = NoMissingProvider.Params(visible_within="60s")
    judge = NoMissingProvider(spec, scenario=None)
    snapshot = SimpleNamespace(index={"upload": ["c"]}, workers={})
    serving = {"a": frozenset({"upload"}), "b": frozenset({"upload"}), "c": frozenset({"upload"})}
    registered = {"a": (12.0, frozenset({"upload"})), "b": (2.0, frozenset({"upload"})), "c": (1.0, frozenset())}
    for t in range(5, 200, 5):
        judge.sample(SampleView(float(t), snapshot, serving, registered))
    events = [MachineEvent(0.0, "register", "m/0", 1, ("a",)), MachineEvent(0.0, "register", "m/1", 1, ("b",))]
    result = judge.check(_obs(events=events, purges=[(40.0, ("b",), ("b",))]))
    assert (result.violated_at, result.entities) == (12.0 + 60.0, ("a", "m/0"))
    assert judge.check(_obs(purges=[(40.0, ("a", "b"), ("a", "b"))])).holds  # both purged before their bound


def _obs(events: list[MachineEvent] | None = None, purges: list | None = None) -> Observations:
    return Observations(
        duration=200.0, warmup=0.0, samples=[], requests=None, events=events or [], index_changes=[], kv_stats=None,
        purges=purges or [],
    )  # fmt: skip


# --- the scenario section ---------------------------------------------------------------------------------


def test_every_listed_property_is_registered_with_a_kind():
    judged = [name for name, cls in PROPERTIES.items() if cls.kind != "sometimes"]  # sometimes: never in the set
    assert [p["name"] for p in DEFAULT_PROPERTIES] == judged
    assert {cls.kind for cls in PROPERTIES.values()} == {"safety", "liveness", "sometimes"}
    assert [s.name for s in default_properties()] == judged


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        ("{name: single_leadr}", "properties.0.name", "unknown property 'single_leadr'; known: no_dead_in_index"),
        ("{name: no_dead_in_index, purge_within: soon}", "properties.0.purge_within", "invalid duration 'soon'"),
        ("{name: no_dead_in_index, purge_within: 0s}", "properties.0.purge_within", "greater than 0s"),
        ("{name: settles, setle: 1m}", "properties.0.setle", "unknown field"),
        ("{purge_within: 1m}", "properties.0", "a property needs a `name`"),
        ("single_leader", "properties.0", "expected a mapping"),
    ],
)
def test_a_bad_entry_is_one_located_problem(entry, field, message):
    text = f"name: bad\nduration: 10m\nfleet: {{gpu: {{services: {{upload: {{}}}}}}}}\nproperties:\n  - {entry}\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "bad.yaml")
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.field) == ("bad.yaml", 5, field), str(problem)
    assert message in problem.message, problem.message


def test_a_property_listed_twice_is_refused_at_its_second_entry():
    text = "name: bad\nduration: 10m\nfleet: {gpu: {services: {upload: {}}}}\nproperties:\n"
    text += "  - {name: single_leader}\n  - {name: single_leader}\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "bad.yaml")
    assert [(p.line, p.field) for p in info.value.problems] == [(6, "properties.1.name")]


def test_a_scenario_without_properties_judges_none_and_adds_no_key():
    text = CRASH.format(preset="baseline").split("properties:")[0]
    result = rmasim.run(load_scenario_text(text).with_overrides({"duration": "3m"}))
    assert result.properties == []
    assert not [k for k in result.summary if k.startswith("property.")]
    assert "properties" not in result.scenario.model_dump(mode="json")  # the resolved scenario is unchanged too
    asked = rmasim.run(load_scenario_text(text).with_overrides({"duration": "3m"}), properties=default_properties())
    assert sorted(k for k in asked.summary if k.startswith("property.")) == sorted(
        f"property.{name}.violated_at" for name, cls in PROPERTIES.items() if cls.kind != "sometimes"
    )
    assert {k: v for k, v in asked.summary.items() if not k.startswith("property.")} == result.summary


# --- judged from the model --------------------------------------------------------------------------------


def test_baseline_keeps_the_crashed_worker_listed_past_purge_within(baseline):
    verdict = verdicts(baseline)["no_dead_in_index"]
    ids = crashed_ids(baseline)
    assert verdict.violated_at == CRASH_AT + PURGE_WITHIN
    assert verdict.entities == (*[x for w in sorted(ids) for x in (w, "gpu/0")],)
    assert baseline.summary["property.no_dead_in_index.violated_at"] == CRASH_AT + PURGE_WITHIN
    assert not baseline.passed


def test_a_tighter_bound_moves_the_violation_with_it():
    result = crash_run("baseline", **{"properties.0.purge_within": "90s"})
    assert verdicts(result)["no_dead_in_index"].violated_at == CRASH_AT + 90.0


def test_baseline_forwards_to_the_dead_machine_after_route_within(baseline):
    verdict = verdicts(baseline)["no_route_to_dead"]
    assert CRASH_AT + ROUTE_WITHIN < verdict.violated_at < CRASH_AT + ROUTE_WITHIN + 30.0
    assert verdict.entities[0] == "gpu/0" and set(verdict.entities[1:]) == set(crashed_ids(baseline))


def test_baseline_has_not_settled_after_the_crash(baseline):
    """A crash is over at once: the window opens at its ``at`` + ``settle``, a sample time, where the dead entry
    is still listed."""
    verdict = verdicts(baseline)["settles"]
    assert verdict.kind == "liveness" and verdict.violated_at == CRASH_AT + SETTLE
    assert set(crashed_ids(baseline)) <= set(verdict.entities)


def test_reference_holds_every_property_of_the_crash(reference):
    assert [(p.name, p.violated_at, p.checked) for p in reference.properties] == [
        ("no_dead_in_index", None, True),
        ("no_route_to_dead", None, True),
        ("no_missing_provider", None, True),
        ("settles", None, True),
    ]
    assert reference.passed
    assert {k: v for k, v in reference.summary.items() if k.startswith("property.")} == {
        f"property.{p.name}.violated_at": None for p in reference.properties
    }


def test_a_liveness_window_after_the_end_is_not_checked_and_not_a_failure():
    result = crash_run("reference", **{"properties.3.settle": "9m"})
    settles = verdicts(result)["settles"]
    assert (settles.checked, settles.violated_at) == (False, None)
    assert "not checked" in settles.detail


@pytest.mark.parametrize("seed", range(4))
def test_single_leader_agrees_with_the_leader_checker(seed):
    """Six boxes boot within 200 ms on three edges (flaw #3's race): the property is violated exactly when the
    leader checker saw two believers at once (warmup 0, so both look at the whole run)."""
    text = f"""\
name: leader_race_small
seed: {seed}
duration: 2m
coordinator: {{preset: baseline, edges: 3}}
fleet:
  gpu: {{count: 6, start_within: 200ms, services: {{upload: {{port: 8103}}}}}}
properties:
  - {{name: single_leader}}
"""
    result = rmasim.run(load_scenario_text(text))
    verdict = verdicts(result)["single_leader"]
    assert verdict.holds == (result.summary["leader.max_concurrent"] <= 1)
    if not verdict.holds:
        assert verdict.violated_at < 120.0 and len(verdict.entities) >= 4  # two ids, each with its machine


# --- the command line -------------------------------------------------------------------------------------

runner = CliRunner()


def test_a_violated_property_exits_1_with_its_row_and_artifacts(tmp_path):
    path = tmp_path / "crash.yaml"
    path.write_text(CRASH.format(preset="baseline"))
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    at = f"{CRASH_AT + PURGE_WITHIN:g}"
    assert f"property violated: no_dead_in_index at {at} s: " in result.output
    verdicts = json.loads((tmp_path / "out" / "properties.json").read_text())
    first = min((v for v in verdicts if v["violated_at"] is not None), key=lambda v: v["violated_at"])
    assert ": FAIL - " in result.output and f"first violation: {first['property']} at " in result.output
    table = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "out"), "--all"])
    assert "VIOLATED" in table.output and "properties" in table.output
    verdict = verdicts[0]
    assert (verdict["property"], verdict["holds"], verdict["violated_at"]) == ("no_dead_in_index", False, 360.0)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["property.no_dead_in_index.violated_at"] == CRASH_AT + PURGE_WITHIN
    replay = runner.invoke(app, ["run", str(tmp_path / "out" / "scenario.yaml"), "--out", str(tmp_path / "again")])
    assert replay.exit_code == 1
    assert (tmp_path / "again" / "summary.json").read_text() == (tmp_path / "out" / "summary.json").read_text()


def test_properties_that_hold_exit_0(tmp_path):
    path = tmp_path / "crash.yaml"
    path.write_text(CRASH.format(preset="reference"))
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output


def test_a_bad_property_exits_2_located(tmp_path):
    path = tmp_path / "crash.yaml"
    text = CRASH.format(preset="baseline").replace("no_route_to_dead, route_within", "no_route_to_dead, route_in")
    path.write_text(text)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "route_in:" in s)
    for verb in ("validate", "run"):
        result = runner.invoke(
            app, [verb, str(path), "--out", str(tmp_path / "o")] if verb == "run" else [verb, str(path)]
        )
        assert result.exit_code == 2, result.output
        assert result.output.startswith(f"{path}:{line}:"), result.output
        assert "properties.1.route_in: unknown field" in result.output
    assert not (tmp_path / "o").exists()


def test_the_documented_example_prints_what_docs_properties_md_shows(tmp_path):
    """docs/properties.md shows the example's violations; the run must print exactly those lines."""
    docs = ROOT / "docs" / "properties.md"
    shown = [line for line in docs.read_text().splitlines() if line.startswith("property violated: ")][:3]
    # (the first example's three lines; the explore and shrink sections below show others)
    example = ROOT / "docs" / "examples" / "properties_crash.yaml"
    result = runner.invoke(app, ["run", str(example), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 1
    printed = " ".join(result.output.split()).replace("property violated:", "\nproperty violated:").split("\n")
    assert [line.strip() for line in printed if line.startswith("property violated:")] == shown
    assert f"at {CRASH_AT + PURGE_WITHIN:g} s" in shown[0]
    again = runner.invoke(app, ["run", str(example), "--set", "coordinator.preset=reference", "--out",
                                str(tmp_path / "ref"), "-q"])  # fmt: skip
    assert again.exit_code == 0, again.output
