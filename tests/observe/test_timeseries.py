"""The run's time series: indexed by time, with the leaders believed and the strong-store calls per interval."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmasim import engine
from rmasim.observe.leader import believers_at
from rmasim.scenario import load_scenario

ROOT = Path(__file__).parent.parent.parent


def test_believers_at_counts_each_agent_once_and_a_change_at_the_time():
    beliefs = [(10.0, 1, "a"), (20.0, 1, "b"), (20.0, 1, "b"), (30.0, -1, "a"), (40.0, -1, "b"), (40.0, -1, "b")]
    assert believers_at(beliefs, [0.0, 10.0, 25.0, 30.0, 40.0]) == [0, 1, 2, 1, 0]


@pytest.fixture(scope="module")
def race():
    scenario = load_scenario(ROOT / "scenarios" / "leader_race.yaml")
    return {p: engine.run(scenario.with_overrides({"coordinator.preset": p})) for p in ("baseline", "reference")}


def test_the_time_series_is_indexed_by_time_and_counts_leaders_and_strong_calls(race):
    result = race["reference"]
    ts = result.timeseries
    assert ts.index.name == "time" and list(ts.index) == list(ts["t"])
    assert ts["leaders"].max() <= max(1, result.summary["leader.max_concurrent"])
    # every call the Durable Object answered falls in one sample interval (the last sample is at the run's end)
    assert ts["t"].iloc[-1] == result.scenario.duration
    assert ts["strong_ops"].sum() == result.summary["strong.requests"]
    baseline = race["baseline"]
    assert baseline.timeseries["strong_ops"].sum() == baseline.summary["strong.requests"] == 0  # KV only


def test_a_run_result_reads_in_one_line(race):
    result = race["baseline"]
    text = repr(result)
    assert "\n" not in text and len(text) < 200
    s = result.summary
    assert text.startswith(f"RunResult(leader_race seed {result.seed}, baseline: ")
    assert f"{int(s['routing.requests']):,} requests, {s['routing.success_rate']:.1%} served" in text
