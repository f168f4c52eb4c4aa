import math

import pytest
from pydantic import ValidationError

from rmasim.scenario import Expectation


def parse(text):
    return Expectation.model_validate(text)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("pollution.final > 0", ("pollution.final", ">", 0)),
        ("routing.success_rate < 1", ("routing.success_rate", "<", 1)),
        ("purge.time_max == null", ("purge.time_max", "==", None)),
        ("leader.conflicts != 0", ("leader.conflicts", "!=", 0)),
        ("  load.jain>=0.9 ", ("load.jain", ">=", 0.9)),
        ("kv.writes_per_day <= 1e3", ("kv.writes_per_day", "<=", 1000.0)),
        ("ok == true", ("ok", "==", True)),
        ("x == -2.5", ("x", "==", -2.5)),
    ],
)
def test_parse(text, parts):
    expectation = parse(text)
    assert (expectation.key, expectation.op, expectation.value) == parts
    assert expectation.text == text.strip()
    assert expectation.model_dump() == text.strip()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pollution.final => 0", "invalid expectation 'pollution.final => 0': expected '<summary.key> <op>"),
        ("pollution.final = 0", "invalid expectation"),
        ("pollution.final >", "invalid expectation"),
        ("> 0", "invalid expectation"),
        ("x == maybe", "invalid value 'maybe': expected a number, true, false or null"),
        ("x > null", "null compares only with == or !="),
        (5, "an expectation is a string like 'pollution.final == 0'"),
    ],
)
def test_parse_refuses(text, message):
    with pytest.raises(ValidationError) as info:
        parse(text)
    assert message in str(info.value)


SUMMARY = {"pollution.final": 0.25, "routing.success_rate": 1.0, "purge.time_max": None, "nan": math.nan}


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("pollution.final > 0", (True, 0.25)),
        ("pollution.final == 0", (False, 0.25)),
        ("routing.success_rate < 1", (False, 1.0)),
        ("routing.success_rate >= 1", (True, 1.0)),
        ("purge.time_max == null", (True, None)),
        ("purge.time_max != null", (False, None)),
        ("pollution.final == null", (False, 0.25)),
        ("pollution.final != null", (True, 0.25)),
        ("purge.time_max < 5", (False, None)),
        ("missing.key == null", (False, None)),
        ("missing.key > 0", (False, None)),
    ],
)
def test_check(text, result):
    assert parse(text).check(SUMMARY) == result


def test_check_nan_only_differs():
    assert [parse(f"nan {op} 0").check(SUMMARY)[0] for op in ("==", "!=", "<", ">")] == [False, True, False, False]


def test_check_incomparable_values_fail():
    assert parse("name > 0").check({"name": "abc"}) == (False, "abc")


def test_json_schema_is_a_string():
    assert Expectation.model_json_schema()["type"] == "string"
