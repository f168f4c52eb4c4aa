import copy
import io
import pickle

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from rmasim.scenario import (
    FAULT_SPECS,
    PRESETS,
    Crash,
    Exponential,
    LogNormal,
    Policy,
    Restart,
    Scenario,
    ScenarioError,
    load_scenario_text,
    scenario_json_schema,
)

EXAMPLE = """\
name: crash
description: Review Test Case 1
duration: 30m
coordinator: {preset: baseline, edges: 1}
fleet:
  gpu:
    count: 3
    services:
      upload: {port: 8103, capacity: 4, service_time: {dist: exponential, mean: 200ms}}
      rag: {port: 8102, capacity: 2, service_time: {dist: lognormal, median: 500ms, p99: 3s}}
workload:
  - {service: upload, rate: 5/s}
faults:
  - {at: 5m, action: crash, target: gpu/0}
expect:
  - pollution.final > 0
"""


def test_example_scenario():
    scenario = load_scenario_text(EXAMPLE)
    assert (scenario.name, scenario.description, scenario.seed, scenario.duration) == (
        "crash",
        "Review Test Case 1",
        0,
        1800.0,
    )
    gpu = scenario.fleet["gpu"]
    assert (gpu.count, gpu.spares, list(gpu.services)) == (3, 0, ["upload", "rag"])
    assert gpu.services["upload"].service_time == Exponential(mean="200ms")
    assert gpu.services["rag"].service_time == LogNormal(median="500ms", p99="3s")
    assert [(w.service, w.rate, w.start, w.stop) for w in scenario.workload] == [("upload", 5.0, 0.0, None)]
    assert scenario.faults == [Crash(at="5m", target="gpu/0")]
    assert [e.text for e in scenario.expect] == ["pollution.final > 0"]
    assert scenario.policy == Policy()


def test_defaults(minimal_data):
    scenario = Scenario.model_validate(minimal_data)
    assert scenario.model_dump(exclude={"fleet"}) == {
        "name": "minimal",
        "description": "",
        "seed": 0,
        "duration": "10m",
        "warmup": "0s",
        "sample_every": "5s",
        "coordinator": {
            "preset": "baseline",
            "edges": 1,
            "isolates_per_location": 1,
            "location_weights": None,
            "isolate_lifetime": None,
            "registry_view": "index_keys",
            "worker": None,
            **dict.fromkeys(Policy.model_fields),
        },
        "kv": {
            "model": "workers-kv",
            "cache_ttl": "1m",
            "read_latency": {"dist": "lognormal", "median": "10ms", "p99": "50ms"},
            "write_latency": {"dist": "lognormal", "median": "50ms", "p99": "300ms"},
            "same_key_write_limit": "enforce",
            "same_key_write_window": "1s",
            "other_cache_chance": 0.0,
            "caches_per_location": 2,
            "list_page_size": 1000,
            "strong": {
                "read_latency": {"dist": "lognormal", "median": "20ms", "p99": "100ms"},
                "write_latency": {"dist": "lognormal", "median": "25ms", "p99": "120ms"},
            },
        },
        "network": {
            "latency": {"dist": "lognormal", "median": "20ms", "p99": "80ms"},
            "loss": 0.0,
            "connect_timeout": "15s",
        },
        "workload": [],
        "faults": [],
        "dns": {"records": {}, "rebinding": {}, "latency": "1ms"},
        "phases": {},
        "expect": [],
    }
    assert scenario.fleet["gpu"].model_dump() == {
        "count": 2,
        "spares": 0,
        "start_at": "0s",
        "start_within": None,
        "speed": 1.0,
        "speeds": None,
        "memory_gb": 16.0,
        "clock": {"offset": "0s", "drift": 0.0},
        "services": {
            "upload": {
                "port": None,
                "capacity": 1,
                "service_time": {"dist": "exponential", "mean": "100ms"},
                "version": "1.0",
            }
        },
    }


def test_dump_round_trips_and_pickles():
    scenario = load_scenario_text(EXAMPLE + "kv: {read_latency: 5ms}\n")
    assert Scenario.model_validate(scenario.model_dump()) == scenario
    assert pickle.loads(pickle.dumps(scenario)) == scenario
    assert pickle.loads(pickle.dumps(scenario)).locate(("faults", 0, "target")) == ("<string>", 14, 37)


def test_models_are_frozen(minimal_data):
    scenario = Scenario.model_validate(minimal_data)
    with pytest.raises(ValidationError, match="frozen"):
        scenario.seed = 3


def test_validation_collects_every_field_problem(minimal_data):
    data = copy.deepcopy(minimal_data)
    data.update(seed=-1, sample_every="0s", kv={"cache_ttl": "10s", "loss": 0.1}, network={"loss": 2})
    with pytest.raises(ValidationError) as info:
        Scenario.model_validate(data)
    assert [(e["loc"], e["msg"]) for e in info.value.errors()] == [
        (("seed",), "Input should be greater than or equal to 0"),
        (("sample_every",), "Value error, a duration must be greater than 0s"),
        (("kv", "cache_ttl"), "Value error, Workers KV minimum cacheTtl is 30s (got 10s)"),
        (("kv", "loss"), "Extra inputs are not permitted"),
        (("network", "loss"), "Input should be less than or equal to 1"),
    ]


@pytest.mark.parametrize(
    ("patch", "problem"),
    [
        ({"fleet": {}}, "fleet: Dictionary should have at least 1 item after validation, not 0"),
        ({"fleet": {"gpu": {"services": {}}}}, "fleet.gpu.services: Dictionary should have at least 1 item"),
        ({"fleet": {"gpu": {"count": 0, "services": {"a": {}}}}}, "fleet.gpu: a group needs at least one machine"),
        ({"fleet": {"gpu": {"services": {"Up": {}}}}}, "fleet.gpu.services.Up: String should match pattern"),
        ({"fleet": {"g": {"clock": {"drift": 1}, "services": {"a": {}}}}}, "fleet.g.clock.drift: Input should be"),
        ({"coordinator": {"edges": 0}}, "coordinator.edges: Input should be greater than or equal to 1"),
        ({"coordinator": {"preset": "nope"}}, "coordinator.preset: unknown preset 'nope'; known presets: baseline"),
        ({"coordinator": {"offline_after": "0s"}}, "coordinator.offline_after: a duration must be greater than 0s"),
        ({"kv": {"model": "redis"}}, "kv.model: Input should be 'workers-kv' or 'strong'"),
        ({"kv": {"list_page_size": 1001}}, "kv.list_page_size: Input should be less than or equal to 1000"),
        ({"warmup": "10m"}, "warmup: warmup (10m) must be shorter than duration (10m)"),
        ({"workload": [{"service": "upload", "rate": "1/s", "start": "2m", "stop": "2m"}]}, "stop (2m) must be"),
        ({"workload": [{"service": "rag", "rate": "1/s"}]}, "workload.0.service: no fleet group runs service"),
        ({"faults": [{"action": "crash", "at": "1s", "target": "gpu/2"}]}, "faults.0.target: no machine gpu/2"),
        ({"faults": [{"action": "crash", "at": "1s", "target": "cpu/*"}]}, "faults.0.target: unknown group 'cpu'"),
        ({"expect": ["x ~ 1"]}, "expect.0: invalid expectation 'x ~ 1'"),
        ({"name": ""}, "name: '' is not a valid name: it names the report directory reports/<name>/"),
    ],
)
def test_rules(minimal_data, patch, problem):
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(_yaml(minimal_data | patch))
    assert [problem in str(p) for p in info.value.problems] == [True]


def test_star_target_and_spares_are_valid(minimal_data):
    data = minimal_data | {
        "faults": [
            {"action": "restart", "at": "1m", "target": "gpu/*", "down_for": "10s"},
            {"action": "start", "at": "2m", "target": "gpu/2"},
        ]
    }
    data["fleet"]["gpu"]["spares"] = 1
    scenario = Scenario.model_validate(data)
    assert scenario.faults[0] == Restart(at="1m", target="gpu/*", down_for="10s")
    assert scenario.faults[0].machines(scenario.fleet) == [("gpu", 0), ("gpu", 1), ("gpu", 2)]


def test_json_schema():
    schema = scenario_json_schema()
    assert schema["title"] == "rmasim scenario"
    assert schema["required"] == ["name", "duration", "fleet"]
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["CoordinatorConfig"]["properties"]["preset"]["enum"] == list(PRESETS)
    assert set(schema["$defs"]["CoordinatorConfig"]["properties"]) == {
        "preset",
        "edges",
        "isolates_per_location",
        "location_weights",
        "isolate_lifetime",
        "registry_view",
        "worker",
        *Policy.model_fields,
    }
    faults = schema["properties"]["faults"]["items"]
    assert sorted(faults["discriminator"]["mapping"]) == sorted(FAULT_SPECS)
    assert {"crash", "restart", "start", "stop", "partition", "clock_jump", "kv_outage"} <= set(FAULT_SPECS)
    assert schema["properties"]["duration"]["type"] == "string"


def _yaml(data):
    stream = io.StringIO()
    YAML().dump(data, stream)
    return stream.getvalue()


PER_PRESET = """\
expect:
  all:
    - routing.success_rate > 0
  baseline:
    - pollution.final > 0
  reference:
    - pollution.final == 0
    - registry.loss.max == 0
"""


def test_expect_per_preset_selects_the_lines_of_the_running_preset(minimal_yaml):
    scenario = load_scenario_text(minimal_yaml + PER_PRESET)
    assert [e.text for e in scenario.expectations()] == ["routing.success_rate > 0", "pollution.final > 0"]
    reference = scenario.with_overrides({"coordinator.preset": "reference"})
    assert [e.text for e in reference.expectations()] == [
        "routing.success_rate > 0",
        "pollution.final == 0",
        "registry.loss.max == 0",
    ]
    assert [e.text for e in scenario.with_overrides({"coordinator.preset": "seed-fixes"}).expectations()] == [
        "routing.success_rate > 0"
    ]
    assert [path for path, _ in scenario.all_expectations()][-1] == ("expect", "reference", 1)


def test_a_bad_line_in_a_preset_list_is_located(minimal_yaml):
    text = minimal_yaml + "expect:\n  reference:\n    - pollution.final == 0\n    - pollution.final ~ 0\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, source="s.yaml")
    [problem] = info.value.problems
    assert (problem.line, problem.field) == (11, "expect.reference.1")  # minimal_yaml is 7 lines
    assert "invalid expectation 'pollution.final ~ 0'" in problem.message


def test_expect_must_be_a_list_or_a_mapping(minimal_yaml):
    with pytest.raises(ScenarioError, match="expected a list of expectations, or a mapping"):
        load_scenario_text(minimal_yaml + "expect: pollution.final == 0\n")
