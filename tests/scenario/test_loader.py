import pytest

from rmasim.scenario import Problem, ScenarioError, load_scenario, load_scenario_text


def problems(text, source="s.yaml"):
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, source=source)
    return [str(problem) for problem in info.value.problems]


def test_load_file(tmp_path, minimal_yaml):
    path = tmp_path / "minimal.yaml"
    path.write_text(minimal_yaml)
    scenario = load_scenario(path)
    assert (scenario.name, scenario.source, scenario.fleet["gpu"].services["upload"].port) == (
        "minimal",
        str(path),
        8103,
    )


def test_text_has_no_source_but_locates(minimal_yaml):
    scenario = load_scenario_text(minimal_yaml)
    assert scenario.source is None
    assert [scenario.locate(p) for p in (("fleet", "gpu", "count"), "fleet.gpu.services.upload.capacity")] == [
        ("<string>", 5, 12),
        ("<string>", 7, 38),
    ]
    # A field left to its default is located at its nearest written ancestor.
    assert scenario.locate(("fleet", "gpu", "spares")) == ("<string>", 5, 5)
    assert scenario.locate(("kv", "cache_ttl")) == ("<string>", 1, 1)


def test_every_problem_at_once():
    text = """\
name: many
duration: 10
bogus: 1
fleet:
  gpu:
    count: -1
    services:
      upload: {capacity: 0, service_time: {dist: uniform, low: 2s, high: 1s}}
faults:
  - {at: 1m, action: crash, target: cpu/0}
"""
    assert problems(text) == [
        "s.yaml:2:11: duration: a duration needs a unit (ms, s, m, h, d): use e.g. '30s' instead of 10",
        "s.yaml:3:1: bogus: unknown field",
        "s.yaml:6:12: fleet.gpu.count: Input should be greater than or equal to 0",
        "s.yaml:8:26: fleet.gpu.services.upload.capacity: Input should be greater than or equal to 1",
        "s.yaml:8:43: fleet.gpu.services.upload.service_time: uniform needs low <= high",
        # checked against the invalid fleet's group names, in the same pass
        "s.yaml:10:37: faults.0.target: unknown group 'cpu'; fleet groups: gpu",
    ]


def test_semantic_problems_are_all_reported():
    text = """\
name: targets
duration: 10m
fleet: {gpu: {count: 2, services: {upload: {}}}}
faults:
  - {at: 1m, action: crash, target: cpu/0}
  - {at: 2m, action: stop, target: gpu/1}
  - {at: 3m, action: start, target: gpu/9}
"""
    assert problems(text) == [
        "s.yaml:5:37: faults.0.target: unknown group 'cpu'; fleet groups: gpu",
        "s.yaml:7:37: faults.2.target: no machine gpu/9: group 'gpu' has indexes 0..1 (count 2 + spares 0)",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "s.yaml:1:1: empty scenario file"),
        ("# only a comment\n", "s.yaml:1:1: empty scenario file"),
        (
            "just a string\n",
            "s.yaml:1:1: the top level must be a mapping of sections (name, duration, fleet, ...), not a str",
        ),
        (
            "a: [1, 2\n",
            "s.yaml:2:1: YAML syntax error: while parsing a flow sequence expected ',' or ']', but got '<stream end>'",
        ),
        (
            "a: 1\n---\nb: 2\n",
            "s.yaml:2:1: YAML syntax error: expected a single document in the stream but found another document",
        ),
        ("a: \x00\n", "s.yaml:1:4: unreadable character: special characters are not allowed"),
        ("a: " + "[" * 100 + "]" * 100 + "\n", "s.yaml:1:68: nesting deeper than 64 levels"),
    ],
)
def test_unloadable_text_is_one_located_problem(text, problem):
    assert problems(text) == [problem]


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems == [Problem(str(path), 1, 1, "", "no such file")]
    assert str(info.value) == f"{path}:1:1: no such file"


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    assert [str(p) for p in info.value.problems] == [f"{tmp_path}:1:1: is a directory, not a scenario file"]


def test_problem_and_error_formatting():
    located = Problem("a.yaml", 3, 5, "fleet.gpu.count", "bad")
    unlocated = Problem("--set seed=x", None, None, "seed", "bad")
    assert [str(located), str(unlocated), str(Problem("a.yaml", 1, 1, "", "empty"))] == [
        "a.yaml:3:5: fleet.gpu.count: bad",
        "--set seed=x: seed: bad",
        "a.yaml:1:1: empty",
    ]
    error = ScenarioError([located, unlocated])
    assert str(error) == "a.yaml:3:5: fleet.gpu.count: bad\n--set seed=x: seed: bad"
    assert error.problems == [located, unlocated]


def test_yaml_1_2_scalars():
    text = """\
name: yes
duration: 1h
seed: 0o17
fleet:
  gpu:
    services:
      upload: {version: 2.0}
"""
    assert problems(text) == ["s.yaml:7:25: fleet.gpu.services.upload.version: Input should be a valid string"]
    scenario = load_scenario_text(text.replace("2.0", '"2.0"'))
    assert (scenario.name, scenario.seed) == ("yes", 15)


def test_merge_keys_and_anchors():
    text = """\
name: merged
duration: 1h
fleet:
  gpu: &group
    count: 2
    services: {upload: {capacity: 2}}
  cpu:
    <<: *group
    count: 1
"""
    scenario = load_scenario_text(text)
    assert [(name, group.count, group.services["upload"].capacity) for name, group in scenario.fleet.items()] == [
        ("gpu", 2, 2),
        ("cpu", 1, 2),
    ]
