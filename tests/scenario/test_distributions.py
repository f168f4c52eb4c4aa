import math

import numpy as np
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from rmasim.scenario import Constant, Dist, Exponential, LogNormal, Uniform

DIST = TypeAdapter(Dist)
N = 200_000


def test_plain_duration_means_constant():
    assert DIST.validate_python("20ms") == Constant(value="20ms")
    assert DIST.validate_python("20ms").value == 0.02


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"dist": "constant", "value": "1s"}, Constant.model_validate({"value": "1s"})),
        ({"dist": "exponential", "mean": "200ms"}, Exponential.model_validate({"mean": "200ms"})),
        ({"dist": "uniform", "low": "1s", "high": "3s"}, Uniform.model_validate({"low": "1s", "high": "3s"})),
        ({"dist": "lognormal", "median": "10ms", "p99": "50ms"}, LogNormal(median="10ms", p99="50ms")),
    ],
)
def test_discriminated_on_dist(data, expected):
    assert DIST.validate_python(data) == expected
    assert DIST.dump_python(expected) == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"dist": "uniform", "low": "3s", "high": "1s"}, "uniform needs low <= high"),
        ({"dist": "lognormal", "median": "50ms", "p99": "10ms"}, "lognormal needs p99 >= median"),
        ({"dist": "exponential", "mean": "0s"}, "a duration must be greater than 0s"),
        ({"dist": "gamma", "mean": "1s"}, "Input tag 'gamma' found using 'dist' does not match"),
        ({"dist": "constant", "value": "1s", "jitter": "1ms"}, "Extra inputs are not permitted"),
        (5, "Input should be a valid dictionary"),
    ],
)
def test_invalid_distributions(data, message):
    with pytest.raises(ValidationError) as info:
        DIST.validate_python(data)
    assert message in str(info.value)


def test_lognormal_parameters():
    dist = LogNormal(median="10ms", p99="50ms")
    assert dist.sigma == pytest.approx(math.log(5) / 2.3263478740408408)
    assert dist.mean == pytest.approx(0.01 * math.exp(dist.sigma**2 / 2))
    draws = dist.sample(np.random.default_rng(7), N)
    assert np.quantile(draws, [0.5, 0.99]) == pytest.approx([0.01, 0.05], rel=0.03)


@pytest.mark.parametrize(
    ("dist", "mean"),
    [
        (Constant(value="20ms"), 0.02),
        (Exponential(mean="200ms"), 0.2),
        (Uniform(low="1s", high="3s"), 2.0),
        (LogNormal(median="500ms", p99="3s"), 0.5 * math.exp((math.log(6) / 2.3263478740408408) ** 2 / 2)),
    ],
)
def test_sample_mean_matches_theory(dist, mean):
    assert dist.mean == pytest.approx(mean)
    draws = dist.sample(np.random.default_rng(42), N)
    assert draws.shape == (N,)
    assert draws.min() >= 0
    standard_error = draws.std() / math.sqrt(N)
    assert abs(draws.mean() - mean) <= 5 * standard_error + 1e-12


def test_same_generator_state_same_draws():
    dist = Exponential(mean="1s")
    first = dist.sample(np.random.default_rng(3), 5)
    second = dist.sample(np.random.default_rng(3), 5)
    assert first.tolist() == second.tolist()


def test_dist_json_schema_accepts_a_string_or_a_tagged_mapping():
    class Holder(BaseModel):
        latency: Dist

    schema = Holder.model_json_schema()
    options = schema["properties"]["latency"]["anyOf"]
    assert options[0]["type"] == "string"
    assert [option.get("$ref") for option in options[1:]] == [
        "#/$defs/Constant",
        "#/$defs/Exponential",
        "#/$defs/Uniform",
        "#/$defs/LogNormal",
    ]
