"""Shrinking a failing run, and the self-check: what the baseline's never-purged crash shrinks to, determinism,
replay from the YAML, a campaign's shrunk failures, a self-check that catches a moved violation."""

from __future__ import annotations

import json

import pytest

import rmasim
from rmasim.explore import Campaign, explore
from rmasim.explore.selfcheck import self_check
from rmasim.explore.shrink import machines_of, shrink, shrunk_yaml
from rmasim.scenario import load_scenario_text, parse_duration

PURGE_WITHIN = 240.0

#: the baseline never purges a crashed worker: gpu/1's crash at 60 s violates no_dead_in_index at 60 s + 240 s;
#: the partition of gpu/2 and the KV outage (both healed long before) are beside the point
CRASH_AND_NOISE = """\
name: shrink_me
seed: 7
duration: 7m
coordinator: {preset: baseline}
fleet:
  gpu: {count: 3, start_within: 10s, services: {upload: {port: 8103, capacity: 4}}}
workload:
  - {service: upload, rate: 1/s}
faults:
  - {action: partition, at: 40s, target: gpu/2, duration: 20s, oneway: true}
  - {action: crash, at: 60s, target: gpu/1}
  - {action: kv_outage, at: 100s, duration: 10s}
properties:
  - {name: no_dead_in_index, purge_within: 240s}
"""


@pytest.fixture(scope="module")
def shrunk():
    return shrink(load_scenario_text(CRASH_AND_NOISE), "no_dead_in_index", floor=60.0)


def test_a_crash_among_irrelevant_faults_shrinks_to_the_crash_alone_on_one_machine(shrunk):
    assert shrunk.before.violated_at == pytest.approx(60 + PURGE_WITHIN, abs=5)
    assert shrunk.raw["faults"] == [{"action": "crash", "at": "60s", "target": "gpu/0"}]
    assert machines_of(shrunk.raw) == 1 and machines_of(shrunk.original) == 3
    assert shrunk.after.property == "no_dead_in_index"
    assert shrunk.after.violated_at == pytest.approx(60 + PURGE_WITHIN, abs=5)
    assert "gpu/0" in shrunk.after.entities
    assert parse_duration(shrunk.raw["duration"]) < 7 * 60  # cut to a little after the violation
    assert shrunk.signature == "no_dead_in_index: crash -> gpu,worker"
    assert shrunk.runs <= 200 and not shrunk.exhausted


def test_shrinking_is_deterministic(shrunk):
    again = shrink(load_scenario_text(CRASH_AND_NOISE), "no_dead_in_index", floor=60.0)
    assert again.raw == shrunk.raw and again.after == shrunk.after and again.steps == shrunk.steps


def test_the_shrunk_yaml_names_the_violation_and_replays_to_it(shrunk, tmp_path):
    text = shrunk_yaml(shrunk, "the test")
    assert f"# violates no_dead_in_index at {shrunk.after.violated_at:.6g} s: " in text
    assert "# shrunk from 3 faults, 3 machines, 7m " in text
    path = tmp_path / "shrunk.yaml"
    path.write_text(text)
    replayed = rmasim.run(rmasim.load_scenario(path))
    (verdict,) = replayed.properties
    assert replayed.seed == 7 and verdict.violated_at == shrunk.after.violated_at


def test_the_budget_bounds_the_candidate_runs():
    bounded = shrink(load_scenario_text(CRASH_AND_NOISE), "no_dead_in_index", max_runs=3)
    assert bounded.runs == 3 and bounded.exhausted


def test_a_scenario_that_does_not_violate_the_property_is_refused():
    with pytest.raises(ValueError, match="does not violate 'no_dead_in_index'"):
        shrink(load_scenario_text(CRASH_AND_NOISE.replace("action: crash", "action: partition, duration: 5s")),
               "no_dead_in_index")  # fmt: skip


def test_the_self_check_passes_on_the_file_and_catches_a_moved_violation(shrunk, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(shrunk_yaml(shrunk))
    moved = tmp_path / "moved.yaml"
    moved.write_text(shrunk_yaml(shrunk).replace("at: 60s", "at: 50s"))  # the crash, so the violation, 10 s earlier
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\n")
    at = shrunk.after.violated_at
    checks = self_check([(good, "no_dead_in_index", at), (moved, "no_dead_in_index", at),
                         (broken, "no_dead_in_index", at)], jobs=2)  # fmt: skip
    assert [c.ok for c in checks] == [True, False, False]
    assert checks[1].replayed == pytest.approx(at - 10, abs=5)
    assert f"expected no_dead_in_index violated at {at!r} s; the replay in a fresh process: violated at" in (
        checks[1].message
    )
    assert "the replay failed" in checks[2].message


CRASH_FLEET = """\
name: explore_crash
duration: 6m
coordinator: {preset: baseline}
fleet:
  gpu: {count: 3, start_within: 10s, services: {upload: {port: 8103, capacity: 4}}}
workload:
  - {service: upload, rate: 1/s}
explore: {kinds: [crash, restart, partition, kv_outage], max_faults: 2, start: 30s, end: 90s}
"""


def test_a_campaign_against_the_baseline_shrinks_its_failures_and_they_pass_the_self_check(tmp_path):
    out = tmp_path / "out"
    result = explore(Campaign(load_scenario_text(CRASH_FLEET), seed=3), out, runs=8, jobs=1, shrink=True)
    assert result.failures and len(result.shrunk) == len(result.failures)
    distinct = result.distinct_shrunk
    assert 0 < len(distinct) <= len(result.failures)
    assert "no_dead_in_index: crash -> gpu,worker" in {s.signature for s in distinct}
    for s in result.shrunk:
        assert len(s.shrunk.raw["faults"]) <= 2 and machines_of(s.shrunk.raw) <= 3
        assert s.shrunk.after.property == s.failure.property
        assert all(parse_duration(f["at"]) >= 30 for f in s.shrunk.raw["faults"])  # not before the window
    assert sorted(p.name for p in (out / "shrunk").glob("*.yaml")) == sorted(s.file[len("shrunk/") :] for s in distinct)
    assert len(result.checks) == len(distinct) and all(c.ok for c in result.checks)
    summary = json.loads((out / "campaign.json").read_text())
    assert summary["distinct_shrunk"] == len(distinct)
    assert summary["self_check"] == {"passed": len(distinct), "failed": []}
