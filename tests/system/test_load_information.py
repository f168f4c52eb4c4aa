"""Load information that holds across isolates: the load report on every answer (``load_info: header``) and the
probes of ``p2c-probe``, driven by hand."""

from __future__ import annotations

import math
from typing import Any

import pytest

from rmasim.scenario import Policy
from rmasim.system import Coordinator
from rmasim.system.coordinator import Isolate
from rmasim.system.coordinator.balancers import BALANCERS, PROBE_TIMEOUT, load_probe, probed_load
from rmasim.system.ops import (
    IN_FLIGHT,
    LOAD_PATH,
    LOAD_REPORT,
    Concurrently,
    ConnectError,
    HttpCall,
    Now,
    Random,
    Request,
    RequestTimeout,
    Response,
)


def workers(n: int) -> list[dict[str, Any]]:
    return [{"id": f"w{i}", "tunnel_url": f"https://w{i}", "current_load": 0.0} for i in range(n)]


def reporting(in_flight: int, status: int = 200) -> Response:
    return Response(status, {}, ((IN_FLIGHT, str(in_flight)),))


def run_pick(balancer, candidates, randoms, probes=None):
    """One pick; ``probes(call)`` answers each probe of a :class:`Concurrently`. Returns (chosen id, ops)."""
    gen = balancer.pick("rag", candidates)
    ops, value = [], None
    while True:
        try:
            op = gen.send(value)
        except StopIteration as stop:
            return stop.value["id"], ops
        ops.append(op)
        if isinstance(op, Random):
            value = randoms.pop(0)
        elif isinstance(op, Concurrently):
            value = tuple(probes(call) for call in op.calls)
        else:
            raise AssertionError(f"unexpected op {op!r}")


# --- the load report on every answer -----------------------------------------------------------------------


def test_a_response_header_is_read_by_name():
    assert reporting(3).header(IN_FLIGHT) == "3"
    assert Response(200, {}).header(IN_FLIGHT) is None
    assert Response(200, {}).headers == ()  # the default answer carries no header


def test_header_load_is_the_last_report_plus_the_edges_own_forwards_since():
    """w0 reported 3 in flight on the answer that came back at t=2; the forward that left at t=1 is in that figure,
    the one that left at t=3 is not: 3 + 1. w1 never answered: its figure is this edge's own forward, 1. w2: 0."""
    balancer = BALANCERS["least-loaded"](Policy(balancer="least-loaded", load_info="header"))
    assert balancer.tracks and balancer.reads_header
    balancer.started("w0", 1.0)
    balancer.started("w0", 1.5)
    balancer.started("w1", 1.5)
    balancer.finished("w0", 2.0, 1.0)
    balancer.answered("w0", 1.0, 2.0, reporting(3))
    balancer.started("w0", 3.0)
    assert balancer.reported == {"w0": (3.0, 2.0)}
    assert balancer.header_loads(workers(3)) == [4.0, 1.0, 0.0]
    assert run_pick(balancer, workers(3), [])[0] == "w2"
    balancer.answered("w0", 3.0, 4.0, Response(504, {}))  # a timeout reports nothing: the last figure stays
    assert balancer.header_loads(workers(1)) == [3.0]
    assert balancer.open == {"w0": [1.5], "w1": [1.5]}


def test_least_outstanding_with_header_counts_every_edges_requests_as_last_reported():
    """Its own counts say w0 is idle; w0's last answer says 5 others are queued there: w1 wins."""
    balancer = BALANCERS["least-outstanding"](Policy(balancer="least-outstanding", load_info="header"))
    balancer.started("w0", 0.0)
    balancer.finished("w0", 1.0, 1.0)
    balancer.answered("w0", 0.0, 1.0, reporting(5))
    balancer.started("w1", 1.0)
    assert balancer.in_flight == {"w0": 0, "w1": 1}
    assert run_pick(balancer, workers(2), [])[0] == "w1"
    plain = BALANCERS["least-outstanding"](Policy(balancer="least-outstanding"))
    assert not plain.reads_header


def test_p2c_compares_the_reported_figures_of_its_two():
    balancer = BALANCERS["p2c"](Policy(balancer="p2c", load_info="header"))
    balancer.started("w0", 0.0)
    balancer.finished("w0", 1.0, 1.0)
    balancer.answered("w0", 0.0, 1.0, reporting(2))
    assert run_pick(balancer, workers(3), [0.0, 0.0])[0] == "w1"  # the pair (w0, w1): 2 against 0


def proxy(harness, policy: Policy, answer) -> tuple[Isolate, list[HttpCall]]:
    record = {"id": "a", "tunnel_url": "https://a", "status": "healthy", "last_heartbeat": 1000.0}
    harness.kv = {"service:upload": ["a"], "worker:a": record}
    calls: list[HttpCall] = []

    def http(call):
        calls.append(call)
        harness.now += 0.5
        return answer

    harness.http = http
    isolate = Isolate()
    harness.run(Coordinator(policy).handle(Request("POST", "/api/service/upload/x"), isolate))
    return isolate, calls


def test_the_proxy_asks_for_the_report_and_folds_the_answer_in(harness):
    isolate, calls = proxy(harness, Policy(balancer="least-loaded", load_info="header"), reporting(7))
    assert calls[0].headers == ((LOAD_REPORT, "in-flight"),)
    balancer = isolate.state["balancer"]
    assert balancer.reported == {"a": (7.0, 1000.5)} and balancer.open == {"a": []}


def test_default_load_info_leaves_the_operations_unchanged(harness):
    """Without ``header`` the forward asks for nothing and the proxy yields exactly what it yielded before: the
    index, the records, the forward (least-loaded with reported loads does not track, so no clock reading)."""
    for name in ("least-loaded", "p2c", "least-outstanding"):
        harness.log = []
        isolate, calls = proxy(harness, Policy(balancer=name), reporting(7))
        assert calls[0].headers == ()
        balancer = isolate.state["balancer"]
        assert not balancer.reads_header and balancer.reported == {} and balancer.open == {}
        kinds = [type(op).__name__ for op in harness.log]
        tracking = ["Now", "HttpCall", "Now"] if name == "least-outstanding" else ["HttpCall"]
        assert kinds == ["KvGet", "KvGetMany", *tracking]
    assert Policy().load_info == "reported"


# --- probes at pick time ------------------------------------------------------------------------------------


def probes(**figures: Any):
    """Answer each probe from ``figures`` (worker id -> in-flight count, or an exception)."""

    def answer(call: HttpCall) -> Any:
        assert call.method == "GET" and call.path == LOAD_PATH + "rag" and call.timeout == PROBE_TIMEOUT
        figure = figures[call.url.removeprefix("https://")]
        return figure if isinstance(figure, Exception) else Response(200, {"in_flight": figure})

    return answer


def test_p2c_probe_probes_both_at_once_and_the_lower_wins():
    balancer = BALANCERS["p2c-probe"](Policy(balancer="p2c-probe"))
    chosen, ops = run_pick(balancer, workers(3), [0.0, 0.99], probes(w0=4, w2=1))
    assert chosen == "w2"
    assert ops == [Random(), Random(), Concurrently((load_probe("https://w0", "rag"), load_probe("https://w2", "rag")))]
    assert not balancer.tracks  # the probe is its only knowledge: nothing kept between picks


def test_a_failed_probe_loses_and_two_failures_tie():
    balancer = BALANCERS["p2c-probe"](Policy(balancer="p2c-probe"))
    timeout = RequestTimeout("probe")
    assert run_pick(balancer, workers(2), [0.0, 0.0], probes(w0=timeout, w1=40))[0] == "w1"
    assert run_pick(balancer, workers(2), [0.0, 0.0], probes(w0=3, w1=ConnectError("x")))[0] == "w0"
    both = probes(w0=timeout, w1=ConnectError("x"))
    assert run_pick(balancer, workers(2), [0.0, 0.0, 0.99], both)[0] == "w1"  # a tie: the third draw
    assert probed_load(Response(503, {"error": "overloaded"})) == math.inf
    assert probed_load(Response(200, {})) == math.inf


def test_p2c_probe_with_one_candidate_asks_nothing():
    assert run_pick(BALANCERS["p2c-probe"](Policy(balancer="p2c-probe")), workers(1), []) == ("w0", [])


def test_the_proxy_probes_then_forwards_to_the_winner(harness):
    records = {f"worker:{w['id']}": {**w, "status": "healthy", "last_heartbeat": 1000.0} for w in workers(2)}
    harness.kv = {"service:rag": ["w0", "w1"], **records}
    forwards = []

    def http(call):
        if call.path.startswith(LOAD_PATH):
            return Response(200, {"in_flight": {"https://w0": 9, "https://w1": 2}[call.url]})
        forwards.append(call.url)
        return Response(200, {})

    harness.http, harness.randoms = http, [0.0, 0.0]
    response = harness.run(Coordinator(Policy(balancer="p2c-probe")).handle(Request("POST", "/api/service/rag/x"),
                                                                            Isolate()))  # fmt: skip
    assert response.status == 200 and forwards == ["https://w1"]
    assert [type(op) for op in harness.log if not isinstance(op, Now)][-2:] == [Concurrently, HttpCall]


def test_concurrently_takes_http_calls_only():
    with pytest.raises(ValueError, match="one or more HttpCall"):
        Concurrently(())
    with pytest.raises(ValueError, match="one or more HttpCall"):
        Concurrently((Random(),))  # type: ignore[arg-type]
