"""The balancers, driven by hand: who wins, how ties break, what each one counts."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest

from rmasim.scenario import Policy
from rmasim.system.coordinator import Isolate
from rmasim.system.coordinator.balancers import BALANCERS, EWMA_DECAY, EWMA_INITIAL, edge_balancer
from rmasim.system.ops import LiveLoad, Random


def workers(*loads: float) -> list[dict[str, Any]]:
    return [{"id": f"w{i}", "tunnel_url": f"https://w{i}", "current_load": load} for i, load in enumerate(loads)]


def pick(name: str, candidates: list[dict[str, Any]], randoms: list[float] = (), live: tuple = (), **knobs: Any):
    """Run one pick; returns (chosen id, the operations it yielded)."""
    balancer = BALANCERS[name](Policy.model_validate({"balancer": name, **knobs}))
    return run_pick(balancer, candidates, list(randoms), live)


def run_pick(balancer, candidates, randoms, live=()):
    gen = balancer.pick("upload", candidates)
    ops, value = [], None
    while True:
        try:
            op = gen.send(value)
        except StopIteration as stop:
            return stop.value["id"], ops
        ops.append(op)
        value = randoms.pop(0) if isinstance(op, Random) else tuple(live)


def test_every_balancer_of_the_issue_is_registered():
    expected = {"random", "inverse-load", "least-loaded", "p2c", "round-robin", "least-outstanding", "p2c-ewma"}
    assert expected <= set(BALANCERS)


def test_random_is_the_seeds_floor_of_random_times_n():
    assert pick("random", workers(0, 0, 0), [0.67])[0] == "w2"


def test_least_loaded_takes_the_lowest_reported_load_and_breaks_ties_at_random():
    assert pick("least-loaded", workers(0.5, 0.1, 0.9))[0] == "w1"
    assert pick("least-loaded", workers(0.2, 0.9, 0.2), [0.0])[0] == "w0"
    assert pick("least-loaded", workers(0.2, 0.9, 0.2), [0.99])[0] == "w2"  # ties: uniform over w0, w2


def test_inverse_load_weights_are_one_over_load_plus_a_tenth():
    """Loads 0.1 and 0.9: weights 5 and 1, so a draw below 5/6 picks w0."""
    assert pick("inverse-load", workers(0.1, 0.9), [5 / 6 - 1e-9])[0] == "w0"
    assert pick("inverse-load", workers(0.1, 0.9), [5 / 6 + 1e-9])[0] == "w1"


def test_inverse_load_reads_an_idle_or_missing_report_as_half_loaded_as_the_review_writes():
    """``w.current_load || 0.5``: a reported 0 (or no figure) weighs 1/0.6 against 1/1.0 for a load of 0.9, a
    share of (1/0.6) / (1/0.6 + 1/1.0) = 0.625 -- not 10/11 as 1/(0 + 0.1) would give."""
    share = (1 / 0.6) / (1 / 0.6 + 1 / 1.0)
    assert share == pytest.approx(0.625)
    missing = [{"id": "w0", "tunnel_url": "https://w0"}, workers(0, 0.9)[1]]
    for candidates in (workers(0.0, 0.9), missing):
        assert pick("inverse-load", candidates, [share - 1e-9])[0] == "w0"
        assert pick("inverse-load", candidates, [share + 1e-9])[0] == "w1"


def test_inverse_load_counted_locally_keeps_an_idle_count_of_zero():
    """With ``load_info: local`` the load is the edge's own count: 0 forwards in flight weighs 1/0.1 = 10 against
    1/1.1 for one in flight, a share of 10 / (10 + 1/1.1)."""
    balancer = BALANCERS["inverse-load"](Policy(balancer="inverse-load", load_info="local"))
    balancer.started("w1", 0.0)
    assert balancer.in_flight["w1"] == 1
    share = 10 / (10 + 1 / 1.1)
    assert run_pick(balancer, workers(0.9, 0.0), [share - 1e-9])[0] == "w0"
    assert run_pick(balancer, workers(0.9, 0.0), [share + 1e-9])[0] == "w1"


def test_p2c_draws_two_distinct_candidates_and_the_lower_load_wins():
    # draws 0.0 -> index 0; 0.0 -> index 0 of the other two -> 1: compares w0 (0.5) with w1 (0.2)
    assert pick("p2c", workers(0.5, 0.2, 0.0), [0.0, 0.0])[0] == "w1"
    # 0.99 -> index 2; 0.99 -> index 1 of (0, 1) -> 1: w2 (0.0) vs w1 (0.2)
    assert pick("p2c", workers(0.5, 0.2, 0.0), [0.99, 0.99])[0] == "w2"
    assert pick("p2c", workers(0.7), [])[0] == "w0"  # one candidate: no draw


def test_p2c_pairs_are_uniform_over_distinct_pairs():
    """The 3 x 2 equally likely draw cells over three candidates give each unordered pair twice, never a worker
    with itself."""
    pairs = Counter()
    for i in (0.1, 0.5, 0.9):
        for j in (0.25, 0.75):
            gen = BALANCERS["p2c"].two_distinct(workers(0, 0, 0))
            next(gen)
            gen.send(i)
            with pytest.raises(StopIteration) as stop:
                gen.send(j)
            a, b = stop.value.value
            pairs[frozenset((a["id"], b["id"]))] += 1
    assert pairs == {frozenset(p): 2 for p in (("w0", "w1"), ("w0", "w2"), ("w1", "w2"))}


def test_round_robin_walks_the_list_per_service_and_edge():
    balancer = BALANCERS["round-robin"](Policy(balancer="round-robin"))
    chosen = [run_pick(balancer, workers(0, 0, 0), [])[0] for _ in range(4)]
    assert chosen == ["w0", "w1", "w2", "w0"]
    assert run_pick(BALANCERS["round-robin"](Policy()), workers(0, 0), [])[0] == "w0"  # another edge starts over


def test_live_load_asks_the_world_and_local_counts_the_edges_own_requests():
    chosen, ops = pick("least-loaded", workers(0.0, 0.0), live=(0.8, 0.3), load_info="live", load_signal="queue")
    assert chosen == "w1" and ops == [LiveLoad(("https://w0", "https://w1"), "queue")]
    balancer = BALANCERS["least-loaded"](Policy(balancer="least-loaded", load_info="local"))
    assert balancer.tracks
    balancer.started("w0", 0.0)
    assert run_pick(balancer, workers(0.0, 0.9), [])[0] == "w1"  # reported loads ignored: w0 has one in flight
    balancer.finished("w0", 1.0, 1.0)
    assert run_pick(balancer, workers(0.0, 0.9), [0.0])[0] == "w0"


def test_least_outstanding_counts_its_own_in_flight_requests():
    balancer = BALANCERS["least-outstanding"](Policy(balancer="least-outstanding"))
    for _ in range(2):
        balancer.started("w0", 0.0)
    balancer.started("w1", 0.0)
    assert run_pick(balancer, workers(0, 0, 0), [])[0] == "w2"
    assert balancer.in_flight == {"w0": 2, "w1": 1}


def test_p2c_ewma_keeps_a_peak_and_decays_with_time():
    balancer = BALANCERS["p2c-ewma"](Policy(balancer="p2c-ewma"))
    assert balancer.cost("w0") == EWMA_INITIAL
    balancer.started("w0", 0.0)
    assert balancer.cost("w0") == 2 * EWMA_INITIAL  # x (in flight + 1)
    balancer.finished("w0", 2.0, 2.0)
    assert balancer.ewma["w0"] == (2.0, 2.0)  # slower than the estimate: the peak, at once
    balancer.started("w0", 12.0)
    balancer.finished("w0", 12.0, 0.1)  # faster, 10 s later: weight exp(-10/10) on the old estimate
    w = math.exp(-10.0 / EWMA_DECAY)
    assert balancer.ewma["w0"][0] == pytest.approx(2.0 * w + 0.1 * (1 - w))
    assert run_pick(balancer, workers(0, 0), [0.0, 0.0])[0] == "w1"  # w1 unmeasured: 30 ms beats ~0.8 s


def test_the_edge_keeps_one_balancer_and_edges_do_not_share():
    policy = Policy(balancer="round-robin")
    a, b = Isolate(), Isolate()
    assert edge_balancer(a, policy) is edge_balancer(a, policy)
    assert edge_balancer(a, policy) is not edge_balancer(b, policy)


def test_the_proxy_tells_a_tracking_balancer_when_a_forward_starts_and_ends(harness):
    """least-outstanding through the proxy: the count is 1 while the forward is out, 0 after; p2c-ewma learns the
    forward's time on the edge's monotonic clock."""
    from rmasim.system import Coordinator
    from rmasim.system.ops import Request, Response

    record = {"id": "a", "tunnel_url": "https://a", "status": "healthy", "last_heartbeat": 1000.0}
    harness.kv = {"service:upload": ["a"], "worker:a": record}
    for name in ("least-outstanding", "p2c-ewma"):
        isolate, seen = Isolate(), []

        def answer(call, isolate=isolate, seen=seen):
            seen.append(dict(isolate.state["balancer"].in_flight))
            harness.now += 0.25
            return Response(200, {})

        harness.http = answer
        harness.run(Coordinator(Policy(balancer=name)).handle(Request("POST", "/api/service/upload/x"), isolate))
        balancer = isolate.state["balancer"]
        assert seen == [{"a": 1}] and balancer.in_flight == {"a": 0}
    assert balancer.ewma["a"][0] == 0.25  # slower than the initial 30 ms: taken at once


def test_the_global_balancer_counts_every_isolates_requests_in_one_durable_object(harness):
    """Two isolates, one object: isolate A's forward in flight to w0 sends isolate B's pick to w1 (B's own count
    would see two idle workers and take w0 at a draw of 0); once A's forward ends, w0 is free again."""
    from rmasim.system.ops import KVFailure, StrongUpdate

    policy = Policy(balancer="least-outstanding-global")
    a, b = (edge_balancer(Isolate(), policy) for _ in range(2))
    candidates = workers(0.0, 0.0)
    harness.randoms = [0.0, 0.0, 0.0, 0.0]
    assert harness.run(a.pick("upload", candidates))["id"] == "w0"
    assert harness.kv["inflight:upload"] == {"w0": 1}
    assert harness.run(b.pick("upload", candidates))["id"] == "w1"
    assert harness.kv["inflight:upload"] == {"w0": 1, "w1": 1}
    harness.run(a.release("upload", "w0"))
    assert harness.kv["inflight:upload"] == {"w1": 1}
    assert harness.run(b.pick("upload", candidates))["id"] == "w0"
    assert [type(op) for op in harness.log] == [Random, StrongUpdate, Random, StrongUpdate, StrongUpdate, Random,
                                                 StrongUpdate]  # fmt: skip
    # the object unreachable: the pick falls back to the isolate's own counts, and nothing is released for it
    harness.fail["inflight:upload"] = KVFailure(503, "inflight:upload")
    c = edge_balancer(Isolate(), policy)
    c.started("w0", 0.0)
    harness.randoms = [0.0]
    assert harness.run(c.pick("upload", candidates))["id"] == "w1"
    del harness.fail["inflight:upload"]
    before = dict(harness.kv["inflight:upload"])
    harness.run(c.release("upload", "w1"))
    assert harness.kv["inflight:upload"] == before
