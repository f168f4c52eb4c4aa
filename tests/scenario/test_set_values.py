"""``--set`` values are read by the scenario loader's composer, under the same limits as a file."""

import pytest
from ruamel.yaml.error import YAMLError

from rmasim.cli.common import parse_sets
from rmasim.scenario import ScenarioError, YamlLimitError, parse_value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2", 2),
        ("2s", "2s"),
        ("[1, 2s]", [1, "2s"]),
        ("{a: 1}", {"a": 1}),
        ("null", None),
        ("2024-01-01", "2024-01-01"),
    ],
)
def test_values_are_plain_yaml_1_2(text, value):
    assert parse_value(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("&a [*a]", "alias *a is inside its own anchor &a: a recursive structure"),
        ("!!python/object/apply:os.system [x]", "tag !!python/object/apply:os.system is not allowed"),
        ("[" * 100, "nesting deeper than 64 levels"),
        ("x" * 200_000, "longer than 128 KiB (200000 characters)"),
    ],
)
def test_values_breaking_a_limit(text, message):
    with pytest.raises(YamlLimitError) as info:
        parse_value(text)
    assert info.value.message.startswith(message)


def test_text_that_is_not_yaml_is_a_yaml_error():
    with pytest.raises(YAMLError):
        parse_value("[x")


def test_set_options_name_the_option():
    with pytest.raises(ScenarioError) as info:
        parse_sets(["description=&a [*a]", "seed=3", "name", "x=!!set {a}"])
    assert [str(p) for p in info.value.problems] == [
        "--set description=&a [*a]: description: alias *a is inside its own anchor &a: a recursive structure",
        "--set: name: expected KEY=VALUE, e.g. coordinator.edges=2",
        "--set x=!!set {a}: x: tag !!set is not allowed: a scenario is plain YAML 1.2 (mappings, lists, strings, "
        "numbers, true/false, null)",
    ]


def test_set_values_that_are_not_yaml_are_text():
    assert parse_sets(["description=[draft", "coordinator.edges=2", "name="]) == {
        "description": "[draft",
        "coordinator.edges": 2,
        "name": "",
    }
