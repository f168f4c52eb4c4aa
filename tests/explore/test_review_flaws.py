"""The review's flaws, found by a fault search against the baseline, and its Test Case 1 as written.

A small campaign over ``scenarios/explore_baseline.yaml`` (three boxes racing at boot, one or two stops,
crashes or restarts per run, the built-in properties) finds flaws #1-#4 and the lost update as distinct failures,
each shrunk to at most 2 faults and 3 machines, and every shrunk file replays to the same violation in a fresh
process. ``scenarios/review/test_case_1.yaml`` is the review's Test Case 1 with no traffic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import rmasim
from rmasim.explore import Campaign, explore

ROOT = Path(__file__).parent.parent.parent

#: (flaw, the shrunk signature that shows it)
FLAWS = {
    "#1 unregister leaves the index": "no_dead_in_index: stop -> gpu,worker",
    "#2 a crashed worker is never purged": "no_dead_in_index: crash -> gpu,worker",
    "#3 two leaders": "single_leader: no fault -> gpu,worker",
    "#4 a restart under a new id": "no_duplicate_machine: restart -> gpu,worker",
    "lost update": "no_missing_provider: no fault -> gpu,worker",
}


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    scenario = rmasim.load_scenario(ROOT / "scenarios" / "explore_baseline.yaml")
    out = tmp_path_factory.mktemp("explore") / "baseline"
    return explore(Campaign(scenario, seed=0), out, runs=12, jobs=1, shrink=True, shrink_budget=40), out


def test_a_small_baseline_campaign_finds_each_flaw_shrunk_to_two_faults_and_three_machines(campaign):
    result, out = campaign
    assert result.failures, "no violation found"
    shrunk = {s.signature: s for s in result.distinct_shrunk}
    for flaw, signature in FLAWS.items():
        assert signature in shrunk, (flaw, sorted(shrunk))
        raw = shrunk[signature].shrunk.raw
        assert len(raw.get("faults") or []) <= 2, (flaw, raw.get("faults"))
        assert sum(g.get("count", 1) + g.get("spares", 0) for g in raw["fleet"].values()) <= 3, flaw
        assert (out / shrunk[signature].file).is_file()
    leader = shrunk[FLAWS["#3 two leaders"]].shrunk.after
    assert "duty write" in leader.detail and "from a stale leader" in leader.detail and "no duty" not in leader.detail
    assert result.checks and all(c.ok for c in result.checks)  # the self-check: replayed in a fresh process


def test_the_shrunk_restart_replays_with_rmasim_run(campaign, tmp_path):
    from typer.testing import CliRunner

    from rmasim.cli import app

    result, out = campaign
    (s,) = [s for s in result.distinct_shrunk if s.signature == FLAWS["#4 a restart under a new id"]]
    replay = CliRunner().invoke(app, ["run", str(out / s.file), "--out", str(tmp_path / "replay"), "-q"])
    assert replay.exit_code == 1
    assert f"property violated: no_duplicate_machine at {s.shrunk.after.violated_at:g} s" in replay.output
    assert "expectation failed" not in replay.output  # the file's expect lines were for its own faults


@pytest.mark.parametrize("preset", ["baseline", "seed-fixes", "reference"])
def test_review_test_case_1_without_traffic(preset):
    """At the review's check (kill + 90 s) every preset still lists the dead worker; the seed's fixes never
    remove it (Fix #2 cleans only while routing, and nothing is routed); the reference's sweeper does."""
    scenario = rmasim.load_scenario(ROOT / "scenarios" / "review" / "test_case_1.yaml")
    result = rmasim.run(scenario.with_overrides({"coordinator.preset": preset}))
    assert result.passed, [(e.text, e.actual) for e in result.expectations if not e.passed]
    at_check = result.timeseries.set_index("t").loc[120.0 + 90.0]
    assert at_check["dead_entries"] == 2 and result.summary["routing.requests"] == 0
