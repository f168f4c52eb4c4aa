"""The attacks on small whole runs: each injector sends what its spec says, from a node that is none of the
fleet's, and the coordinator's answers in the attacker's own record are what the handlers answer such a call.

The runs have no latency (the record's times are the send times) and random routing, so shares of requests are
Binomial and checked within 4 standard deviations.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import rmasim
from rmasim.chaos.attack import ENDPOINTS, attacker_name, flood_tunnel
from rmasim.runtime.nodes import node_address
from rmasim.scenario import load_scenario_text
from rmasim.scenario.faults import ATTACK_TRACE
from rmasim.system import MachineInfo

BOXES = """\
name: attack
duration: {duration}
warmup: 0s
coordinator: {{preset: {preset}, edges: 1{knobs}}}
network: {{latency: 0s}}
kv: {{read_latency: 0s, write_latency: 0s, strong: {{read_latency: 0s, write_latency: 0s}}}}
fleet:
  gpu:
    count: 3
    start_within: 10s
    services:
      upload: {{port: 8103, capacity: 64, service_time: 10ms}}
workload:
  - {{service: upload, rate: 10/s}}
faults: {faults}
"""


def run(simulations: list, faults: str, preset: str = "baseline", duration: str = "5m", seed: int = 1,
        knobs: str = "") -> Any:  # fmt: skip
    text = BOXES.format(faults=faults, preset=preset, duration=duration, knobs=knobs)
    return rmasim.run(load_scenario_text(text), seed=seed), simulations[-1]


def record(sim: Any) -> list[tuple[float, str, dict[str, Any]]]:
    """The attacker's record: (time, node, fields) of each call."""
    return [(t, node, f) for t, node, event, f in sim.observer.traces if event == ATTACK_TRACE]


def central(sim: Any, key: str) -> Any:
    store = sim.kv.central_snapshot(sim.env.now)
    store.update(sim.strong.central_snapshot(sim.env.now))
    return store.get(key)


def fingerprint_id(machine: str) -> str:
    return "worker-" + MachineInfo("", {}, hostname=machine).fingerprint


def ids_of(sim: Any, machine: str) -> list[str]:
    return [w for e in sim.observer.events if e.kind == "register" and e.machine == machine for w in e.worker_ids]


def within_binomial(count: int, n: int, p: float) -> bool:
    return abs(count - n * p) < 4 * math.sqrt(n * p * (1 - p))


def test_the_attacker_calls_from_its_own_node_with_no_header_and_the_platform_sets_its_address(simulations):
    _, sim = run(simulations, "[{at: 1m, action: forged_unregister, source: mallory}]")
    calls = record(sim)
    assert [(t, node, f["method"], f["path"]) for t, node, f in calls] == [
        (60.0, "attacker/mallory", "GET", "/api/workers"),
        (60.0, "attacker/mallory", "POST", "/api/worker/unregister"),
    ]
    assert {f["source"] for _, _, f in calls} == {node_address("attacker/mallory")}
    assert node_address("attacker/mallory") not in {node_address(m.node) for m in sim.machines.values()}
    assert sim.runtime.invocations["agent"] >= 2  # each call ran the coordinator as a Worker request


@pytest.mark.parametrize("preset", ["baseline", "seed-fixes"])
def test_rogue_register_takes_the_fingerprint_id_only_under_fingerprint_identity(simulations, preset):
    fault = "[{at: 1m, action: rogue_register, target: gpu/0, tunnel_url: 'https://evil.example'}]"
    result, sim = run(simulations, fault, preset, knobs=", balancer: random")  # Fix #5 alone, not Fix #4
    [(t, _, call)] = record(sim)
    assert (t, call["status"], call["machine"], call["tunnel_url"]) == (60.0, 200, "gpu/0", "https://evil.example")
    legit = ids_of(sim, "gpu/0")
    if preset == "seed-fixes":  # Fix #5: the id is the fingerprint's, the record now points at the attacker
        assert call["answer"]["worker_id"] == fingerprint_id("gpu/0") == legit[0]
        assert central(sim, f"worker:{legit[0]}")["tunnel_url"] == "https://evil.example"
        assert result.summary["security.hijacked_identities"] == 1
        share = 1 / 3  # gpu/0's share of the traffic goes to the attacker
    else:  # a fresh random id: a fourth provider of upload, nobody's identity
        assert call["answer"]["worker_id"] not in legit
        assert central(sim, f"worker:{legit[0]}")["tunnel_url"] == sim.machines[("gpu", 0)].tunnel_url
        assert result.summary["security.hijacked_identities"] == 0
        share = 1 / 4
    after = result.requests[result.requests.t_arrival > 60.0]
    to_attacker = int((after.target == "https://evil.example").sum())
    assert to_attacker == result.summary["security.attacker_forwards"]
    assert within_binomial(to_attacker, len(after), share)


def test_forged_heartbeats_go_to_the_first_listed_workers_every_period_with_the_forged_load(simulations):
    fault = "[{at: 1m, action: forged_heartbeat, workers: 2, current_load: -0.1, times: 3, every: 10s}]"
    result, sim = run(simulations, fault)
    calls = record(sim)
    listing = calls[0][2]
    assert (listing["path"], listing["status"], listing["answer"]["workers"]) == ("/api/workers", 200, 3)
    order = [w for _, _, f in calls[1:3] for w in [f["worker_id"]]]
    registered = sorted(sim.observer.events, key=lambda e: e.t)
    first_two = [e.worker_ids[0] for e in registered if e.kind == "register"][:2]  # worker_ids: registration order
    assert order == first_two
    assert [(t, f["worker_id"], f["status"]) for t, _, f in calls[1:]] == [
        (60.0 + 10.0 * k, w, 200) for k in range(3) for w in first_two
    ]
    assert result.summary["security.forged_accepted"] == 6


def test_a_forged_heartbeat_load_is_stored_until_the_agent_beats_again(simulations):
    _, sim = run(simulations, "[{at: 1m, action: forged_heartbeat, workers: 1, current_load: 1e9}]", duration="61s")
    victim = record(sim)[1][2]["worker_id"]
    assert central(sim, f"worker:{victim}")["current_load"] == 1e9


def test_a_forged_unregister_deletes_the_record_and_the_seed_agent_never_comes_back(simulations):
    result, sim = run(simulations, "[{at: 1m, action: forged_unregister, workers: 1}]")
    [_, (_, _, call)] = record(sim)
    assert (call["status"], call["answer"]) == (200, {"status": "ok"})
    assert central(sim, f"worker:{call['worker_id']}") is None  # the baseline agent ignores the 404s that follow
    assert call["worker_id"] in central(sim, "service:upload")  # flaw #1: the index keeps it
    assert result.summary["security.forged_accepted"] == 1
    assert result.summary["security.legit_registrations_lost"] == 1


def test_lease_theft_claims_the_lease_in_a_name_nobody_registered_and_renews_it(simulations):
    result, sim = run(simulations, "[{at: 1m, action: lease_theft, duration: 30s, every: 1s}]")
    posts = [(t, f) for t, _, f in record(sim) if f["method"] == "POST"]
    name = attacker_name("a1")
    assert len(posts) == 30 and all(f["name"] == name for _, f in posts)
    assert [(t, f["status"], f["answer"]["ok"], f["answer"]["holder"]) for t, f in posts] == [
        (60.0 + k, 200, True, name) for k in range(30)
    ]
    assert central(sim, "leader_lease")["holder"] == name  # nobody under `leader: naive` takes it back
    assert central(sim, "leader_lease")["renewals"] == 29
    assert result.summary["security.lease_stolen_time"] == pytest.approx(300.0 - 60.0)
    assert result.summary["security.forged_accepted"] == 30


def test_lease_theft_with_release_releases_the_holders_lease_in_its_name(simulations):
    faults = ("[{at: 1m, action: lease_theft, duration: 5s, source: a1},"
              " {at: 2m, action: lease_theft, duration: 3s, release: true, source: a2}]")  # fmt: skip
    result, sim = run(simulations, faults)
    releases = [(t, f) for t, node, f in record(sim) if node == "attacker/a2" and f["method"] == "POST"]
    assert [(t, f["worker_id"], f["status"], f["answer"]) for t, f in releases] == [
        (120.0, attacker_name("a1"), 200, {"ok": True, "holder": None})  # then nothing is held: nothing to release
    ]
    assert central(sim, "leader_lease")["holder"] is None
    assert result.summary["security.lease_stolen_time"] == pytest.approx(300.0 - 60.0)  # a release is no grant


def test_ssrf_registrations_are_forwarded_to_by_the_seed_proxy(simulations):
    result, sim = run(simulations, "[{at: 1m, action: ssrf_register}]")
    calls = record(sim)
    urls = [f["tunnel_url"] for _, _, f in calls]
    assert urls == ["http://169.254.169.254/", "http://127.0.0.1", "http://10.0.0.1", "file:///etc/passwd",
                    "gopher://127.0.0.1:6379/_INFO", "https://rebind.attacker.example"]  # fmt: skip
    assert [(t, f["status"]) for t, _, f in calls] == [(60.0 + 2.0 * n, 200) for n in range(6)]  # every: 2s
    assert all(f["ssrf"] for _, _, f in calls)
    after = result.requests[result.requests.t_arrival > 70.0]
    to_ssrf = int(after.target.isin(urls).sum())
    assert int(result.requests.target.isin(urls).sum()) == result.summary["security.ssrf_forwards"]
    assert within_binomial(to_ssrf, len(after), 6 / 9)  # 6 of the 9 providers the index lists


@pytest.mark.parametrize("sources", [1, 3])
def test_a_flood_registers_at_its_rate_each_a_fresh_tunnel_from_its_sources(simulations, sources):
    flood = f"[{{at: 2m, action: registration_flood, rate: 5, duration: 10s, sources: {sources}}}]"
    _, sim = run(simulations, flood, knobs=", registry_layout: strong")  # no write limit: every one gets in
    calls = record(sim)
    assert [(t, f["tunnel_url"]) for t, _, f in calls] == [(120.0 + n / 5, flood_tunnel(120.0, n)) for n in range(50)]
    hosts = ["a1"] if sources == 1 else [f"a1-{k}" for k in range(sources)]
    assert [node for _, node, _ in calls] == [f"attacker/{hosts[n % sources]}" for n in range(50)]
    assert len({node_address(node) for node in {n for _, n, _ in calls}}) == sources
    assert all(f["status"] == 200 for _, _, f in calls)
    assert len({f["answer"]["worker_id"] for _, _, f in calls}) == 50


def test_a_flood_through_the_seeds_lists_gets_one_registration_a_second_through(simulations):
    """Workers KV takes one write a second to ``worker_ids``: of 5 registrations a second, the first of each
    second gets through, the other four answer 500 (the KV's 429)."""
    _, sim = run(simulations, "[{at: 2m, action: registration_flood, rate: 5, duration: 10s}]")
    calls = record(sim)
    assert [n for n, (_, _, f) in enumerate(calls) if f["status"] == 200] == list(range(0, 50, 5))
    assert {f["answer"].get("kv_status") for _, _, f in calls if f["status"] != 200} == {429}


def test_malformed_requests_are_drawn_from_the_run_seed(simulations):
    faults = "[{at: 1m, action: malformed_requests, count: 40, within: 10s}]"
    _, first = run(simulations, faults, duration="2m", seed=1)
    _, again = run(simulations, faults, duration="2m", seed=1)
    _, other = run(simulations, faults, duration="2m", seed=2)

    def sent(sim: Any) -> list[tuple[float, str]]:
        return [(t, f["path"]) for t, _, f in record(sim)]

    assert sent(first) == sent(again) != sent(other)
    times = [t for t, _ in sent(first)]
    assert len(times) == 40 and all(60.0 <= t <= 70.0 for t in times)


@pytest.mark.parametrize("preset", ["baseline", "seed-fixes", "reference"])
def test_malformed_requests_are_answered_400_by_the_reference_and_500_by_the_seed(simulations, preset):
    result, sim = run(simulations, "[{at: 1m, action: malformed_requests, count: 200, within: 20s}]", preset, "2m")
    calls = [f for _, _, f in record(sim)]
    assert len(calls) == 200 and {f["path"] for f in calls} == set(ENDPOINTS)
    statuses = [f["status"] for f in calls]
    assert None not in statuses  # every call answered within the attacker's 10 s timeout
    assert result.summary["coordinator.bad_requests"] == statuses.count(400)
    raised = [f for f in calls if f["answer"].get("worker_exception")]  # the others: a KV 429 (one write a second)
    assert result.summary["coordinator.errors"] == len(raised)
    if preset == "reference":
        assert statuses.count(500) == 0 and statuses.count(400) > 150
    else:
        assert len(raised) > 0


def test_a_tunnel_url_that_is_no_string_fails_each_forward_there_and_the_run_goes_on(simulations, monkeypatch):
    """The baseline stores a registration as it comes; a forward to a tunnel_url of 5 fails as fetch() rejects a
    URL it cannot parse (a 502 for the client), instead of crashing the run."""
    import rmasim.chaos.attack as attack

    made = attack._registration
    monkeypatch.setattr(attack, "_registration", lambda url, offers, fp: {**made(url, offers, fp), "tunnel_url": 5})
    result, sim = run(simulations, "[{at: 1m, action: rogue_register, target: gpu/0}]")
    assert record(sim)[0][2]["status"] == 200
    r = result.requests
    bad = r[r.target == "5"]
    after = r[r.t_arrival > 60.0]
    assert within_binomial(len(bad), len(after), 1 / 4)  # a fourth provider of upload
    assert set(bad.status) == {502} and set(bad.outcome) == {"dead_target"}
