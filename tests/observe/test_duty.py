"""Leader duty conflicts and the property no_duplicate_machine: hand-made histories, then whole runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rmasim
from rmasim.observe import CHECKERS, MachineEvent, Observations, RequestLog, SampleView
from rmasim.observe.duty import DutyWrite, duty_writes
from rmasim.observe.properties import PROPERTIES
from rmasim.scenario import load_scenario_text
from rmasim.system import registry_snapshot

ROOT = Path(__file__).parent.parent.parent


def observations(traces: list[Any], duty: bool = True, events: list[MachineEvent] | None = None) -> Observations:
    return Observations(
        duration=600.0, warmup=0.0, samples=[], requests=RequestLog(), events=events or [], index_changes=[],
        kv_stats=None, traces=traces, extra={"leader_duty": duty},
    )  # fmt: skip


def claim(t: float, who: str, token: int | None = None) -> tuple[float, str, str, dict[str, Any]]:
    fields: dict[str, Any] = {"worker_id": who} if token is None else {"worker_id": who, "token": token}
    return (t, "edge/0", "leadership_claimed", fields)


def write(t: float, who: str, token: int | None = None, accepted: bool = True, **more: Any) -> tuple:
    return (t, "edge/0", "leader_duty", {"worker_id": who, "token": token, "accepted": accepted, **more})


# Two naive registrations both claim: a's write of heartbeat_leader is overwritten by b's; both then act.
NAIVE = [claim(1.0, "a"), write(2.0, "a"), claim(3.0, "b"), write(4.0, "b"), write(22.0, "a"), write(24.0, "b"),
         write(42.0, "a", accepted=False, failed=429)]  # fmt: skip


def test_a_write_from_the_holder_the_last_claim_does_not_name_is_a_conflict():
    assert duty_writes(NAIVE) == [
        DutyWrite(2.0, "a", None, True, ("a", None)),
        DutyWrite(4.0, "b", None, True, ("b", None)),
        DutyWrite(22.0, "a", None, True, ("b", None)),
        DutyWrite(24.0, "b", None, True, ("b", None)),
        DutyWrite(42.0, "a", None, False, ("b", None), 429),
    ]
    assert [w.stale for w in duty_writes(NAIVE)] == [False, False, True, False, False]
    assert CHECKERS["leader_duty"].summarize(observations(NAIVE)) == {
        "leader.duty_writes": 4,
        "leader.duty_refused": 0,
        "leader.duty_failed": 1,
        "leader.duty_conflicts": 1,
    }


def test_under_a_lease_the_token_decides_and_a_refusal_is_no_conflict():
    traces = [claim(1.0, "a", 1), write(2.0, "a", 1), claim(20.0, "a", 2), write(21.0, "a", 1), write(22.0, "a", 2),
              claim(40.0, "b", 3), write(41.0, "a", 2, accepted=False), write(42.0, "b", 3)]  # fmt: skip
    assert [w.stale for w in duty_writes(traces)] == [False, True, False, False, False]
    summary = CHECKERS["leader_duty"].summarize(observations(traces))
    assert (summary["leader.duty_writes"], summary["leader.duty_refused"], summary["leader.duty_conflicts"]) == (
        4,
        1,
        1,
    )


def test_no_key_without_the_duty():
    assert CHECKERS["leader_duty"].summarize(observations(NAIVE, duty=False)) == {}


def test_single_leader_names_the_consequence():
    beliefs = [(0.5, "agent/gpu/0", "leadership", {"worker_id": "a", "leader": True}),
               (3.5, "agent/gpu/1", "leadership", {"worker_id": "b", "leader": True})]  # fmt: skip
    traces = sorted(beliefs + NAIVE, key=lambda t: t[0])
    judge = PROPERTIES["single_leader"](PROPERTIES["single_leader"].Params(), None)
    verdict = judge.check(observations(traces))
    assert verdict.violated_at == 3.5
    assert verdict.detail == (
        "2 agents believe they lead: a, b; 1 duty write from a stale leader was accepted (first at 22 s by a)"
    )
    assert judge.check(observations(traces, duty=False)).detail == "2 agents believe they lead: a, b"


# --- no_duplicate_machine --------------------------------------------------------------------------------------


def record(url: str) -> dict[str, Any]:
    return {"tunnel_url": url, "services": []}


def judge_samples(samples: list[tuple[float, dict[str, Any]]], within: str = "60s") -> Any:
    cls = PROPERTIES["no_duplicate_machine"]
    judge = cls(cls.Params.model_validate({"duplicate_within": within}), None)
    for t, workers in samples:
        store = {f"worker:{w}": r for w, r in workers.items()} | {"worker_ids": list(workers)}
        judge.sample(SampleView(t, registry_snapshot(store), {}))
    events = [MachineEvent(0.0, "register", "gpu/0", 1, ("old",)), MachineEvent(30.0, "register", "gpu/0", 2, ("new",))]
    return judge.check(observations([], events=events))


def test_two_records_of_one_machine_longer_than_the_bound_violate_at_start_plus_bound():
    one, two = {"old": record("u0")}, {"old": record("u0"), "new": record("u0"), "x": record("u1")}
    samples = [(t, one) for t in (0.0, 25.0)] + [(t, two) for t in range(30, 120, 5)]
    verdict = judge_samples(samples)
    assert (verdict.violated_at, verdict.entities) == (90.0, ("gpu/0", "new", "old"))
    assert verdict.detail == "gpu/0 has 2 worker records (new, old) longer than 60 s"


def test_a_spell_that_ends_within_the_bound_holds():
    one, two = {"new": record("u0")}, {"old": record("u0"), "new": record("u0")}
    samples = [(t, two) for t in range(30, 90, 5)] + [(90.0, one), (95.0, two), (150.0, two)]
    assert judge_samples(samples).holds  # 30..85 s: 55 s; 95..150 s: 55 s
    assert not judge_samples([*samples, (160.0, two)]).holds  # 95 s + 60 s passed at 160 s


@pytest.mark.parametrize(("preset", "duplicated"), [("baseline", True), ("seed-fixes", False), ("reference", False)])
def test_a_restart_under_a_new_id_leaves_a_duplicate_only_without_a_stable_identity(preset, duplicated):
    text = """
name: restart
seed: 1
duration: 8m
sample_every: 5s
coordinator: {edges: 1}
fleet: {gpu: {count: 1, services: {upload: {port: 8103}}}}
faults: [{at: 30s, action: restart, target: gpu/0, down_for: 5s}]
properties: [{name: no_duplicate_machine, duplicate_within: 4m}]
"""
    scenario = load_scenario_text(text)
    result = rmasim.run(scenario.with_overrides({"coordinator.preset": preset}))
    (verdict,) = result.properties
    assert verdict.holds is not duplicated
    if duplicated:
        assert verdict.entities[0] == "gpu/0" and len(verdict.entities) == 3
        assert 270.0 <= verdict.violated_at <= 280.0  # restarted at 35 s, seen at the next sample, + 240 s


@pytest.mark.parametrize("preset", ["baseline", "reference"])
def test_two_naive_leaders_both_act_and_the_lease_keeps_one(preset):
    """leader_race (six boxes racing for leadership) with a 20 s duty: at seed 3 the baseline's race leaves two
    believers, and the stale one's duty writes are accepted; the reference's lease has one, every write current."""
    scenario = rmasim.load_scenario(ROOT / "scenarios" / "leader_race.yaml")
    overrides = {
        "coordinator.preset": preset,
        "coordinator.leader_duty": "20s",
        "properties": [{"name": "single_leader"}],
    }
    result = rmasim.run(scenario.with_overrides(overrides), seed=3)
    summary, (verdict,) = result.summary, result.properties
    if preset == "baseline":
        assert summary["leader.max_concurrent"] == 2 and summary["leader.duty_conflicts"] > 0
        assert f"{summary['leader.duty_conflicts']} duty writes from a stale leader were accepted" in verdict.detail
    else:
        assert verdict.holds and summary["leader.duty_conflicts"] == summary["leader.duty_refused"] == 0
        assert summary["leader.duty_writes"] >= 55  # one every 20 s of 20 minutes, less the failovers


@pytest.mark.parametrize("fence", [False, True])
def test_a_leader_whose_lease_was_taken_acts_until_its_renewal_fails_unless_fenced(fence):
    """Kleppmann's case: at 1 minute another party takes the lease (``lease_theft``, by compare-and-set from the
    value it read); the leader believes it leads until its next renewal (every 10 s) is refused, and does its 2 s
    duty meanwhile under its old token. Unfenced those writes are accepted (conflicts); fenced they are refused."""
    text = """
name: lease_theft_duty
seed: 1
duration: 4m
sample_every: 5s
coordinator: {preset: baseline, edges: 2, leader: lease, leader_duty: 2s}
fleet: {gpu: {count: 2, services: {upload: {port: 8103}}}}
faults: [{at: 1m, action: lease_theft, duration: 30s}]
"""
    summary = rmasim.run(load_scenario_text(text).with_overrides({"coordinator.fence_duty": fence})).summary
    assert summary["leader.max_concurrent"] == 1  # beliefs never overlap: single_leader cannot see it
    if fence:
        assert summary["leader.duty_conflicts"] == 0 and summary["leader.duty_refused"] > 0
    else:
        assert summary["leader.duty_conflicts"] > 0 and summary["leader.duty_refused"] == 0
