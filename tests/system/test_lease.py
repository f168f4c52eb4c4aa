"""Lease leadership: the coordinator's compare-and-set endpoints and the agent's elector, driven by hand.

The elector talks to the real coordinator handlers over one in-memory store (:class:`Harness` answers the
agent's HTTP calls by running the handler to completion), so the tests follow client-go's rules on concrete
timelines: lease 15 s, renew every 10 s, poll every 2 s, step down ``LEASE_GUARD`` early.
"""

from __future__ import annotations

from typing import Any

import pytest

from rmasim.scenario import Policy
from rmasim.system import Agent, Coordinator, MachineInfo
from rmasim.system.coordinator.keys import LEADER_LEASE
from rmasim.system.elector import LEASE_GUARD, LeaseElector
from rmasim.system.ops import ConnectError, HttpCall, Request, Response, Shutdown, Trace

LEASE = Policy(leader="lease")


def post(harness: Any, body: dict[str, Any]) -> Response:
    return harness.run(Coordinator(LEASE).handle(Request("POST", "/api/leader", body)))


# --- the coordinator's endpoints ----------------------------------------------------------------------------


def test_a_free_lease_is_granted_with_token_1_and_a_stale_claim_is_refused(harness):
    first = post(harness, {"worker_id": "a", "observed": None})
    assert first.body["ok"] is True
    assert first.body["lease"] == {
        "holder": "a",
        "token": 1,
        "renewals": 0,
        "acquired_at": 1000.0,
        "renewed_at": 1000.0,
    }
    second = post(harness, {"worker_id": "b", "observed": None})  # b saw no lease: its compare fails
    assert second.body == {"ok": False, "lease": harness.kv[LEADER_LEASE]}
    assert harness.kv[LEADER_LEASE]["holder"] == "a"


def test_renewal_keeps_the_token_and_every_grant_raises_it(harness):
    lease = post(harness, {"worker_id": "a", "observed": None}).body["lease"]
    renewed = post(harness, {"worker_id": "a", "observed": lease}).body["lease"]
    assert (renewed["holder"], renewed["token"], renewed["renewals"]) == ("a", 1, 1)
    taken = post(harness, {"worker_id": "b", "observed": renewed}).body["lease"]  # b judged it expired
    assert (taken["holder"], taken["token"]) == ("b", 2)
    released = post(harness, {"worker_id": "b", "observed": taken, "release": True}).body["lease"]
    assert (released["holder"], released["token"]) == (None, 2)
    again = post(harness, {"worker_id": "a", "observed": released}).body["lease"]
    assert (again["holder"], again["token"]) == ("a", 3)
    claims = [op for op in harness.log if isinstance(op, Trace) and op.event == "leadership_claimed"]
    assert [c.fields["token"] for c in claims] == [1, 2, 3]  # grants only, not renewals or releases


def test_only_the_holder_may_release(harness):
    lease = post(harness, {"worker_id": "a", "observed": None}).body["lease"]
    assert post(harness, {"worker_id": "b", "observed": lease, "release": True}).status == 409
    assert harness.kv[LEADER_LEASE]["holder"] == "a"


# --- the elector against the coordinator -------------------------------------------------------------------


class Cluster:
    """Several electors sharing one coordinator store and one clock (``harness.now``)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.reachable: dict[str, bool] = {}
        self.timeouts: list[float] = []

    def call_for(self, who: str):
        def call(method: str, path: str, body: Any, timeout: float):
            self.timeouts.append(timeout)
            if not self.reachable.get(who, True):
                return None
            return self.store.run(Coordinator(LEASE).handle(Request(method, path, body)))
            yield  # a generator, like Agent.call

        return call

    def elector(self, who: str) -> LeaseElector:
        return LeaseElector(who, LEASE, self.call_for(who), 10.0)

    def act(self, elector: LeaseElector) -> list[Trace]:
        """Run one ``expire`` + ``step`` at the current time; returns the traces it reported."""
        traces: list[Trace] = []
        for gen in (elector.expire(self.store.now), elector.step()):
            self.store.run(gen, lambda op: traces.append(op) if isinstance(op, Trace) else None)
        return traces


def test_a_candidate_takes_a_free_lease_at_once(harness):
    cluster = Cluster(harness)
    a = cluster.elector("a")
    traces = cluster.act(a)
    assert traces == [Trace("leadership", {"worker_id": "a", "leader": True, "token": 1})]
    assert a.leading and a.lease_end == 1000.0 + 15.0 - LEASE_GUARD
    assert a.next_action == 1010.0  # renew every 10 s


def test_a_candidate_waits_out_an_unrenewed_lease_and_the_holder_steps_down_first(harness):
    """a leads at 1000 and then cannot reach the coordinator; b first sees a's lease at 1001 and polls every 2 s.
    a's belief ends at 1014.5; b may take over only at its first poll >= 1001 + 15 = 1016: no overlap."""
    cluster = Cluster(harness)
    a, b = cluster.elector("a"), cluster.elector("b")
    cluster.act(a)
    cluster.reachable["a"] = False
    ended = taken = None
    t = 1001.0
    while taken is None and t < 1100:
        cluster.store.now = t
        for trace in cluster.act(a) if t >= a.next_action or t >= a.lease_end else []:
            if trace.fields["leader"] is False:
                ended = t
        if t >= b.next_action and any(tr.fields["leader"] for tr in cluster.act(b)):
            taken = t
        t = round(t + 0.5, 1)
    assert ended == pytest.approx(1014.5)
    assert taken == 1017.0  # polls at 1001, 1003, ..., 1015 (14 s seen), 1017 (16 s)
    assert b.token == 2
    assert all(timeout <= 10.0 for timeout in cluster.timeouts)


def test_a_leader_renews_and_keeps_the_lease(harness):
    cluster = Cluster(harness)
    a, b = cluster.elector("a"), cluster.elector("b")
    cluster.act(a)
    for t in range(1001, 1061):
        cluster.store.now = float(t)
        if t >= a.next_action:
            assert cluster.act(a) == []  # renewals report nothing
        if t >= b.next_action:
            assert cluster.act(b) == []  # never sees the same value for 15 s
    assert a.leading and not b.leading and cluster.store.kv[LEADER_LEASE]["renewals"] == 6


def test_a_leaders_calls_end_by_its_lease_end():
    elector = LeaseElector("a", LEASE, lambda *a: iter(()), 10.0)
    elector.leading, elector.lease_end = True, 1014.5
    assert elector.timeout(1008.0) == 6.5 and elector.timeout(1002.0) == 10.0


# --- the agent -----------------------------------------------------------------------------------------------


def answers(extra: dict[str, Response] | None = None):
    def answer(call: HttpCall) -> Any:
        if call.url.startswith("http://localhost:"):
            return Response(200, {"status": "healthy", "version": "1"})
        if extra and call.path in extra:
            return extra[call.path]
        if call.path == "/api/worker/register":
            return Response(200, {"worker_id": "w-1", "is_heartbeat_leader": False})
        if call.path == "/api/leader" and call.method == "GET":
            return Response(200, {"lease": None})
        if call.path == "/api/leader":
            body = call.body
            lease = {"holder": body["worker_id"], "token": 1, "renewals": 0}
            return Response(200, {"ok": True, "lease": {**lease, "holder": None} if body["release"] else lease})
        return Response(200, {"status": "ok"})

    return answer


def test_a_leading_agent_releases_its_lease_then_unregisters_on_a_graceful_stop(harness):
    harness.http = answers()
    agent = Agent(MachineInfo("https://m.tunnel", {"upload": 8103}), Policy(leader="lease"))
    gen = agent.run()
    harness.step(gen, 12)  # probe, register, trace, then the elector's first poll and claim
    assert agent.elector is not None and agent.elector.leading
    op = gen.throw(Shutdown())
    calls = []
    while True:
        if isinstance(op, HttpCall):
            calls.append((op.path, (op.body or {}).get("release")))
        try:
            op = gen.send(harness.answer(op))
        except StopIteration:
            break
    assert calls == [("/api/leader", True), ("/api/worker/unregister", None)]
    assert Trace("leadership", {"worker_id": "w-1", "leader": False, "reason": "released"}) in harness.log


@pytest.mark.parametrize("rejoin", [False, True])
def test_a_404_heartbeat_makes_the_agent_register_again_only_with_rejoin(harness, rejoin):
    registrations = []

    def answer(call: HttpCall) -> Any:
        if call.url.startswith("http://localhost:"):
            return Response(200, {"version": "1"})
        if call.path == "/api/worker/register":
            registrations.append(harness.now)
            return Response(200, {"worker_id": "w-1"})
        return Response(404, {"error": "worker not found"})  # every heartbeat: purged meanwhile

    harness.http = answer
    gen = Agent(MachineInfo("https://m.tunnel", {"upload": 8103}), Policy(rejoin=rejoin)).run()
    harness.step(gen, 20)
    assert len(registrations) == (1 if not rejoin else 4)
    if rejoin:
        assert Trace("rejoin", {"worker_id": "w-1"}) in harness.log


def test_agent_heartbeat_calls_time_out_by_the_lease_end(harness):
    """A leader's heartbeat, sent 1 s (the CPU sample) after it starts, times out by the lease's end."""
    harness.http = answers({"/api/worker/heartbeat": ConnectError("x")})
    agent = Agent(MachineInfo("https://m.tunnel", {"upload": 8103}), Policy(leader="lease", heartbeat_interval="12s"))
    gen = agent.run()
    op = next(gen)
    for _ in range(60):
        op = gen.send(harness.answer(op))
        if isinstance(op, HttpCall) and op.path == "/api/worker/heartbeat":
            elector = agent.elector
            assert elector is not None
            assert op.timeout == pytest.approx(min(10.0, elector.lease_end - harness.now))
            return
    raise AssertionError("no heartbeat")
