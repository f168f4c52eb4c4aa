"""Issue 15, build 2: each attack of the issue's Purpose tried by hand against the coordinator's handlers.

The reference refuses each one, and the answer it gets is asserted (status and body); the same call against the
baseline and seed-fixes shows what succeeds there. Every protection is also tried alone (its knob on over the
baseline, or off in the reference), so each is shown to be what refuses. The handlers run as sans-IO generators
over the in-memory harness of ``conftest.py``; an agent's calls go through the coordinator in the same harness, so
a legitimate agent (enrolment, signed calls, a restart) is checked to be served as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import Harness

from rmasim.scenario import PRESETS
from rmasim.system import Agent, Coordinator, MachineInfo, signing
from rmasim.system.coordinator import Isolate
from rmasim.system.coordinator.keys import LEADER_LEASE
from rmasim.system.coordinator.ratelimit import LIMITS
from rmasim.system.coordinator.tunnels import address_problem, host_allowed
from rmasim.system.ops import (
    CONNECTING_IP,
    COORDINATOR,
    HttpCall,
    Random,
    Request,
    Resolve,
    Response,
    Sleep,
    StrongUpdate,
)
from rmasim.world import DNS, Rebinding

BASELINE = PRESETS["baseline"].policy
SEED_FIXES = PRESETS["seed-fixes"].policy
REFERENCE = PRESETS["reference"].policy
WEAK = {"baseline": BASELINE, "seed-fixes": SEED_FIXES}

ATTACKER_IP = "2001:db8::bad"
VICTIM = MachineInfo("https://gpu-0.tunnel.invalid", {"upload": 8103}, hostname="gpu/0")
VICTIM_ID = f"worker-{VICTIM.fingerprint}"
ROGUE_URL = "https://rogue.tunnel.invalid"


@pytest.fixture(autouse=True)
def _wiped_victim_disk():
    """Each test starts with the victim machine never enrolled (its disk is module state)."""
    VICTIM.disk.clear()
    yield
    VICTIM.disk.clear()


class World(Harness):
    """The conftest harness plus the Durable Object's clock (``StrongUpdate(clock=True)``: the harness's time)
    and the world's DNS for ``Resolve``; HTTP calls to the coordinator are served by ``coordinator`` in the same
    harness (its state is the KV dict), from the caller address ``source``."""

    def __init__(self, policy: Any, dns: DNS | None = None) -> None:
        super().__init__()
        self.policy = policy
        self.coordinator = Coordinator(policy)
        self.isolate = Isolate()
        self.dns = dns if dns is not None else DNS()
        self.source = "2001:db8::1"
        self.forwards: list[HttpCall] = []
        self.http = self._http
        self.rng = np.random.default_rng(15)

    def answer(self, op: Any) -> Any:
        if isinstance(op, StrongUpdate) and op.clock:
            self.log.append(op)
            new, result = op.update(self.kv.get(op.key), op.arg, self.now)
            if new is None:
                self.kv.pop(op.key, None)
            else:
                self.kv[op.key] = new
            return result
        if isinstance(op, Random):  # a seeded stream: a machine's secret is not all zeros
            self.log.append(op)
            return float(self.rng.random())
        if isinstance(op, Resolve):
            self.log.append(op)
            return self.dns.resolve(op.name)[0]
        return super().answer(op)

    def _http(self, call: HttpCall) -> Any:
        if call.url == COORDINATOR:
            return self.call(call.method, call.path, call.body, call.headers, self.source)
        if call.url.startswith("http://localhost:"):
            return Response(200, {"status": "healthy", "version": "1.0"})
        self.forwards.append(call)
        return Response(200, {"served_by": call.url})

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: tuple[tuple[str, str], ...] = (),
        source: str = ATTACKER_IP,
    ) -> Response:
        """One request to the coordinator, as the platform delivers it (with ``cf-connecting-ip``)."""
        request = Request(method, path, body, (*headers, (CONNECTING_IP, source)))
        return self.run(self.coordinator.handle(request, self.isolate))  # type: ignore[no-any-return]

    def enrol(self, machine: MachineInfo = VICTIM, source: str = "2001:db8::1") -> Agent:
        """A legitimate agent of ``machine`` detects its services and registers (enrolling its secret)."""
        agent = Agent(machine, self.policy)
        self.source = source
        agent.services = self.run(agent.detect_services())
        self.run(agent.register_until_accepted())
        assert agent.worker_id is not None
        return agent

    def heartbeat(self, agent: Agent) -> Response | None:
        body = {"worker_id": agent.worker_id, "status": "healthy", "current_load": 0.5, "available_memory": "8.0GB"}
        return self.run(agent.call("POST", "/api/worker/heartbeat", agent._identified(body)))  # type: ignore[no-any-return]


def register_body(tunnel_url: str = ROGUE_URL, fingerprint: str = VICTIM.fingerprint) -> dict[str, Any]:
    return {
        "tunnel_url": tunnel_url,
        "services": [{"name": "upload", "version": "1.0", "port": 8103}],
        "capabilities": {},
        "wants_heartbeat_leadership": False,
        "fingerprint": fingerprint,
    }


def signed(secret: str, agent_id: str, method: str, path: str, body: Any, at: float) -> tuple[tuple[str, str], ...]:
    """The headers of a call signed with ``secret`` (an attacker's own, or a stolen one)."""
    timestamp = signing.stamp(at)
    text = signing.message(method, path, body, timestamp)
    return (
        (signing.AGENT_ID, agent_id),
        (signing.TIMESTAMP, timestamp),
        (signing.SIGNATURE, signing.sign(secret, text)),
    )


def record(world: World, worker_id: str = VICTIM_ID) -> Any:
    return world.kv.get(f"worker:{worker_id}")


# --- a legitimate agent is served -------------------------------------------------------------------------


def test_a_legitimate_agent_enrols_once_and_every_call_is_signed():
    world = World(REFERENCE)
    agent = world.enrol()
    assert agent.worker_id == VICTIM_ID
    credential = world.kv[f"{signing.CREDENTIAL_PREFIX}{VICTIM_ID}"]
    assert credential["secret"] == VICTIM.disk["secret"] and VICTIM.disk["enrolled"] is True
    assert world.heartbeat(agent) == Response(200, {"status": "ok"})
    register = next(op for op in world.log if isinstance(op, HttpCall) and op.path == "/api/worker/register")
    names = [name for name, _ in register.headers]
    assert names == [
        signing.AGENT_ID,
        signing.TIMESTAMP,
        signing.SIGNATURE,
        signing.AUTHORIZATION,
        signing.ENROLL_SECRET,
    ]


def test_a_restarted_box_keeps_its_secret_and_its_id_and_signs_without_the_bootstrap_token():
    machine = MachineInfo("https://gpu-1.tunnel.invalid", {"upload": 8103}, hostname="gpu/1")
    world = World(REFERENCE)
    first = world.enrol(machine)
    world.now += 5.0  # the box restarts: a new agent process, the same disk
    world.log.clear()
    second = world.enrol(machine)
    assert second.worker_id == first.worker_id
    register = next(op for op in world.log if isinstance(op, HttpCall) and op.path == "/api/worker/register")
    assert signing.AUTHORIZATION not in dict(register.headers)  # enrolled: the secret alone
    assert world.heartbeat(second) == Response(200, {"status": "ok"})


def test_an_enrolment_whose_answer_was_lost_is_asked_again_with_the_same_secret():
    machine = MachineInfo("https://gpu-2.tunnel.invalid", {"upload": 8103}, hostname="gpu/2")
    world = World(REFERENCE)
    agent = Agent(machine, REFERENCE)
    agent.services = world.run(agent.detect_services())
    world.run(agent.credentials("POST", "/api/worker/register", {}))  # the secret is on disk before the call
    body = register_body(machine.tunnel_url, machine.fingerprint)
    headers = world.run(agent.credentials("POST", "/api/worker/register", body))
    assert world.call("POST", "/api/worker/register", body, headers).status == 200  # the answer is lost
    assert machine.disk.get("enrolled") is None
    world.now += 30.0
    again = world.enrol(machine)
    assert again.worker_id == f"worker-{machine.fingerprint}"


# --- the attacks of the Purpose ------------------------------------------------------------------------------


def test_rogue_registration_with_another_machines_fingerprint():
    """A fingerprint is public (sha256 of a host name): with it alone a rogue takes over the id and its tunnel."""
    world = World(SEED_FIXES)
    world.enrol()
    answer = world.call("POST", "/api/worker/register", register_body())
    assert answer.status == 200 and answer.body["worker_id"] == VICTIM_ID
    assert record(world)["tunnel_url"] == ROGUE_URL  # seed-fixes: hijacked
    baseline = World(BASELINE)
    assert baseline.call("POST", "/api/worker/register", register_body()).status == 200  # baseline: anyone joins

    world = World(REFERENCE)
    world.enrol()
    answer = world.call("POST", "/api/worker/register", register_body())
    assert answer == Response(401, {"error": "unauthenticated", "reason": "unsigned"})
    # with the fleet's bootstrap token and a secret of its own: the id is enrolled already
    rogue_secret = "f" * 52
    body = register_body()
    headers = (
        *signed(rogue_secret, VICTIM_ID, "POST", "/api/worker/register", body, world.now),
        (signing.AUTHORIZATION, f"Bearer {REFERENCE.bootstrap_token}"),
        (signing.ENROLL_SECRET, rogue_secret),
    )
    answer = world.call("POST", "/api/worker/register", body, headers)
    assert answer == Response(401, {"error": "unauthenticated", "reason": "bad signature"})
    assert record(world)["tunnel_url"] == VICTIM.tunnel_url


def test_an_unknown_machine_without_the_bootstrap_token_cannot_enrol():
    world = World(REFERENCE)
    secret = "a" * 52
    body = register_body(fingerprint="0123456789abcdef")
    headers = (*signed(secret, "worker-0123456789abcdef", "POST", "/api/worker/register", body, world.now),
               (signing.ENROLL_SECRET, secret), (signing.AUTHORIZATION, "Bearer guessed"))  # fmt: skip
    answer = world.call("POST", "/api/worker/register", body, headers)
    assert answer == Response(401, {"error": "unauthenticated", "reason": "unknown agent"})
    assert not any(key.startswith("worker:") for key in world.kv)


@pytest.mark.parametrize("preset", ["baseline", "seed-fixes"])
def test_forged_heartbeat_and_unregister_succeed_without_protection(preset):
    world = World(WEAK[preset])
    agent = world.enrol()
    forged = {"worker_id": agent.worker_id, "status": "healthy", "current_load": 0.0, "available_memory": "999GB"}
    assert world.call("POST", "/api/worker/heartbeat", forged) == Response(200, {"status": "ok"})
    assert record(world, agent.worker_id)["available_memory"] == "999GB"
    assert world.call("POST", "/api/worker/unregister", {"worker_id": agent.worker_id}).status == 200
    assert record(world, agent.worker_id) is None


def test_forged_heartbeat_and_unregister_are_refused_by_the_reference():
    world = World(REFERENCE)
    agent = world.enrol()
    before = record(world)
    forged = {"worker_id": VICTIM_ID, "epoch": agent.epoch, "current_load": 0.0, "available_memory": "999GB"}
    unsigned = Response(401, {"error": "unauthenticated", "reason": "unsigned"})
    assert world.call("POST", "/api/worker/heartbeat", forged) == unsigned
    assert world.call("POST", "/api/worker/unregister", {"worker_id": VICTIM_ID, "epoch": agent.epoch}) == unsigned
    # an enrolled attacker signing with its own secret for the victim's id
    rogue = world.enrol(MachineInfo("https://evil-0.tunnel.invalid", {"upload": 8103}, hostname="evil/0"))
    body = {"worker_id": VICTIM_ID, "epoch": agent.epoch}
    headers = world.run(rogue.credentials("POST", "/api/worker/unregister", body))
    answer = world.call("POST", "/api/worker/unregister", body, headers)
    assert answer == Response(403, {"error": "forbidden", "reason": "signed for another worker"})
    assert record(world) == before


def test_a_captured_signed_call_cannot_be_replayed_or_sent_late():
    world = World(REFERENCE)
    agent = world.enrol()
    body = {"worker_id": VICTIM_ID, "epoch": agent.epoch, "current_load": 0.1}
    headers = world.run(agent.credentials("POST", "/api/worker/heartbeat", body))
    assert world.call("POST", "/api/worker/heartbeat", body, headers).status == 200
    replay = world.call("POST", "/api/worker/heartbeat", body, headers)
    assert replay == Response(401, {"error": "unauthenticated", "reason": "replayed timestamp"})
    tampered = {**body, "current_load": 0.9}
    assert world.call("POST", "/api/worker/heartbeat", tampered, headers).body["reason"] == "bad signature"
    late = world.run(agent.credentials("POST", "/api/worker/heartbeat", body))
    world.now += REFERENCE.signature_skew + 1.0  # held back longer than the window
    refused = world.call("POST", "/api/worker/heartbeat", body, late)
    assert refused == Response(401, {"error": "unauthenticated", "reason": "timestamp outside the skew window"})


def test_a_stepped_back_agent_clock_still_signs_increasing_timestamps():
    world = World(REFERENCE)
    agent = world.enrol()
    world.now -= 60.0  # an NTP step back of the machine's (and here every) clock, within the window
    assert world.heartbeat(agent) == Response(200, {"status": "ok"})
    assert world.heartbeat(agent) == Response(200, {"status": "ok"})


def test_epoch_checks_alone_refuse_a_heartbeat_or_unregister_of_another_registration():
    policy = REFERENCE.model_copy(update={"agent_auth": False})
    world = World(policy)
    agent = world.enrol()
    stale = {"worker_id": VICTIM_ID, "epoch": "1-abc", "current_load": 0.0}
    assert world.call("POST", "/api/worker/heartbeat", stale) == Response(
        409, {"error": "stale epoch", "field": "epoch"}
    )
    assert world.call("POST", "/api/worker/unregister", {"worker_id": VICTIM_ID}).status == 409  # no epoch at all
    assert record(world)["epoch"] == agent.epoch
    no_checks = World(REFERENCE.model_copy(update={"agent_auth": False, "epoch_checks": False}))
    no_checks.enrol()
    assert no_checks.call("POST", "/api/worker/unregister", {"worker_id": VICTIM_ID}).status == 200
    assert record(no_checks) is None  # without epoch_checks the epoch is optional


def test_an_agent_whose_epoch_is_refused_registers_again():
    world = World(REFERENCE)
    agent = world.enrol()
    agent.epoch = "1-stale"
    body = {"worker_id": VICTIM_ID, "epoch": agent.epoch}
    assert world.run(agent.call("POST", "/api/worker/heartbeat", body)).status == 409
    world.run(agent.send_heartbeat())  # 409 + rejoin: a new registration
    assert agent.epoch == record(world)["epoch"] != "1-stale"


def fresh_lease(world: World, holder: str) -> dict[str, Any]:
    lease = {"holder": holder, "token": 3, "renewals": 0, "acquired_at": world.now, "renewed_at": world.now}
    world.kv[LEADER_LEASE] = lease
    return lease


@pytest.mark.parametrize("preset", ["baseline", "seed-fixes"])
def test_lease_theft_and_a_foreign_release_succeed_without_protection(preset):
    world = World(WEAK[preset])
    lease = fresh_lease(world, VICTIM_ID)
    answer = world.call("POST", "/api/leader", {"worker_id": "worker-evil", "observed": lease})
    assert answer.status == 200 and answer.body["ok"] is True and answer.body["lease"]["holder"] == "worker-evil"
    lease = fresh_lease(world, VICTIM_ID)
    answer = world.call("POST", "/api/leader", {"worker_id": VICTIM_ID, "observed": lease, "release": True})
    assert answer.body["ok"] is True and world.kv[LEADER_LEASE]["holder"] is None


def test_lease_theft_is_refused_by_the_reference():
    world = World(REFERENCE)
    lease = fresh_lease(world, VICTIM_ID)
    body = {"worker_id": "worker-evil", "observed": lease}
    assert world.call("POST", "/api/leader", body) == Response(401, {"error": "unauthenticated", "reason": "unsigned"})
    release = {"worker_id": VICTIM_ID, "observed": lease, "release": True}
    assert world.call("POST", "/api/leader", release).status == 401
    assert world.kv[LEADER_LEASE] == lease


def test_the_server_checks_the_leases_holder_and_expiry_itself():
    """epoch_checks alone (no authentication): a fresh lease is not granted to another, a release is only the
    holder's, an expired lease is granted, all by the Durable Object's clock."""
    world = World(REFERENCE.model_copy(update={"agent_auth": False}))
    lease = fresh_lease(world, VICTIM_ID)
    answer = world.call("POST", "/api/leader", {"worker_id": "worker-evil", "observed": lease})
    assert answer == Response(200, {"ok": False, "lease": lease, "reason": "held by another worker"})
    answer = world.call("POST", "/api/leader", {"worker_id": "worker-evil", "observed": lease, "release": True})
    assert answer == Response(409, {"error": "not the holder", "lease": lease})
    world.now += REFERENCE.lease_duration + 0.5
    answer = world.call("POST", "/api/leader", {"worker_id": "worker-evil", "observed": lease})
    assert answer.body["ok"] is True and answer.body["lease"]["holder"] == "worker-evil"
    assert answer.body["lease"]["token"] == 4 and answer.body["lease"]["renewed_at"] == world.now


SSRF_URLS = [
    ("http://169.254.169.254/", "https only"),
    ("https://169.254.169.254/", "host outside the tunnel domains"),
    ("https://127.0.0.1", "host outside the tunnel domains"),
    ("https://10.0.0.5", "host outside the tunnel domains"),
    ("file:///etc/passwd", "https only"),
    ("gopher://127.0.0.1:6379/_INFO", "https only"),
    ("https://user:pw@gpu-9.tunnel.invalid", "user info in the URL"),
    ("https://gpu-9.tunnel.invalid:8443", "port other than 443"),
    ("https://internal.tunnel.invalid", "resolves to an internal address (10.1.2.3)"),
    ("https://meta.tunnel.invalid", "resolves to a metadata address (169.254.169.254)"),
    ("https://evil.example.com", "host outside the tunnel domains"),
    ("https://nx.example.trycloudflare.com", None),  # a tunnel domain: accepted
]


def ssrf_dns() -> DNS:
    records = {"internal.tunnel.invalid": ("10.1.2.3",), "meta.tunnel.invalid": ("169.254.169.254",)}
    rebinding = {"rebind.tunnel.invalid": Rebinding(("104.16.9.9",), ("127.0.0.1",))}
    return DNS(records, rebinding)


@pytest.mark.parametrize(("url", "reason"), SSRF_URLS)
def test_ssrf_tunnel_urls(url, reason):
    for policy in (BASELINE, SEED_FIXES):  # accepted, then forwarded to
        world = World(policy, ssrf_dns())
        assert world.call("POST", "/api/worker/register", register_body(url)).status == 200
        assert world.call("POST", "/api/service/upload/process").status == 200
        assert [call.url for call in world.forwards] == [url]
    world = World(REFERENCE.model_copy(update={"agent_auth": False}), ssrf_dns())
    answer = world.call("POST", "/api/worker/register", register_body(url))
    if reason is None:
        assert answer.status == 200
    else:
        assert answer == Response(400, {"error": f"tunnel_url refused: {reason}", "field": "tunnel_url"})
        assert not world.forwards and not any(key.startswith("worker:") for key in world.kv)


def test_a_rebinding_name_passes_registration_and_is_refused_at_the_forward():
    world = World(REFERENCE.model_copy(update={"agent_auth": False, "retries": 0}), ssrf_dns())
    url = "https://rebind.tunnel.invalid"
    assert world.call("POST", "/api/worker/register", register_body(url)).status == 200  # 104.16.9.9 then
    answer = world.call("POST", "/api/service/upload/process")  # 127.0.0.1 now
    assert answer.status == 502 and answer.body["error"] == "tunnel refused"
    assert answer.body["reason"] == "resolves to an internal address (127.0.0.1)"
    assert world.forwards == []
    weak = World(SEED_FIXES, ssrf_dns())
    weak.call("POST", "/api/worker/register", register_body(url))
    assert weak.call("POST", "/api/service/upload/process").status == 200 and len(weak.forwards) == 1


def test_the_fleets_tunnels_pass_validation():
    dns = DNS()
    for url in ("https://gpu-0.tunnel.invalid", "https://abc.cfargotunnel.com", "https://x-y.trycloudflare.com"):
        host = url.removeprefix("https://")
        assert host_allowed(host, REFERENCE.tunnel_domains)
        assert address_problem(dns.resolve(host)[0][0]) is None
    assert not host_allowed("cfargotunnel.com", REFERENCE.tunnel_domains)  # the apex is not a tunnel
    assert not host_allowed("evilcfargotunnel.com", REFERENCE.tunnel_domains)
    assert address_problem("::ffff:127.0.0.1") == "resolves to an internal address (127.0.0.1)"
    assert address_problem("fd00:ec2::254") == "resolves to a metadata address (fd00:ec2::254)"
    assert address_problem("100.64.0.1") == "resolves to an internal address (100.64.0.1)"


@pytest.mark.parametrize("preset", ["baseline", "seed-fixes"])
def test_a_registration_flood_is_accepted_without_limits(preset):
    world = World(WEAK[preset])
    statuses = [
        world.call("POST", "/api/worker/register", register_body(f"https://f{i}.tunnel.invalid", f"f{i:04d}")).status
        for i in range(500)
    ]
    assert statuses == [200] * 500


def test_a_registration_flood_gets_429_with_retry_after():
    world = World(REFERENCE)
    answers = [
        world.call("POST", "/api/worker/register", register_body(f"https://f{i}.tunnel.invalid", f"f{i:04d}"))
        for i in range(5000)
    ]
    limit = LIMITS["/api/worker/register"]
    assert [a.status for a in answers[: int(limit.burst)]] == [401] * int(limit.burst)  # unsigned, but counted
    refused = answers[int(limit.burst) :]
    assert {a.status for a in refused} == {429}
    assert refused[0] == Response(429, {"error": "rate limited", "retry_after": 60}, (("retry-after", "60"),))
    # a legitimate machine at another address is not affected
    assert world.enrol().worker_id == VICTIM_ID
    world.now += 60.0  # one more token a minute for the flooding address
    assert world.call("POST", "/api/worker/register", register_body()).status == 401
    assert world.call("POST", "/api/worker/register", register_body()).status == 429


def test_heartbeats_are_limited_per_source_and_the_agent_honours_retry_after():
    world = World(REFERENCE)
    agent = world.enrol()
    limit = LIMITS["/api/worker/heartbeat"]
    forged = {"worker_id": VICTIM_ID, "current_load": 0.1}
    for _ in range(int(limit.burst)):
        world.call("POST", "/api/worker/heartbeat", forged)  # from the attacker's address: 401 each
    assert world.call("POST", "/api/worker/heartbeat", forged).status == 429
    assert world.heartbeat(agent) == Response(200, {"status": "ok"})  # the agent's own bucket
    # the agent's own address limited: it waits the Retry-After before its next call
    world.source = "2001:db8::99"
    for _ in range(int(limit.burst)):
        world.call("POST", "/api/worker/heartbeat", forged, source="2001:db8::99")
    world.log.clear()
    world.run(agent.send_heartbeat())
    assert agent.retry_after == 3.0 and Sleep(3.0) in world.log


def test_register_until_accepted_waits_at_least_the_retry_after():
    world = World(REFERENCE)
    for _ in range(int(LIMITS["/api/worker/register"].burst)):
        world.call("POST", "/api/worker/register", register_body(), source="2001:db8::1")
    agent = Agent(VICTIM, REFERENCE)
    world.source = "2001:db8::1"
    world.log.clear()
    world.run(agent.register_until_accepted())
    sleeps = [op for op in world.log if isinstance(op, Sleep)]
    assert sleeps[0] == Sleep(60.0)  # Retry-After 60 s > the 30 s heartbeat interval
    assert agent.worker_id == VICTIM_ID


def test_admin_endpoints_and_tunnel_urls_need_the_admin_token():
    for policy in (BASELINE, SEED_FIXES):
        world = World(policy)
        world.enrol()
        assert world.call("GET", "/api/admin/services").status == 200
        workers = world.call("GET", "/api/workers").body["workers"]
        assert [w["tunnel_url"] for w in workers] == [VICTIM.tunnel_url]
        world = World(REFERENCE)
    world.enrol()
    refused = Response(401, {"error": "unauthenticated", "reason": "admin token required"})
    assert world.call("GET", "/api/admin/services") == refused
    assert world.call("GET", "/api/admin/metrics") == refused
    assert world.call("GET", "/api/admin/services", None, (("authorization", "Bearer wrong"),)) == refused
    workers = world.call("GET", "/api/workers").body["workers"]
    assert [w["id"] for w in workers] == [VICTIM_ID]
    assert "tunnel_url" not in workers[0] and "epoch" not in workers[0]
    admin = (("Authorization", f"Bearer {REFERENCE.admin_token}"),)
    assert world.call("GET", "/api/admin/services", None, admin).status == 200
    assert world.call("GET", "/api/workers", None, admin).body["workers"][0]["tunnel_url"] == VICTIM.tunnel_url
    assert world.call("GET", "/api/leader") == Response(401, {"error": "unauthenticated", "reason": "unsigned"})
    assert world.call("GET", "/api/leader", None, admin) == Response(200, {"lease": None})


@pytest.mark.parametrize("knob", ["agent_auth", "admin_auth", "epoch_checks", "tunnel_validation", "rate_limits"])
def test_each_protection_is_on_in_the_reference_and_off_elsewhere(knob):
    assert getattr(REFERENCE, knob) is True
    assert getattr(BASELINE, knob) is False and getattr(SEED_FIXES, knob) is False


def test_agent_auth_needs_a_stable_id():
    with pytest.raises(ValueError, match="identity: fingerprint"):
        REFERENCE.model_validate({**REFERENCE.model_dump(), "identity": "random"})


def test_a_signed_lease_poll_is_checked_from_the_isolates_memory():
    """GET /api/leader (most agent calls): the signature against the secret the isolate read once; no store call
    after the first, no replay check (a GET changes nothing)."""
    world = World(REFERENCE)
    agent = world.enrol()
    world.log.clear()
    assert world.run(agent.call("GET", "/api/leader", None)) == Response(200, {"lease": None})
    credential_reads = [op for op in world.log if getattr(op, "key", "").startswith(signing.CREDENTIAL_PREFIX)]
    assert len(credential_reads) == 1
    world.log.clear()
    headers = world.run(agent.credentials("GET", "/api/leader", None))
    assert world.call("GET", "/api/leader", None, headers) == Response(200, {"lease": None})
    assert world.call("GET", "/api/leader", None, headers).status == 200  # the same poll again
    assert not [op for op in world.log if getattr(op, "key", "").startswith(signing.CREDENTIAL_PREFIX)]
    forged = signed("0" * 52, VICTIM_ID, "GET", "/api/leader", None, world.now)
    assert world.call("GET", "/api/leader", None, forged) == Response(
        401, {"error": "unauthenticated", "reason": "bad signature"}
    )
    unknown = signed("0" * 52, "worker-nobody", "GET", "/api/leader", None, world.now)
    assert world.call("GET", "/api/leader", None, unknown).body["reason"] == "unknown agent"
