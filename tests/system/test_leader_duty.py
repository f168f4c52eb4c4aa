"""The leader's duty (``leader_duty``) and its fencing token (``fence_duty``), driven by hand.

The coordinator records a duty write; fenced, it refuses one whose worker id and token are not the current
lease's, and the record's own write refuses a token below the highest it stored (Kleppmann's fencing token).
The agent that believes it leads, and only it, calls the duty every period with its token.
"""

from __future__ import annotations

from typing import Any

from rmasim.scenario import Policy
from rmasim.system import Agent, Coordinator, MachineInfo
from rmasim.system.coordinator.keys import LEADER_DUTY, LEADER_LEASE
from rmasim.system.coordinator.leader import fenced_write
from rmasim.system.ops import KV, STRONG, HttpCall, KVFailure, KvPut, Request, Response, Trace


def duty(harness: Any, policy: Policy, worker_id: str, token: int | None) -> Response:
    body = {"worker_id": worker_id, "token": token}
    return harness.run(Coordinator(policy).handle(Request("POST", "/api/leader/duty", body)))


def duty_traces(harness: Any) -> list[dict[str, Any]]:
    return [op.fields for op in harness.log if isinstance(op, Trace) and op.event == "leader_duty"]


def test_unfenced_every_write_is_accepted_in_the_seeds_store(harness):
    naive, lease = Policy(), Policy(leader="lease")
    assert duty(harness, naive, "a", None).status == 200
    assert duty(harness, lease, "b", 1).status == 200  # b holds no lease at all: accepted anyway
    puts = [op for op in harness.log if isinstance(op, KvPut)]
    assert [(p.key, p.store, p.value["holder"]) for p in puts] == [(LEADER_DUTY, KV, "a"), (LEADER_DUTY, STRONG, "b")]
    assert duty_traces(harness) == [
        {"worker_id": "a", "token": None, "accepted": True},
        {"worker_id": "b", "token": 1, "accepted": True},
    ]


def test_fenced_only_the_current_lease_may_write(harness):
    policy = Policy(leader="lease", fence_duty=True, validate_requests=True)
    harness.kv[LEADER_LEASE] = {"holder": "b", "token": 2, "renewals": 0}
    assert duty(harness, policy, "b", 2).status == 200
    stale = duty(harness, policy, "a", 1)  # a's lease (token 1) was taken over by b
    assert stale.status == 409 and stale.body["error"] == "stale fencing token"
    assert duty(harness, policy, "b", 1).status == 409  # the holder's id under an old token
    assert harness.kv[LEADER_DUTY] == {"holder": "b", "token": 2, "at": 1000.0, "fence": 2, "writes": 1}
    assert [t["accepted"] for t in duty_traces(harness)] == [True, False, False]


def test_fenced_without_a_lease_nothing_is_accepted(harness):
    assert duty(harness, Policy(fence_duty=True), "a", None).status == 409  # the naive leader has no lease
    assert LEADER_DUTY not in harness.kv


def test_the_record_refuses_a_token_below_the_highest_stored():
    record, ok = fenced_write(None, {"holder": "a", "token": 1, "at": 5.0})
    assert ok and record == {"holder": "a", "token": 1, "at": 5.0, "fence": 1, "writes": 1}
    record, ok = fenced_write(record, {"holder": "b", "token": 2, "at": 6.0})
    assert ok and (record["holder"], record["fence"], record["writes"]) == ("b", 2, 2)
    unchanged, ok = fenced_write(record, {"holder": "a", "token": 1, "at": 7.0})
    assert not ok and unchanged is record


def test_a_failed_write_is_traced_as_failed(harness):
    harness.fail[LEADER_DUTY] = KVFailure(429, "rate limited")
    assert duty(harness, Policy(), "a", None).status == 500
    assert duty_traces(harness) == [{"worker_id": "a", "token": None, "accepted": False, "failed": 429}]


def duty_calls(harness: Any, policy: Policy, leader: bool, ops: int = 200) -> list[tuple[float, Any]]:
    """(time, body) of each duty call an agent makes in its first ``ops`` operations."""
    calls: list[tuple[float, Any]] = []

    def answer(call: HttpCall) -> Any:
        if call.url.startswith("http://localhost:"):
            return Response(200, {"version": "1"})
        if call.path == "/api/worker/register":
            return Response(200, {"worker_id": "w-1", "is_heartbeat_leader": leader})
        if call.path == "/api/leader/duty":
            calls.append((harness.now, call.body))
        return Response(200, {"status": "ok", "ok": True})

    harness.http = answer
    harness.step(Agent(MachineInfo("https://m.tunnel", {"upload": 8103}), policy).run(), ops)
    return calls


def test_the_naive_leader_does_its_duty_every_period_and_others_never(harness):
    calls = duty_calls(harness, Policy(leader_duty="20s"), leader=True)
    assert [t - 1000.0 for t, _ in calls[:4]] == [0.0, 20.0, 40.0, 60.0]
    assert calls[0][1] == {"worker_id": "w-1", "token": None}
    assert duty_calls(harness, Policy(leader_duty="20s"), leader=False) == []
    assert duty_calls(harness, Policy(), leader=True) == []  # no knob, no request


def test_a_lease_leader_sends_its_token(harness):
    lease: dict[str, Any] = {}

    def answer(call: HttpCall) -> Any:
        if call.url.startswith("http://localhost:"):
            return Response(200, {"version": "1"})
        if call.path == "/api/worker/register":
            return Response(200, {"worker_id": "w-1"})
        if call.path == "/api/leader" and call.method == "GET":
            return Response(200, {"lease": None})
        if call.path == "/api/leader":
            lease.update({"holder": "w-1", "token": 7, "renewals": 0})
            return Response(200, {"ok": True, "lease": dict(lease)})
        if call.path == "/api/leader/duty":
            bodies.append((call.body, call.timeout))
        return Response(200, {"status": "ok"})

    bodies: list[tuple[Any, float]] = []
    harness.http = answer
    harness.step(
        Agent(MachineInfo("https://m.tunnel", {"upload": 8103}), Policy(leader="lease", leader_duty="20s")).run(), 40
    )
    assert bodies and bodies[0][0] == {"worker_id": "w-1", "token": 7}
    assert bodies[0][1] <= 15.0  # the call ends by the end of the lease
