"""What a run says first: the verdict line, the narrative from its events, the headline keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmasim import engine
from rmasim.observe.properties import default_properties
from rmasim.report.narrative import HEADLINE_LIMIT, clock, headline_keys, plural, story
from rmasim.scenario import load_scenario

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture(scope="module")
def crash_runs():
    scenario = load_scenario(ROOT / "scenarios" / "crash.yaml")
    return {p: engine.run(scenario.with_overrides({"coordinator.preset": p})) for p in ("baseline", "reference")}


def test_clock_and_plural():
    assert [clock(42.04), clock(300.0), clock(3900.4)] == ["42.0s", "5m00s", "1h05m00s"]
    assert [plural(1, "request"), plural(1476, "request"), plural(2, "entry", "entries")] == [
        "1 request",
        "1,476 requests",
        "2 entries",
    ]


def test_the_crash_is_told_with_what_the_clients_paid(crash_runs):
    """The dead machine's requests are counted from the request log, and each waited the connect timeout."""
    result = crash_runs["baseline"]
    told = story(result)
    rate, requests = result.summary["routing.success_rate"], result.summary["routing.requests"]
    assert told.verdict.startswith("crash seed 1 (baseline): PASS")
    assert f"{rate:.1%} of {requests:,} requests served" in told.verdict
    crash = next(s for s in told.narrative if s.startswith("gpu/0 crashed at 5m00s and stayed down"))
    after = result.requests[result.requests["t_arrival"] >= 300.0]
    dead = after[after["target"] == "gpu/0"]
    assert len(dead) == result.summary["routing.failures.dead_target"] > 0
    assert f"{len(dead):,} requests ({len(dead) / len(after):.0%} of those arriving meanwhile)" in crash
    timeout = result.scenario.network.connect_timeout
    assert f"each waiting {timeout:.1f} s on average" in crash and crash.endswith("until the end of the run.")
    pollution = result.summary["pollution.final"]
    assert any(s.startswith("At the end, 2 index entries pointed at dead workers") and f"{pollution:.3f}" in s
               for s in told.narrative)  # fmt: skip


def test_the_reference_says_the_crashed_worker_left_the_index(crash_runs):
    result = crash_runs["reference"]
    told = story(result)
    assert "gpu/0 crashed at 5m00s and stayed down." in told.narrative
    slowest = result.summary["purge.time_max"]
    assert f"Every crashed worker left the index, the slowest after {slowest:.0f} s (purge.time_max)." in told.narrative
    assert not any("failed:" in s for s in told.narrative)  # every request served: no failure sentence


def test_headline_keys_start_with_what_the_scenario_expects(crash_runs):
    result = crash_runs["baseline"]
    named = list(dict.fromkeys(e.key for _, e in result.scenario.all_expectations()))
    keys = headline_keys(result)
    assert keys[: len(named)] == named[:HEADLINE_LIMIT] and len(keys) <= HEADLINE_LIMIT
    assert "routing.success_rate" in keys and len(keys) == len(set(keys))


def test_the_first_violation_is_in_the_verdict():
    scenario = load_scenario(ROOT / "scenarios" / "crash.yaml")
    result = engine.run(scenario, properties=default_properties())
    violated = sorted((p for p in result.properties if not p.holds), key=lambda p: p.violated_at)
    assert violated, "the baseline leaves the crashed worker in the index: no_dead_in_index must fail"
    first = violated[0]
    verdict = story(result).verdict
    assert ": FAIL - " in verdict and f"first violation: {first.name} at {clock(first.violated_at)}" in verdict
