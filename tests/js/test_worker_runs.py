"""End to end: the reviewed coordinator in JavaScript (workers/baseline) on the crash scenario."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rmasim

ROOT = Path(__file__).parent.parent.parent
BASELINE = ROOT / "workers" / "baseline" / "wrangler.toml"
SHORT = {"duration": "6m"}  # the crash is at 5 m: a minute of traffic to a dead worker


@pytest.fixture(scope="module")
def crash() -> rmasim.Scenario:
    return rmasim.load_scenario(ROOT / "scenarios" / "crash.yaml").with_overrides(SHORT)


@pytest.fixture(scope="module")
def worker_runs(crash):
    scenario = crash.with_overrides({"coordinator.worker": str(BASELINE)})
    return rmasim.run(scenario), rmasim.run(scenario)


def test_the_javascript_baseline_shows_flaws_1_and_2(worker_runs):
    result = worker_runs[0]
    summary = result.summary
    assert summary["pollution.final"] > 0
    assert summary["purge.never"] >= 1
    assert summary["routing.failures.dead_target"] > 0
    assert result.passed, [e for e in result.expectations if not e.passed]


def test_same_seed_same_summary(worker_runs):
    first, second = (json.dumps(r.summary, sort_keys=True) for r in worker_runs)
    assert first == second


def test_the_python_and_javascript_baselines_agree(crash, worker_runs):
    """Both issue the same operations in the same order (same reads, writes, draws): the summaries are equal."""
    python = rmasim.run(crash).summary
    javascript = worker_runs[0].summary
    assert {k: (v, javascript.get(k)) for k, v in python.items() if javascript.get(k) != v} == {}


def test_uncaught_exceptions_are_counted_as_coordinator_errors(crash):
    """Each `rag` request is one invocation that throws: a 500 to its client (a coordinator error) and one count
    of ``coordinator.errors``; the baseline itself throws nothing it does not catch."""
    broken = Path(__file__).parent / "workers" / "broken_rag" / "index.js"
    scenario = crash.with_overrides({"coordinator.worker": str(broken), "warmup": "0s", "faults": []})
    summary = rmasim.run(scenario).summary
    rag = summary["service.rag.requests"]
    assert rag > 0 and summary["coordinator.errors"] == rag == summary["routing.failures.coordinator_error"]
    assert rmasim.run(scenario.with_overrides({"coordinator.worker": str(BASELINE)})).summary["coordinator.errors"] == 0
