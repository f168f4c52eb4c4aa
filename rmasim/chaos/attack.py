"""Attacks (issue 15): a client that is none of the fleet's agents calls the coordinator, holding no credential.

Model: the attacker is a host on the internet, network node ``attacker/<source>``. Its calls land on coordinator
edge ``spec.edge`` by the path an agent's calls take (a network hop, the handler run there as a server-side
invocation, the answer back; no answer within :data:`ATTACK_TIMEOUT` is a timeout) and carry no header at all: no
credential, and no ``cf-connecting-ip`` of its own, which the platform sets from the caller's address
(:func:`rmasim.runtime.nodes.node_address` of its node) whatever the caller sends. It knows what an attacker can
learn: the machines' host names (hence their fingerprints, sha256 of the host name, and their ids under
``identity: fingerprint``), the services and versions the fleet offers, and whatever the coordinator answers
anyone (``GET /api/workers``, ``GET /api/leader``).

Each attack is a sans-IO generator of the attacker's calls run by a :class:`~rmasim.runtime.Driver` at the
attacker's node; a flood and malformed requests start one per call at its time, without waiting for answers
(open loop). After each call the attacker writes its own record: a ``Trace``
(:data:`~rmasim.scenario.faults.ATTACK_TRACE`) with the action, method, path, source (the address the coordinator
saw), the coordinator's status
(None: no answer), the small fields of the answer (:func:`answer_fields`) and what the call aimed at
(``worker_id``, ``machine``, ``tunnel_url``, ``name``). The :mod:`rmasim.observe.security` checkers judge from
this record and from the registry what succeeded.

Malformed bodies (:func:`malformed_body`) come from a small grammar of JSON values: any JSON value (nested at most
three deep), or a well-formed body of the endpoint with one to three fields removed, replaced by such a value or
by a hostile one (ids with ``:`` or ``/``, loads out of [0, 1], long strings, 200 services), or an unknown field
added. The grammar makes its choices with ``rng.integers`` alone, so a run draws it from the numpy stream
``chaos/malformed_requests/<edge>/<at>`` (the same seed, the same bodies) and a test draws the same grammar
through hypothesis (each integer one hypothesis draw, so hypothesis shrinks a body that breaks a handler).
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Sequence
from functools import partial
from typing import Any

from ..runtime import Ctx, Driver, UniformSource
from ..runtime.nodes import node_address
from ..scenario.faults import ATTACK_TRACE
from ..system.agent import MachineInfo
from ..system.ops import COORDINATOR, ConnectError, HttpCall, RequestTimeout, Response, Sleep, Trace
from ..world import Clock
from .base import Chaos, register_fault

__all__ = [
    "ATTACK_TIMEOUT",
    "ENDPOINTS",
    "answer_fields",
    "attacker_name",
    "flood_tunnel",
    "malformed_body",
]

#: The attacker's HTTP timeout (an agent's is the same 10 s).
ATTACK_TIMEOUT = 10.0
REGISTER = "/api/worker/register"
HEARTBEAT = "/api/worker/heartbeat"
UNREGISTER = "/api/worker/unregister"
LEADER = "/api/leader"
#: The agent endpoints malformed requests go to, in turn.
ENDPOINTS = (REGISTER, HEARTBEAT, UNREGISTER, LEADER)
_ANSWER_FIELDS = (
    "worker_id",
    "ok",
    "unregistered",
    "status",
    "error",
    "field",
    "epoch",
    "worker_exception",
    "kv_status",
)
_SCALARS = (str, int, float, bool, type(None))
_TUNNELS = "attacker/tunnels"
"""The key of :attr:`Chaos.windows` under which the tunnel URLs the attacker registered are kept (its own)."""


def attacker_name(source: str) -> str:
    """The id the attacker claims the lease in: fingerprint-shaped, of a host that is none of the machines."""
    return "worker-" + hashlib.sha256(f"attacker/{source}".encode()).hexdigest()[:16]


def flood_tunnel(at: float, n: int) -> str:
    """The tunnel URL of the ``n``-th registration of a flood that began ``at``: tunnel-shaped, as the
    fleet's (an attacker can run real tunnels), unique per registration."""
    return f"https://flood-{int(at * 1000)}-{n}.tunnel.invalid"


def answer_fields(response: Response | None) -> dict[str, Any]:
    """The small fields of an answer the record keeps: ids, flags, the error and field of a refusal, the lease's
    holder, how many workers a listing gave."""
    if response is None or not isinstance(response.body, dict):
        return {}
    body = response.body
    fields = {k: body[k] for k in _ANSWER_FIELDS if k in body and isinstance(body[k], _SCALARS)}
    lease = body.get("lease")
    if isinstance(lease, dict) and isinstance(lease.get("holder"), _SCALARS):
        fields["holder"] = lease.get("holder")
    if isinstance(body.get("workers"), list):
        fields["workers"] = len(body["workers"])
    return fields


class _Attacker:
    """One attack's caller: its context at the edge, its header, and its calls (each recorded)."""

    def __init__(self, spec: Any, chaos: Chaos, host: str | None = None) -> None:
        self.spec = spec
        self.chaos = chaos
        node = f"attacker/{spec.source if host is None else host}"
        self.address = node_address(node)
        self.ctx = Ctx(node, Clock(), UniformSource(chaos.generator(node)), chaos.edge(spec))

    def call(self, method: str, path: str, body: Any = None, **aim: Any) -> Generator[Any, Any, Response | None]:
        """One call to the coordinator, then its record; the answer (None: no answer in time)."""
        try:
            response = yield HttpCall(COORDINATOR, method, path, body, ATTACK_TIMEOUT)
        except (ConnectError, RequestTimeout):
            response = None
        fields = {
            "action": self.spec.action,
            "method": method,
            "path": path,
            "source": self.address,
            "status": None if response is None else response.status,
            "answer": answer_fields(response),
            **aim,
        }
        yield Trace(ATTACK_TRACE, fields)
        return response

    def register(self, body: dict[str, Any], **aim: Any) -> Generator[Any, Any, Response | None]:
        """POST a registration; its tunnel URL is the attacker's own from now on."""
        tunnels = self.chaos.windows.setdefault(_TUNNELS, [])
        if body["tunnel_url"] not in tunnels:
            tunnels.append(body["tunnel_url"])
        return (yield from self.call("POST", REGISTER, body, tunnel_url=body["tunnel_url"], **aim))

    def start(self, gen: Generator[Any, Any, Any]) -> None:
        Driver(self.chaos.runtime, gen, self.ctx, _ended).start()

    def victims(self, count: int) -> Generator[Any, Any, list[str]]:
        """Other workers' ids: the first ``count`` that ``GET /api/workers`` lists (not the attacker's own
        registrations), or, when it lists none, the fleet's fingerprint ids (``worker-<sha256(host)[:16]>``)."""
        response = yield from self.call("GET", "/api/workers")
        own = set(self.chaos.windows.get(_TUNNELS, ()))
        ids: list[str] = []
        workers = response.body.get("workers") if response is not None and isinstance(response.body, dict) else None
        if response is not None and response.ok and isinstance(workers, list):
            for worker in workers:
                listed = isinstance(worker, dict) and isinstance(worker.get("id"), str)
                if listed and worker.get("tunnel_url") not in own:
                    ids.append(worker["id"])
        if not ids:
            ids = [f"worker-{_fingerprint(machine.name)}" for machine in self.chaos.machines.values()]
        return ids[:count]


def _send(attacker: _Attacker, path: str, body: Any) -> None:
    attacker.start(attacker.call("POST", path, body))


def _ended(_value: Any, exc: BaseException | None) -> None:
    if exc is not None:
        raise exc


def _fingerprint(hostname: str) -> str:
    """A machine's fingerprint as its agent computes it (Fix #5), from the host name alone."""
    return MachineInfo("", {}, hostname=hostname).fingerprint


def _offers(machine: Any) -> list[dict[str, Any]]:
    """The services a machine runs, as its agent offers them (name, version, port)."""
    return [
        {"name": name, "version": container.version, "port": machine.ports[name]}
        for name, container in machine.containers.items()
    ]


def _fleet_offers(chaos: Chaos, services: Sequence[str] | None) -> list[dict[str, Any]]:
    """``services`` (default: every service of the fleet) as a machine running them offers them."""
    offers: dict[str, dict[str, Any]] = {}
    for machine in chaos.machines.values():
        for offer in _offers(machine):
            offers.setdefault(offer["name"], offer)
    names = list(offers) if services is None else list(services)
    return [offers.get(name, {"name": name, "version": "1.0", "port": 443}) for name in names]


def _registration(tunnel_url: str, services: list[dict[str, Any]], fingerprint: str) -> dict[str, Any]:
    """A registration body as the agent writes it (fingerprint included, as Fix #5's agent sends it)."""
    return {
        "tunnel_url": tunnel_url,
        "services": services,
        "capabilities": {},
        "wants_heartbeat_leadership": False,
        "fingerprint": fingerprint,
    }


# --- the attacks ------------------------------------------------------------------------------------------


@register_fault("rogue_register")
def rogue_register(spec: Any, chaos: Chaos) -> None:
    """Register as each target machine (its fingerprint and services) with the attacker's tunnel URL, one every
    ``every``."""
    attacker = _Attacker(spec, chaos)
    machines = chaos.targets(spec)

    def attack() -> Generator[Any, Any, None]:
        for n, machine in enumerate(machines):
            if n:
                yield Sleep(spec.every)
            fingerprint = _fingerprint(machine.name)
            body = _registration(spec.tunnel_url, _offers(machine), fingerprint)
            yield from attacker.register(body, machine=machine.name, worker_id=f"worker-{fingerprint}")

    for machine in machines:
        chaos.record("rogue_register", machine, True)
    attacker.start(attack())


@register_fault("forged_heartbeat")
def forged_heartbeat(spec: Any, chaos: Chaos) -> None:
    """``times`` rounds, ``every`` apart, of heartbeats for other workers with the forged ``current_load``."""
    attacker = _Attacker(spec, chaos)

    def attack() -> Generator[Any, Any, None]:
        ids = yield from attacker.victims(spec.workers)
        for round_ in range(spec.times):
            if round_:
                yield Sleep(spec.every)
            for worker_id in ids:
                body = {"worker_id": worker_id, "status": "healthy", "current_load": spec.current_load,
                        "available_memory": "64.0GB"}  # fmt: skip
                yield from attacker.call("POST", HEARTBEAT, body, worker_id=worker_id)

    chaos.record("forged_heartbeat", chaos.edge(spec), True)
    attacker.start(attack())


@register_fault("forged_unregister")
def forged_unregister(spec: Any, chaos: Chaos) -> None:
    """Unregister other workers, one every ``every`` (no epoch: the attacker never saw their registrations'
    answers)."""
    attacker = _Attacker(spec, chaos)

    def attack() -> Generator[Any, Any, None]:
        for n, worker_id in enumerate((yield from attacker.victims(spec.workers))):
            if n:
                yield Sleep(spec.every)
            yield from attacker.call("POST", UNREGISTER, {"worker_id": worker_id}, worker_id=worker_id)

    chaos.record("forged_unregister", chaos.edge(spec), True)
    attacker.start(attack())


@register_fault("lease_theft")
def lease_theft(spec: Any, chaos: Chaos) -> None:
    """Every ``every`` for ``duration``: read the lease, then claim it in :func:`attacker_name` (a renewal once
    it holds it), or with ``release`` release it in its holder's name."""
    attacker = _Attacker(spec, chaos)
    name = attacker_name(spec.source)
    attempts = max(1, int(spec.duration / spec.every))

    def attack() -> Generator[Any, Any, None]:
        for attempt in range(attempts):
            if attempt:
                yield Sleep(spec.every)
            read = yield from attacker.call("GET", LEADER)
            lease = read.body.get("lease") if read is not None and read.ok and isinstance(read.body, dict) else None
            if spec.release:
                holder = lease.get("holder") if isinstance(lease, dict) else None
                if holder:
                    body = {"worker_id": holder, "observed": lease, "release": True}
                    yield from attacker.call("POST", LEADER, body, worker_id=holder)
            else:
                body = {"worker_id": name, "observed": lease, "release": False}
                yield from attacker.call("POST", LEADER, body, name=name)

    chaos.record("lease_theft", chaos.edge(spec), True)
    attacker.start(attack())


@register_fault("ssrf_register")
def ssrf_register(spec: Any, chaos: Chaos) -> None:
    """One registration per URL of ``urls``, one every ``every``, each a fresh fingerprint, offering
    ``services``."""
    attacker = _Attacker(spec, chaos)
    offers = _fleet_offers(chaos, spec.services)

    def attack() -> Generator[Any, Any, None]:
        for n, url in enumerate(spec.urls):
            if n:
                yield Sleep(spec.every)
            fingerprint = hashlib.sha256(f"ssrf/{url}".encode()).hexdigest()[:16]
            yield from attacker.register(_registration(url, offers, fingerprint), ssrf=True)

    chaos.record("ssrf_register", chaos.edge(spec), True)
    attacker.start(attack())


@register_fault("registration_flood")
def registration_flood(spec: Any, chaos: Chaos) -> None:
    """``rate`` registrations a second for ``duration``, the n-th at ``at + n / rate`` from host ``n % sources``,
    each its own call."""
    hosts = [spec.source] if spec.sources == 1 else [f"{spec.source}-{k}" for k in range(spec.sources)]
    attackers = [_Attacker(spec, chaos, host) for host in hosts]
    offers = _fleet_offers(chaos, spec.services)
    count = max(1, int(spec.rate * spec.duration))

    def one(n: int) -> None:
        fingerprint = hashlib.sha256(f"flood/{spec.at}/{n}".encode()).hexdigest()[:16]
        body = _registration(flood_tunnel(spec.at, n), offers, fingerprint)
        attacker = attackers[n % len(attackers)]
        attacker.start(attacker.register(body, flood=True))

    for n in range(count):
        chaos.after(n / spec.rate, partial(one, n))
    chaos.record("registration_flood", chaos.edge(spec), True)


@register_fault("malformed_requests")
def malformed_requests(spec: Any, chaos: Chaos) -> None:
    """``count`` POSTs of :func:`malformed_body` bodies to :data:`ENDPOINTS` in turn, at uniform times within
    ``within``, drawn from the stream ``malformed_requests/<edge>/<at>``."""
    attacker = _Attacker(spec, chaos)
    rng = chaos.generator(f"malformed_requests/{spec.edge}/{spec.at}")
    times = sorted(float(t) for t in rng.uniform(0.0, spec.within, spec.count))
    for n, delay in enumerate(times):
        path = ENDPOINTS[n % len(ENDPOINTS)]
        body = malformed_body(rng, path)
        chaos.after(delay, partial(_send, attacker, path, body))
    chaos.record("malformed_requests", chaos.edge(spec), True)


# --- the grammar of malformed bodies ------------------------------------------------------------------------

_TEMPLATES: dict[str, dict[str, Any]] = {
    REGISTER: {
        "tunnel_url": "https://malformed.attacker.example",
        "services": [{"name": "malformed", "version": "1.0", "port": 8000}],
        "capabilities": {},
        "wants_heartbeat_leadership": False,
        "fingerprint": "0000malformed000",
    },
    HEARTBEAT: {"worker_id": "worker-0000malformed000", "status": "healthy", "current_load": 0.5},
    UNREGISTER: {"worker_id": "worker-0000malformed000"},
    LEADER: {"worker_id": "worker-0000malformed000", "observed": None, "release": False},
}
"""Well-formed bodies of each endpoint, for ids and services no machine has (a body that happens to be valid
changes nothing any client sees)."""
_STRINGS = ("", "upload", "a:b", "../admin", "worker-1/../x", "x" * 300, "\x00\n\u2028", "1e309", "-0.1", "true")
_NUMBERS = (0, -1, 1, 2**53 + 1, 2**64, -(2**63), 0.5, -0.1, 1.5, 1e308, -1e308, 5e-324)
_HOSTILE = (
    "a:b",
    "worker-x/../y",
    "",
    "x" * 1000,
    -0.1,
    1e9,
    [{"name": f"s{i}", "version": "1.0", "port": 8000} for i in range(200)],
    {"name": "upload"},
    [None] * 200,
)
_KEYS = ("worker_id", "services", "current_load", "observed", "tunnel_url", "fingerprint", "release", "extra")


def _pick(rng: Any, options: Sequence[Any]) -> Any:
    return options[int(rng.integers(0, len(options)))]


def _json_value(rng: Any, depth: int = 0) -> Any:
    """Any JSON value: a scalar, a string, or (above depth 3 only scalars) a list or object of such values."""
    kind = int(rng.integers(0, 7 if depth < 3 else 5))
    if kind == 0:
        return None
    if kind == 1:
        return bool(rng.integers(0, 2))
    if kind == 2:
        return _pick(rng, _NUMBERS)
    if kind == 3:
        return _pick(rng, _STRINGS)
    if kind == 4:
        return "".join(chr(int(rng.integers(32, 0x2FF))) for _ in range(int(rng.integers(0, 12))))
    if kind == 5:
        return [_json_value(rng, depth + 1) for _ in range(int(rng.integers(0, 4)))]
    return {_pick(rng, (*_KEYS, *_STRINGS[:5])): _json_value(rng, depth + 1) for _ in range(int(rng.integers(0, 4)))}


def malformed_body(rng: Any, path: str) -> Any:
    """A malformed body for endpoint ``path`` (see the module docstring); ``rng`` needs only ``integers(lo, hi)``
    (a ``numpy.random.Generator``, or a test's hypothesis-backed stand-in)."""
    if int(rng.integers(0, 3)) == 0:
        return _json_value(rng)
    body = dict(_TEMPLATES[path])
    for _ in range(int(rng.integers(1, 4))):
        key = _pick(rng, (*body, *_KEYS))
        change = int(rng.integers(0, 3))
        if change == 0:
            body.pop(key, None)
        elif change == 1:
            body[key] = _json_value(rng)
        else:
            body[key] = _pick(rng, _HOSTILE)
    return body
