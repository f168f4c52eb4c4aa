"""Whatever the text, loading it yields a Scenario or a ScenarioError, never another exception."""

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from rmasim.scenario import Scenario, ScenarioError, load_scenario_text

VALID = """\
name: fuzz
duration: 10m
kv: {read_latency: {dist: lognormal, median: 10ms, p99: 50ms}}
fleet:
  gpu: {count: 2, services: {upload: {port: 8103, capacity: 4}}}
workload:
  - {service: upload, rate: 5/s}
faults:
  - {at: 5m, action: restart, target: gpu/1, down_for: 10s}
expect: [pollution.final == 0]
"""
SECTIONS = ["name", "description", "seed", "duration", "warmup", "sample_every", "coordinator", "kv", "network"]
SECTIONS += ["fleet", "workload", "faults", "expect", "gpu", "services", "dist", "action", "target", "count"]
WORDS = ["30s", "5m", "-2s", "10", "gpu/0", "gpu/*", "crash", "lognormal", "x > 0", "1/s", "baseline", ""]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False), st.sampled_from(WORDS), st.text()
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(SECTIONS) | st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=30,
)


def _check(text: str) -> None:
    try:
        result = load_scenario_text(text)
    except ScenarioError as error:
        assert error.problems
        assert all(problem.file == "<string>" for problem in error.problems)
        assert all(problem.line is None or problem.line >= 1 for problem in error.problems)
        str(error)
    else:
        assert isinstance(result, Scenario)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_random_text(text):
    _check(text)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(SECTIONS), VALUES, max_size=8))
def test_random_documents(document):
    stream = io.StringIO()
    YAML().dump(document, stream)
    _check(stream.getvalue())


@settings(max_examples=200)
@given(st.data())
def test_mutated_valid_scenario(data):
    text = VALID
    position = data.draw(st.integers(0, len(text)))
    insert = data.draw(st.sampled_from(["\t", ":", "- ", "{", "]", "\n  ", "&a ", "*a", "x: 1\n", "'", "#"]))
    _check(text[:position] + insert + text[position:])


PATHS = ["seed", "duration", "fleet.gpu.count", "fleet.gpu", "faults.0.at", "faults.0", "faults.5.at", "kv.x"]
PATHS += ["coordinator.edges", "expect.0", "fleet.gpu.services.upload.service_time.mean", "name.x", "workload"]


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(PATHS) | st.text(max_size=12), VALUES, max_size=4))
def test_random_overrides(overrides):
    scenario = load_scenario_text(VALID)
    try:
        result = scenario.with_overrides(overrides)
    except ScenarioError as error:
        assert error.problems
    else:
        assert isinstance(result, Scenario)
