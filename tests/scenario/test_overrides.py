import pytest

from rmasim.scenario import Crash, Scenario, ScenarioError, load_scenario, load_scenario_text

BASE = """\
name: base
duration: 30m
fleet:
  gpu:
    count: 3
    services: {upload: {capacity: 4}}
faults:
  - {at: 5m, action: crash, target: gpu/0}
"""


@pytest.fixture
def scenario():
    return load_scenario_text(BASE, source="base.yaml")


def test_overrides_return_a_new_validated_scenario(scenario):
    changed = scenario.with_overrides(
        {"coordinator.edges": 2, "fleet.gpu.count": 5, "faults.0.at": "1m", "kv.cache_ttl": "2m"}
    )
    assert (changed.coordinator.edges, changed.fleet["gpu"].count, changed.faults, changed.kv.cache_ttl) == (
        2,
        5,
        [Crash(at="1m", target="gpu/0")],
        120.0,
    )
    assert (scenario.coordinator.edges, scenario.fleet["gpu"].count, scenario.faults[0].at) == (1, 3, 300.0)


def test_overrides_chain_and_keep_the_source(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_text(BASE)
    scenario = load_scenario(path).with_overrides({"seed": 7}).with_overrides({"coordinator.offline_after": "2m"})
    assert (scenario.seed, scenario.policy.offline_after, scenario.source) == (7, 120.0, str(path))
    assert scenario.locate(("fleet", "gpu", "count")) == (str(path), 5, 12)


def test_override_a_whole_section(scenario):
    changed = scenario.with_overrides({"fleet.cpu": {"count": 1, "services": {"rag": {}}}, "faults": []})
    assert (sorted(changed.fleet), changed.faults) == (["cpu", "gpu"], [])


def test_overrides_on_a_scenario_built_in_python(minimal_data):
    scenario = Scenario.model_validate(minimal_data).with_overrides({"warmup": "1m"})
    assert scenario.warmup == 60.0


@pytest.mark.parametrize(
    ("overrides", "problems"),
    [
        (
            {"coordinator.edges": "abc"},
            [
                "--set coordinator.edges=abc: coordinator.edges: "
                "Input should be a valid integer, unable to parse string as an integer"
            ],
        ),
        ({"coordinator.bogus": 1}, ["--set coordinator.bogus=1: coordinator.bogus: unknown field"]),
        ({"foo.bar": 1}, ["--set foo.bar=1: foo: unknown field"]),
        ({"faults.3.at": "1s"}, ["--set faults.3.at=1s: faults.3.at: faults has 1 item(s): no index 3"]),
        ({"faults.x.at": "1s"}, ["--set faults.x.at=1s: faults.x.at: faults is a list: 'x' is not an index"]),
        ({"name.first": "a"}, ["--set name.first=a: name.first: name is 'base', not a mapping or a list"]),
        (
            {"fleet..count": 1},
            [
                "--set fleet..count=1: fleet..count: invalid override path 'fleet..count': expected dotted names "
                "such as 'fleet.gpu.count'"
            ],
        ),
        (
            {"duration": "1h", "warmup": "2h", "seed": -1},
            [
                "--set seed=-1: seed: Input should be greater than or equal to 0",
                "--set warmup=2h: warmup: warmup (2h) must be shorter than duration (1h)",
            ],
        ),
        (
            {"fleet.gpu.count": 0},
            ["--set fleet.gpu.count=0: fleet.gpu: a group needs at least one machine (count + spares >= 1)"],
        ),
    ],
)
def test_bad_overrides_name_the_override(scenario, overrides, problems):
    with pytest.raises(ScenarioError) as info:
        scenario.with_overrides(overrides)
    assert [str(problem) for problem in info.value.problems] == problems


def test_a_problem_elsewhere_stays_located_in_the_file(scenario):
    with pytest.raises(ScenarioError) as info:
        scenario.with_overrides({"faults.0.target": "gpu/2"}).with_overrides({"fleet.gpu.count": 2})
    assert str(info.value) == (
        "base.yaml:8:37: faults.0.target: no machine gpu/2: group 'gpu' has indexes 0..1 (count 2 + spares 0)"
    )
