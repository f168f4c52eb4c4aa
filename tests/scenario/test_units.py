import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from rmasim.scenario import (
    Duration,
    PositiveDuration,
    Rate,
    SignedDuration,
    format_duration,
    format_rate,
    parse_duration,
    parse_rate,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("100ms", 0.1),
        ("30s", 30.0),
        ("1.5s", 1.5),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("0s", 0.0),
        ("-2s", -2.0),
        (" 10 s ", 10.0),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30", "a duration needs a unit (ms, s, m, h, d): use e.g. '30s' instead of '30'"),
        (30, "a duration needs a unit (ms, s, m, h, d): use e.g. '30s' instead of 30"),
        ("30 min", "invalid duration '30 min': use a number and a unit (ms, s, m, h, d), e.g. '30s'"),
        ("1e3s", "invalid duration '1e3s'"),
        ("s", "invalid duration 's'"),
        ("", "invalid duration ''"),
        (True, "expected a duration such as '30s', got bool"),
        (None, "expected a duration such as '30s', got NoneType"),
        ("9" * 400 + "d", "is too large"),
        ("\uff15m", "invalid duration '\uff15m': write it with ASCII digits 0-9 and a unit, e.g. '30s'"),
        ("\u0663s", "invalid duration '\u0663s': write it with ASCII digits 0-9 and a unit, e.g. '30s'"),
        ("\u0663", "invalid duration '\u0663': write it with ASCII digits 0-9 and a unit, e.g. '30s'"),
    ],
)
def test_parse_duration_refuses(text, message):
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "rate"),
    [("20/s", 20.0), ("3/m", 0.05), ("10/h", 10 / 3600), ("0.5/s", 0.5), ("1/d", 1 / 86400), ("0/s", 0.0)],
)
def test_parse_rate(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("20", "a rate needs a unit of time: use e.g. '20/s' or '3/m' instead of '20'"),
        ("5/sec", "invalid rate unit '/sec' in '5/sec': use /s, /m, /h or /d"),
        ("-1/s", "invalid rate '-1/s'"),
        ("fast", "invalid rate 'fast'"),
        ("\uff15/s", "invalid rate '\uff15/s': write it with ASCII digits 0-9 and a unit, e.g. '20/s'"),
    ],
)
def test_parse_rate_refuses(text, message):
    with pytest.raises(ValueError) as info:
        parse_rate(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0s"),
        (0.25, "250ms"),
        (0.1, "100ms"),
        (0.05, "50ms"),
        (1.5, "1500ms"),
        (1.25e-4, "0.125ms"),
        (30.0, "30s"),
        (90.0, "90s"),
        (60.0, "1m"),
        (3600.0, "1h"),
        (5400.0, "90m"),
        (86400.0, "1d"),
        (-2.0, "-2s"),
        (0.0015, "1.5ms"),
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_format_duration_round_trips(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


def test_format_rate():
    assert [format_rate(r) for r in (20.0, 0.05, 10 / 3600, 0.5)] == ["20/s", "3/m", "10/h", "30/m"]


class Knobs(BaseModel):
    duration: Duration = 0.0
    positive: PositiveDuration = 1.0
    signed: SignedDuration = 0.0
    rate: Rate = 0.0


def test_annotated_types_validate_and_dump():
    knobs = Knobs(duration="5m", positive="250ms", signed="-2s", rate="3/m")
    assert (knobs.duration, knobs.positive, knobs.signed, knobs.rate) == (300.0, 0.25, -2.0, 0.05)
    assert knobs.model_dump() == {"duration": "5m", "positive": "250ms", "signed": "-2s", "rate": "3/m"}
    assert Knobs.model_validate(knobs.model_dump()) == knobs


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("duration", "-1s", "a duration must not be negative"),
        ("positive", "0s", "a duration must be greater than 0s"),
        ("rate", "5", "a rate needs a unit of time"),
    ],
)
def test_annotated_types_refuse(field, value, message):
    with pytest.raises(ValidationError) as info:
        Knobs.model_validate({field: value})
    assert [(e["loc"], message in e["msg"]) for e in info.value.errors()] == [((field,), True)]


def test_json_schema_is_a_string_with_a_pattern():
    properties = Knobs.model_json_schema()["properties"]
    assert properties["duration"]["type"] == "string"
    assert properties["duration"]["pattern"] == r"^[0-9]+(?:\.[0-9]+)?(ms|s|m|h|d)$"
    assert properties["signed"]["pattern"].startswith("^[-+]?")
    assert properties["rate"]["pattern"] == r"^[0-9]+(?:\.[0-9]+)?/(s|m|h|d)$"
