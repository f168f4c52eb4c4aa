"""Registry loss and leader conflicts: hand-made histories with whole expected results, then whole runs."""

from __future__ import annotations

import pytest

import rmasim
from rmasim.observe import CHECKERS, MachineEvent, Observations, RequestLog, SampleView
from rmasim.observe.leader import LeaderStats, leader_changes, leader_timeline
from rmasim.observe.loss import GRACE, count_lost
from rmasim.system import registry_snapshot


def observations(**kw) -> Observations:
    base = dict(
        duration=600.0, warmup=0.0, samples=[], requests=RequestLog(), events=[], index_changes=[], kv_stats=None
    )
    base.update(kw)
    return Observations(**base)


# --- registry loss ---------------------------------------------------------------------------------------------


def test_lost_providers_of_one_sample():
    store = {"service:upload": ["a"], "service:rag": ["b"]}
    serving = {
        "a": frozenset({"upload", "rag"}),  # rag missing: lost
        "b": frozenset({"upload", "rag"}),  # upload missing: lost
        "c": frozenset({"upload"}),  # registered 2 s ago: within the grace
        "d": frozenset({"upload"}),  # never reported a completed registration
        "e": frozenset(),  # its upload container is down: not a provider
    }
    registered = {
        "a": (0.0, frozenset({"upload", "rag"})),
        "b": (0.0, frozenset({"upload", "rag"})),
        "c": (98.0, frozenset({"upload"})),
        "e": (0.0, frozenset({"upload"})),
        "dead": (0.0, frozenset({"upload"})),  # not live
    }
    view = SampleView(100.0, registry_snapshot(store), serving, registered)
    assert count_lost(view) == 2
    assert CHECKERS["loss"].sample(view) == {"lost_entries": 2}
    late = SampleView(98.0 + GRACE + 0.1, registry_snapshot(store), serving, registered)
    assert count_lost(late) == 3  # c's grace is over


def test_service_registered_but_not_served_is_not_lost():
    view = SampleView(100.0, registry_snapshot({}), {"a": frozenset({"rag"})}, {"a": (0.0, frozenset({"upload"}))})
    assert count_lost(view) == 0


def test_loss_summary_max_after_warmup_and_final():
    rows = [{"t": 5.0, "lost_entries": 9}, {"t": 10.0, "lost_entries": 2}, {"t": 15.0, "lost_entries": 1}]
    summary = CHECKERS["loss"].summarize(observations(samples=rows, warmup=10.0))
    assert summary == {"registry.loss.max": 2, "registry.loss.final": 1}
    assert CHECKERS["loss"].summarize(observations()) == {"registry.loss.max": None, "registry.loss.final": None}


# --- leader conflicts: the pure core ---------------------------------------------------------------------------


def test_overlapping_believers():
    beliefs = [(10.0, 1, "a"), (50.0, 1, "b"), (60.0, 1, "c"), (80.0, -1, "c"), (100.0, -1, "a")]
    live = [(0.0, 1, "m0"), (0.0, 1, "m1"), (0.0, 1, "m2")]
    assert leader_timeline(beliefs, live, warmup=0.0, duration=200.0) == LeaderStats(
        conflict_time=50.0, conflict_episodes=1, max_concurrent=3, leaderless_time=10.0
    )


def test_two_episodes_clipped_to_warmup_and_duration():
    beliefs = [
        (0.0, 1, "a"),
        (5.0, 1, "b"),  # conflict 5..30, seen from the warmup at 20
        (30.0, -1, "b"),
        (100.0, 1, "c"),  # conflict 100..end, counted up to the duration
        (400.0, -1, "c"),
    ]
    live = [(0.0, 1, "m0"), (0.0, 1, "m1")]
    assert leader_timeline(beliefs, live, warmup=20.0, duration=300.0) == LeaderStats(
        conflict_time=10.0 + 200.0, conflict_episodes=2, max_concurrent=2, leaderless_time=0.0
    )


def test_zero_length_overlaps_do_not_count():
    beliefs = [
        (10.0, 1, "a"),
        (20.0, -1, "a"),  # hand-over at one instant: no conflict, no gap
        (20.0, 1, "b"),
        (30.0, 1, "c"),  # believes and dies at once
        (30.0, -1, "c"),
        (40.0, -1, "zz"),  # an end for someone not believing is ignored
    ]
    live = [(0.0, 1, "m0"), (0.0, 1, "m1")]
    assert leader_timeline(beliefs, live, warmup=10.0, duration=100.0) == LeaderStats(
        conflict_time=0.0, conflict_episodes=0, max_concurrent=1, leaderless_time=0.0
    )


def test_leaderless_at_start_and_after_the_leader_dies():
    beliefs = [(30.0, 1, "a"), (50.0, -1, "a")]
    live = [(5.0, 1, "m0"), (5.0, 1, "m1"), (50.0, -1, "m0"), (80.0, -1, "m1")]
    # live from 5, leader 30..50, leaderless 10..30 (after warmup) and 50..80, nobody live after 80
    assert leader_timeline(beliefs, live, warmup=10.0, duration=100.0) == LeaderStats(
        conflict_time=0.0, conflict_episodes=0, max_concurrent=1, leaderless_time=20.0 + 30.0
    )
    assert leader_timeline([], [], warmup=0.0, duration=100.0) == LeaderStats()


def test_leader_checker_on_traces_and_machine_events():
    traces = [
        (1.0, "edge/0", "leadership_claimed", {"worker_id": "w0"}),
        (1.2, "gpu/0", "leadership", {"worker_id": "w0", "leader": True}),
        (1.5, "edge/1", "leadership_claimed", {"worker_id": "w1"}),
        (1.7, "gpu/1", "leadership", {"worker_id": "w1", "leader": True}),
        (2.0, "gpu/2", "registered", {"worker_id": "w2", "services": ["upload"]}),
    ]
    events = [
        MachineEvent(0.0, "start", "gpu/0", 1, ()),
        MachineEvent(0.0, "start", "gpu/1", 1, ()),
        MachineEvent(0.0, "start", "gpu/2", 1, ()),
        MachineEvent(100.0, "stop", "gpu/1", 1, ("w1",)),  # its belief ends when the stop begins
        MachineEvent(101.0, "exit", "gpu/1", 1, ("w1",)),
        MachineEvent(300.0, "crash", "gpu/0", 1, ("w0",)),  # gpu/2 is left, believing nothing
    ]
    obs = observations(traces=traces, events=events, warmup=60.0, duration=600.0)
    beliefs, live = leader_changes(obs)
    assert sorted(beliefs) == [
        (1.2, 1, "w0"),
        (1.7, 1, "w1"),
        (100.0, -1, "w1"),
        (101.0, -1, "w1"),
        (300.0, -1, "w0"),
    ]
    assert len(live) == 6
    assert CHECKERS["leader"].summarize(obs) == {
        "leader.conflict_time": 40.0,
        "leader.conflict_episodes": 1,
        "leader.max_concurrent": 2,
        "leader.leaderless_time": 300.0,
        "leader.claim_writes": 2,
    }


# --- whole runs ------------------------------------------------------------------------------------------------

CRASH = "scenarios/crash.yaml"


def summary(overrides: dict, seed: int) -> dict:
    scenario = rmasim.load_scenario(CRASH)
    return rmasim.run(scenario.with_overrides(overrides) if overrides else scenario, seed=seed).summary


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_edge_loses_no_registration_and_has_one_leader(seed):
    s = summary({}, seed)
    assert (s["registry.loss.max"], s["registry.loss.final"]) == (0, 0)
    assert (s["leader.max_concurrent"], s["leader.conflict_time"], s["leader.claim_writes"]) == (1, 0.0, 1)


def test_four_edges_lose_registrations():
    """Read-modify-write of the shared index lists from different edges drops a registration."""
    losses = [summary({"coordinator.edges": 4}, seed)["registry.loss.max"] for seed in (1, 2, 3)]
    assert max(losses) > 0


def test_edges_and_close_starts_make_two_leaders():
    """Flaw #3: two registrations at different edges both pass the get-then-put check."""
    overrides = {"coordinator.edges": 3, "fleet.gpu.start_within": "2s"}
    for seed in range(1, 13):
        s = summary(overrides, seed)
        if s["leader.max_concurrent"] >= 2:
            break
    else:
        pytest.fail("no seed in 1..12 gave two believers")
    assert s["leader.conflict_time"] > 0 and s["leader.conflict_episodes"] >= 1
    assert s["leader.claim_writes"] == s["kv.writes.heartbeat_leader"] >= 2
