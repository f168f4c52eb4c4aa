"""Every problem of a file in one pass: checks across sections run even when the section they read is invalid."""

import pytest

from rmasim.scenario import Crash, GroupConfig, ScenarioError, load_scenario_text, register_names
from rmasim.scenario.names import unknown_name

FOUR = """\
name: four
duration: 10m
fleet:
  gpu:
    count: 2
    services:
      upload: {capacity: 0}
faults:
  - {at: 1m, action: crash, target: cpu/0}
phases:
  canary: {start: 1m, end: 20m}
expect:
  - routing.sucess_rate > 0.9
"""


def problems(text, source="s.yaml"):
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, source=source)
    return [str(problem) for problem in info.value.problems]


def test_a_file_with_four_problems_reports_all_four():
    # Before: the capacity hid the fault target (fleet invalid), the phase and the expect key waited for the
    # engine's check: 2, then 1, then 1 over three rounds.
    assert problems(FOUR) == [
        "s.yaml:7:26: fleet.gpu.services.upload.capacity: Input should be greater than or equal to 1",
        "s.yaml:9:37: faults.0.target: unknown group 'cpu'; fleet groups: gpu",
        "s.yaml:11:28: phases.canary.end: end (20m) is after the run's duration (10m)",
        "s.yaml:13:5: expect.0: unknown summary key 'routing.sucess_rate'",
    ]


def test_references_into_invalid_sections_are_still_checked():
    text = """\
name: refs
duration: 10m
coordinator: {edges: 2, retries: many}
fleet:
  gpu: {count: 2, spares: 1, memory_gb: 0, services: {upload: {}}}
  cpu: {count: x, services: {rag: {}}}
workload:
  - {service: upload, rate: 1/s}
  - {service: uplaod, rate: fast}
  - {service: rag, rate: 1/s, start: 10m}
faults:
  - {at: 1m, action: crash, target: gpu/3}
  - {at: 1m, action: crash, target: cpu/99}
  - {at: 11m, action: crash, target: gpu/0, bogus: 1}
  - {at: 2m, action: clock_jump, edge: 2, delta: 5s}
  - {at: 2m, action: service_crash, target: gpu/0, service: rag}
  - {at: 10m, action: kv_outage, duration: 1m}
"""
    assert problems(text) == [
        "s.yaml:3:34: coordinator.retries: Input should be a valid integer, unable to parse string as an integer",
        "s.yaml:5:41: fleet.gpu.memory_gb: Input should be greater than 0",
        "s.yaml:6:16: fleet.cpu.count: Input should be a valid integer, unable to parse string as an integer",
        "s.yaml:9:15: workload.1.service: no fleet group runs service 'uplaod'; known: rag, upload",
        "s.yaml:9:29: workload.1.rate: invalid rate 'fast': use a number per unit of time, e.g. '20/s' or '3/m'",
        "s.yaml:10:38: workload.2.start: start (10m) is not before the end of the run (duration 10m): the traffic "
        "would never start",
        "s.yaml:12:37: faults.0.target: no machine gpu/3: group 'gpu' has indexes 0..2 (count 2 + spares 1)",
        # cpu/99 is not checked: the cpu group's count is itself invalid (reported above)
        # a fault whose own fields fail is not checked against the run (its `at` of 11m): the model stops there
        "s.yaml:14:45: faults.2.bogus: unknown field",
        "s.yaml:15:40: faults.3.edge: no edge 2: coordinator.edges is 2 (indexes 0..1)",
        "s.yaml:16:61: faults.4.service: group 'gpu' runs no 'rag'; it runs upload",
        "s.yaml:17:10: faults.5.at: at 10m is not before the end of the run (duration 10m): the fault would never "
        "happen",
    ]


def test_a_check_is_skipped_only_where_what_it_reads_is_invalid():
    text = """\
name: skip
duration: ten minutes
coordinator: {edges: 0}
fleet: {gpu: {services: {upload: {}}}}
faults:
  - {at: 1h, action: crash, target: gpu/0}
  - {at: 1m, action: clock_jump, edge: 5, delta: 5s}
  - {at: 1m, action: crash, target: tpu/0}
"""
    assert problems(text) == [
        "s.yaml:2:11: duration: invalid duration 'ten minutes': use a number and a unit (ms, s, m, h, d), e.g. '30s'",
        "s.yaml:3:22: coordinator.edges: Input should be greater than or equal to 1",
        "s.yaml:8:37: faults.2.target: unknown group 'tpu'; fleet groups: gpu",
    ]


def test_unknown_balancer_is_reported_with_the_other_problems():
    text = FOUR.replace("name: four\n", "name: four\ncoordinator: {balancer: rando}\n")
    found = problems(text)
    assert len(found) == 5
    assert found[0].startswith("s.yaml:2:25: coordinator.balancer: unknown balancer 'rando'; known: random, ")


def test_a_fault_after_the_end_of_an_overridden_run_is_located_in_the_file():
    text = "name: o\nduration: 10m\nfleet: {gpu: {services: {upload: {}}}}\n"
    text += "faults:\n  - {at: 1m, action: crash, target: gpu/0}\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "s.yaml").with_overrides({"duration": "30s"})
    assert [str(p) for p in info.value.problems] == [
        "s.yaml:5:10: faults.0.at: at 1m is not before the end of the run (duration 30s): the fault would never happen"
    ]


def test_fault_problems_take_the_duration():
    fleet = {"gpu": GroupConfig.model_validate({"count": 1, "services": {"upload": {}}})}
    crash = Crash(at="10m", target="gpu/1")
    assert crash.problems(fleet, 1, 600.0) == [
        ("at", "at 10m is not before the end of the run (duration 10m): the fault would never happen"),
        ("target", "no machine gpu/1: group 'gpu' has indexes 0..0 (count 1 + spares 0)"),
    ]
    assert crash.problems(None, None, None) == []  # nothing known, nothing to check


def test_a_name_lookup_registered_by_a_higher_layer():
    assert unknown_name("widget", "w") is None  # no lookup: not checked here
    register_names("widget", {"a", "b"}.__contains__, lambda: ["a", "b"])
    try:
        assert (unknown_name("widget", "a"), unknown_name("widget", "c")) == (None, "unknown widget 'c'; known: a, b")
    finally:
        from rmasim.scenario import names

        del names._LOOKUPS["widget"]
