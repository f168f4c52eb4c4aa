"""The security checkers: hand-made attacker records and registries with whole expected results, then a run
without attacks (every key 0)."""

from __future__ import annotations

from typing import Any

import pytest

import rmasim
from rmasim.observe import CHECKERS, MachineEvent, Observations, RequestLog, SampleView
from rmasim.observe.security import REGISTER_WITHIN, internal_url, unroutable_workers
from rmasim.runtime import RequestRecord
from rmasim.scenario import load_scenario
from rmasim.scenario.faults import ATTACK_TRACE
from rmasim.system import registry_snapshot

KEYS = (
    "security.hijacked_identities",
    "security.forged_accepted",
    "security.ssrf_forwards",
    "security.attacker_forwards",
    "security.lease_stolen_time",
    "security.legit_registrations_lost",
    "coordinator.bad_requests",
)


def observations(**kw: Any) -> Observations:
    base: dict[str, Any] = dict(
        duration=600.0, warmup=0.0, samples=[], requests=RequestLog(), events=[], index_changes=[], kv_stats=None
    )
    base.update(kw)
    return Observations(**base)


def sent(t: float, action: str, method: str, path: str, status: int | None, answer: dict | None = None, **aim):
    """One entry of the attacker's record, as a trace."""
    fields = {"action": action, "method": method, "path": path, "source": "2001:db8::1", "status": status,
              "answer": answer or {}, **aim}  # fmt: skip
    return (t, "attacker/a1", ATTACK_TRACE, fields)


def summary(obs: Observations) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for checker in CHECKERS.values():
        if any(k.name in KEYS for k in checker.keys):
            out.update(checker.summarize(obs))
    return out


def registered(t: float, machine: str, worker_id: str) -> MachineEvent:
    return MachineEvent(t, "register", machine, 1, (worker_id,))


def requests(*targets: str | None, status: int = 200) -> RequestLog:
    log = RequestLog()
    for i, target in enumerate(targets):
        record = RequestRecord(i, "upload", 0, float(i), float(i) + 0.1, status, 1, target, True)
        log.append(record, "ok" if status == 200 else "service_error")
    return log


def test_hijacked_identities_from_the_answers_and_from_the_final_registry():
    traces = [
        # a registration answered with gpu/0's id: taken over
        sent(120, "rogue_register", "POST", "/api/worker/register", 200, {"worker_id": "worker-g0"},
             tunnel_url="https://evil"),
        # answered with a fresh id (random identity): not a takeover
        sent(121, "rogue_register", "POST", "/api/worker/register", 200, {"worker_id": "worker-new"},
             tunnel_url="https://evil"),
        # refused: nothing taken
        sent(122, "rogue_register", "POST", "/api/worker/register", 401, {"worker_id": "worker-g2"},
             tunnel_url="https://evil"),
    ]  # fmt: skip
    events = [registered(5, "gpu/0", "worker-g0"), registered(6, "gpu/1", "worker-g1"), registered(7, "gpu/2", "w2")]
    final = registry_snapshot({
        "worker:worker-g0": {"id": "worker-g0", "tunnel_url": "https://evil"},
        "worker:worker-g1": {"id": "worker-g1", "tunnel_url": "https://evil"},  # pointed at the attacker at the end
        "worker:w2": {"id": "w2", "tunnel_url": "https://gpu-2.tunnel.invalid"},
        "worker:worker-new": {"id": "worker-new", "tunnel_url": "https://evil"},  # the attacker's own: no victim
    })  # fmt: skip
    obs = observations(traces=traces, events=events, final_snapshot=final)
    assert summary(obs)["security.hijacked_identities"] == 2


def test_forged_calls_accepted_are_2xx_not_refused_in_the_answer():
    traces = [
        sent(1, "forged_heartbeat", "GET", "/api/workers", 200),  # a read, not a forged call
        sent(2, "forged_heartbeat", "POST", "/api/worker/heartbeat", 200, {"status": "ok"}, worker_id="a"),
        sent(3, "forged_heartbeat", "POST", "/api/worker/heartbeat", 400, {"field": "current_load"}),
        sent(4, "forged_heartbeat", "POST", "/api/worker/heartbeat", None),  # no answer
        sent(5, "forged_unregister", "POST", "/api/worker/unregister", 200, {"status": "ok"}),
        sent(6, "forged_unregister", "POST", "/api/worker/unregister", 200, {"unregistered": False}),
        sent(7, "lease_theft", "POST", "/api/leader", 200, {"ok": True, "holder": "x"}, name="x"),
        sent(8, "lease_theft", "POST", "/api/leader", 200, {"ok": False, "holder": "y"}, name="x"),
        sent(9, "lease_theft", "POST", "/api/leader", 401, {}, name="x"),
        sent(10, "rogue_register", "POST", "/api/worker/register", 200, {"worker_id": "w"}),  # not a forgery
    ]
    assert summary(observations(traces=traces))["security.forged_accepted"] == 3


@pytest.mark.parametrize(
    ("url", "internal"),
    [
        ("http://169.254.169.254/", True),
        ("http://127.0.0.1", True),
        ("https://127.0.0.1", True),
        ("https://10.0.0.1/x", True),
        ("https://[::1]/", True),
        ("https://169.254.169.254", True),
        ("file:///etc/passwd", True),
        ("gopher://127.0.0.1:6379/_INFO", True),
        ("https://localhost:8080", True),
        ("https://gpu-0.tunnel.invalid", False),
        ("https://8.8.8.8", False),
        ("https://attacker.example.net", False),
    ],
)
def test_internal_urls(url, internal):
    assert internal_url(url) is internal


def test_ssrf_and_attacker_forwards_count_the_requests_by_their_forward_target():
    traces = [
        sent(10, "ssrf_register", "POST", "/api/worker/register", 200, tunnel_url="https://rebind.attacker.example",
             ssrf=True),
        sent(11, "rogue_register", "POST", "/api/worker/register", 200, tunnel_url="https://evil"),
    ]  # fmt: skip
    log = requests(
        "gpu/0",  # a fleet machine
        "https://rebind.attacker.example",  # registered by ssrf_register (resolves inside: the rebinding name)
        "https://rebind.attacker.example",
        "http://10.1.2.3",  # internal, whoever registered it
        "https://evil",  # the attacker's, but no SSRF
        None,  # never forwarded
    )
    got = summary(observations(traces=traces, requests=log))
    assert (got["security.ssrf_forwards"], got["security.attacker_forwards"]) == (3, 3)


def test_lease_stolen_time_runs_from_a_grant_to_an_attacker_name_to_the_next_grant_to_another():
    def grant(t: float, holder: str, token: int):
        return (t, "edge/0", "leadership_claimed", {"worker_id": holder, "token": token})

    traces = [
        grant(30, "worker-g0", 1),
        sent(100, "lease_theft", "POST", "/api/leader", 200, {"ok": True}, name="worker-evil"),
        grant(100, "worker-evil", 2),
        (150, "edge/0", "leadership_claimed", {"worker_id": "worker-g1"}),  # a naive claim: not a lease grant
        grant(200, "worker-g1", 3),
        grant(500, "worker-evil", 4),  # again, until the end (600 s)
    ]
    assert summary(observations(traces=traces))["security.lease_stolen_time"] == pytest.approx(100 + 100)


def test_lease_stolen_time_is_0_without_a_claim_by_the_attacker():
    traces = [
        (30, "edge/0", "leadership_claimed", {"worker_id": "worker-g0", "token": 1}),
        # a forged release in the holder's name is a forged call, not a claim: the holder's lease is not stolen
        sent(60, "lease_theft", "POST", "/api/leader", 200, {"ok": True, "holder": None}, worker_id="worker-g0"),
        (90, "edge/0", "leadership_claimed", {"worker_id": "worker-g0", "token": 2}),
    ]
    assert summary(observations(traces=traces))["security.lease_stolen_time"] == 0.0


def test_unroutable_workers_of_one_sample():
    store = {
        "worker:a": {"id": "a"},
        "worker:b": {"id": "b"},
        "worker:c": {"id": "c"},
        "service:upload": ["a", "c", "d"],
        "service:rag": ["a"],
    }
    serving = {
        "a": frozenset({"upload", "rag"}),  # routable for both
        "b": frozenset({"upload"}),  # a record, absent from the index: unroutable
        "c": frozenset({"upload", "rag"}),  # rag absent, but it never registered rag: routable
        "d": frozenset({"upload"}),  # in the index without a record (the baseline's unregister): unroutable
        "e": frozenset({"upload"}),  # registered 1 s ago: within the grace
    }
    done = {
        "a": (0.0, frozenset({"upload", "rag"})),
        "b": (0.0, frozenset({"upload"})),
        "c": (0.0, frozenset({"upload"})),
        "d": (0.0, frozenset({"upload"})),
        "e": (99.0, frozenset({"upload"})),
    }
    view = SampleView(100.0, registry_snapshot(store), serving, done)
    assert unroutable_workers(view) == 2
    assert CHECKERS["security.legit_registrations_lost"].sample(view) == {"unroutable_workers": 2}


def test_legit_registrations_lost_counts_evictions_beyond_the_state_before_the_attack_and_refusals():
    samples = [
        {"t": 100.0, "unroutable_workers": 1},  # lost before the attack: not the attacker's doing
        {"t": 200.0, "unroutable_workers": 3},
        {"t": 300.0, "unroutable_workers": 2},
    ]
    traces = [
        sent(150, "registration_flood", "POST", "/api/worker/register", 200, tunnel_url="https://f-1"),
        sent(250, "registration_flood", "POST", "/api/worker/register", 200, tunnel_url="https://f-2"),
        # gpu/1 started before the attack and registered at once; gpu/2 during it, 30 s late; gpu/3 never
        (11.0, "agent/gpu/1", "registered", {"worker_id": "w1", "services": ["upload"]}),
        (190.0, "agent/gpu/2", "registered", {"worker_id": "w2", "services": ["upload"]}),
    ]
    events = [
        MachineEvent(10.0, "start", "gpu/1", 1, ()),
        MachineEvent(160.0, "start", "gpu/2", 1, ()),
        MachineEvent(200.0, "start", "gpu/3", 1, ()),
        MachineEvent(400.0, "start", "gpu/4", 1, ()),  # after the attack: not counted whatever happens
    ]
    obs = observations(samples=samples, traces=traces, events=events)
    assert summary(obs)["security.legit_registrations_lost"] == (3 - 1) + 2


def test_a_registration_within_the_bound_is_not_refused():
    traces = [
        sent(150, "registration_flood", "POST", "/api/worker/register", 200, tunnel_url="https://f-1"),
        (160.0 + REGISTER_WITHIN - 0.1, "agent/gpu/2", "registered", {"worker_id": "w2", "services": []}),
    ]
    events = [MachineEvent(160.0, "start", "gpu/2", 1, ())]
    assert summary(observations(traces=traces, events=events))["security.legit_registrations_lost"] == 0


def test_bad_requests_are_the_attackers_and_the_clients_400s():
    traces = [
        sent(1, "malformed_requests", "POST", "/api/worker/register", 400, {"field": "services"}),
        sent(2, "malformed_requests", "POST", "/api/worker/heartbeat", 500, {"error": "TypeError"}),
        sent(3, "malformed_requests", "POST", "/api/leader", 400, {"field": "body"}),
    ]
    log = requests("gpu/0", None, status=400)
    assert summary(observations(traces=traces, requests=log))["coordinator.bad_requests"] == 2 + 2


def test_a_run_without_attacks_measures_0_on_every_key():
    result = rmasim.run(load_scenario("crash").with_overrides({"duration": "8m", "expect": []}), seed=1)
    assert {k: result.summary[k] for k in KEYS} == dict.fromkeys(KEYS, 0) | {"security.lease_stolen_time": 0.0}
