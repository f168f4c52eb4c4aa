"""The worker agent that runs on each machine, as a sans-IO generator (the seed's Python agent).

Baseline behaviour, from the review: detect services from a hard-coded name -> port list (flaw #7), probing each
``/health`` once, at registration only (flaw #11); register (asking for heartbeat leadership when configured);
then every ``heartbeat_interval`` sample the CPU for one second (``psutil.cpu_percent(interval=1)``) and send a
heartbeat with load and free memory. A failed registration is retried after one heartbeat interval. On a graceful
stop (:class:`~rmasim.system.ops.Shutdown` thrown in) it unregisters; on a crash it simply vanishes. Every start
of the agent process is a new registration with a new random id (flaw #4). With ``agent_auth`` every call is
signed with the machine's secret (:mod:`.signing`), kept on the machine's disk across restarts; a 429 is
honoured: the agent waits its Retry-After before the next call. Once registered, it reports to the
observer a ``registered`` trace (its id and services) and, when the answer names it heartbeat leader, a
``leadership`` trace: it then believes it leads until its process ends, as nothing ever revokes it.

With ``leader: lease`` the registration grants nothing; the agent runs a :class:`~.elector.LeaseElector` between
its heartbeats (one loop, waking for whichever is due first), releases the lease on a graceful stop, and reports
every change of belief with a ``leadership`` trace. With ``leader_duty`` an agent that believes it leads does the
leader's duty every ``leader_duty`` in the same loop: POST /api/leader/duty with its id and the lease's fencing
token (none with the naive leader; a leader's call ends by the end of its lease).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import signing
from .elector import LeaseElector
from .ops import (
    COORDINATOR,
    ConnectError,
    HttpCall,
    KVFailure,
    MachineStats,
    Now,
    Random,
    ReadLoad,
    RequestTimeout,
    Response,
    Shutdown,
    Sleep,
    Trace,
)

__all__ = ["KNOWN_SERVICES", "Agent", "MachineInfo"]

#: The seed agent's ``service_checks``: the only services it can detect.
KNOWN_SERVICES: Mapping[str, int] = {"upload": 8103, "rag": 8102}

#: The agent's own HTTP timeout for coordinator calls (``requests.post(..., timeout=10)``).
AGENT_HTTP_TIMEOUT = 10.0
#: ``requests.get(.../health, timeout=2)``
HEALTH_TIMEOUT = 2.0

_CALL_FAILURES = (ConnectError, RequestTimeout, KVFailure)
_MONOTONIC = Now(monotonic=True)
#: Active probes (Kubernetes' defaults): timeout, and failures in a row before a service is unhealthy.
PROBE_TIMEOUT = 1.0
PROBE_FAILURES = 3
#: ``ReadLoad`` before each heartbeat takes this long.
LOAD_SAMPLE = 1.0

# Operations are immutable values: the loop's recurring ones are built once, not at every heartbeat.
_READ_LOAD = ReadLoad(LOAD_SAMPLE)
_sleep = functools.lru_cache(maxsize=256)(Sleep)
"""``Sleep(seconds)``, one instance per duration."""


@dataclass(frozen=True, slots=True)
class MachineInfo:
    """What the agent knows about its machine: tunnel URL, service ports, capabilities, host name."""

    tunnel_url: str
    service_ports: Mapping[str, int]
    capabilities: Mapping[str, Any] = field(default_factory=dict)
    hostname: str = ""
    disk: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """What the agent keeps on the machine's disk: it outlives the agent process (``agent_auth``: the secret and
    the last timestamp signed)."""

    @property
    def fingerprint(self) -> str:
        """Fix #5's ``get_worker_fingerprint``: a stable digest of the machine (host name; no MAC here)."""
        return hashlib.sha256(self.hostname.encode()).hexdigest()[:16]


class Agent:
    """One run of the agent process on a machine (a restart creates a new ``Agent``).

    ``worker_id`` is set once registration succeeded; ``services`` are those detected at startup.
    """

    def __init__(self, machine: MachineInfo, policy: Any) -> None:
        self.machine = machine
        self.policy = policy
        self.worker_id: str | None = None
        self.services: list[dict[str, Any]] = []
        self.elector: LeaseElector | None = None
        self.probe_status: dict[str, str] = {}
        """Service name -> healthy | unhealthy, from the active probes (``probe_interval``)."""
        self.probe_failures: dict[str, int] = {}
        self.versions: dict[str, str] = {}
        """Service name -> version its /health reported last (``version_routing`` sends them with heartbeats)."""
        self.epoch: Any = None
        """The registration's epoch, when the coordinator fences registrations; sent back with heartbeats and the
        unregister."""
        self.retry_after = 0.0
        """Seconds the last 429 asked to wait (its Retry-After); 0 when the last call was not refused so."""
        self.naive_leader = False
        """The registration answered ``is_heartbeat_leader`` (the naive leader: believed until the process ends)."""

    def run(self) -> Generator[Any, Any, None]:
        """The agent's main loop; returns after a graceful stop."""
        try:
            self.services = yield from self.detect_services()
            yield from self.register_until_accepted()
            if self.policy.leader == "lease" and self.policy.wants_heartbeat_leadership:
                assert self.worker_id is not None
                self.elector = LeaseElector(self.worker_id, self.policy, self.call, AGENT_HTTP_TIMEOUT)
            if self.elector is not None or self.policy.probe_interval is not None or self.policy.leader_duty:
                yield from self.heartbeat_and_elect(self.elector)
            while True:
                yield _sleep(self.policy.heartbeat_interval)
                yield from self.send_heartbeat()
        except Shutdown:
            if self.elector is not None:
                yield from self.elector.release()
            if self.worker_id is not None:
                yield from self.call("POST", "/api/worker/unregister", self._identified({"worker_id": self.worker_id}))

    def register_until_accepted(self) -> Generator[Any, Any, None]:
        """Register, retrying every heartbeat interval (or after the Retry-After of a 429, when longer) until the
        coordinator accepts."""
        self.worker_id = None
        while self.worker_id is None:
            self.retry_after = 0.0
            self.worker_id = yield from self.register()
            if self.worker_id is None:
                yield Sleep(max(self.policy.heartbeat_interval, self.retry_after))

    def health(self, port: int, timeout: float, name: str = "") -> Generator[Any, Any, Response | None]:
        """GET ``http://localhost:{port}/health``; the answer, or None when there was none in ``timeout``. The
        version a 200 reports is remembered for service ``name``."""
        try:
            resp = yield HttpCall(f"http://localhost:{port}", "GET", "/health", None, timeout)
        except _CALL_FAILURES:
            return None
        if resp.status == 200 and name:
            self.versions[name] = str((resp.body or {}).get("version", "unknown"))
        return resp

    def probe_services(self) -> Generator[Any, Any, list[dict[str, str]]]:
        """Fix #3's health check: ``healthy`` on a 200, ``degraded`` on another status, ``unhealthy`` on none."""
        health = []
        for service in self.services:
            resp = yield from self.health(service["port"], HEALTH_TIMEOUT, service["name"])
            status = "unhealthy" if resp is None else "healthy" if resp.status == 200 else "degraded"
            health.append({"name": service["name"], "status": status})
        return health

    def detect_services(self) -> Generator[Any, Any, list[dict[str, Any]]]:
        """Probe ``/health`` of each candidate service; keep those answering 200. Candidates: the seed's fixed
        name -> port list (flaw #7: a service not in it is never registered), or with ``service_discovery:
        configured`` every service configured on the machine."""
        if self.policy.service_discovery == "configured":
            candidates = dict(self.machine.service_ports)
        else:
            candidates = {
                name: self.machine.service_ports[name] or port
                for name, port in KNOWN_SERVICES.items()
                if name in self.machine.service_ports
            }
        found = []
        for name, port in candidates.items():
            resp = yield from self.health(port, HEALTH_TIMEOUT, name)
            if resp is not None and resp.status == 200:
                found.append({"name": name, "version": self.versions[name], "port": port})
        return found

    def register(self) -> Generator[Any, Any, str | None]:
        """POST /api/worker/register; the new worker id, or ``None`` when registration failed."""
        body = {
            "tunnel_url": self.machine.tunnel_url,
            "services": self.services,
            "capabilities": dict(self.machine.capabilities),
            "wants_heartbeat_leadership": bool(self.policy.wants_heartbeat_leadership),
        }
        if self.policy.identity == "fingerprint":
            body["fingerprint"] = self.machine.fingerprint
        resp = yield from self.call("POST", "/api/worker/register", body)
        if resp is None or resp.status != 200:
            return None
        worker_id = str(resp.body["worker_id"])
        self.epoch = resp.body.get("epoch")
        yield Trace("registered", {"worker_id": worker_id, "services": [s["name"] for s in self.services]})
        if resp.body.get("is_heartbeat_leader"):
            # The baseline never revokes it: the agent believes it leads until its process ends.
            self.naive_leader = True
            yield Trace("leadership", {"worker_id": worker_id, "leader": True})
        return worker_id

    def heartbeat_and_elect(self, elector: LeaseElector | None) -> Generator[Any, Any, None]:
        """The agent's loop when it has more than heartbeats to do: heartbeats every ``heartbeat_interval`` after
        the last one; lease actions when due (a leader's heartbeat waits when it could not end before its lease
        does); with ``probe_interval``, a probe round when due, and a heartbeat at once when a status changed;
        with ``leader_duty``, while it believes it leads, the duty when due."""
        interval = self.policy.heartbeat_interval
        next_heartbeat = (yield _MONOTONIC) + interval
        probe_every = self.policy.probe_interval
        next_probe = next_heartbeat - interval + probe_every if probe_every is not None else float("inf")
        duty_every = self.policy.leader_duty
        next_duty = next_heartbeat - interval
        while True:
            now = yield _MONOTONIC
            if elector is not None:
                yield from elector.expire(now)
                if now >= elector.next_action:
                    yield from elector.step()
                    continue
            lease_end = elector.lease_end if elector is not None and elector.leading else float("inf")
            room = lease_end - now > LOAD_SAMPLE + 0.1
            leading = elector.leading if elector is not None else self.naive_leader
            if duty_every is not None and leading and now >= next_duty:
                yield from self.do_duty(elector.timeout(now) if elector is not None else AGENT_HTTP_TIMEOUT)
                next_duty = (yield _MONOTONIC) + duty_every
                continue
            if probe_every is not None and now >= next_probe:
                changed = yield from self.probe_round()
                next_probe = (yield _MONOTONIC) + probe_every
                if changed and room:
                    next_heartbeat = now  # report the change at once
                continue
            if now >= next_heartbeat and room:
                yield from self.send_heartbeat(elector.timeout(now + LOAD_SAMPLE) if elector else AGENT_HTTP_TIMEOUT)
                next_heartbeat = (yield _MONOTONIC) + interval
                continue
            wake = min(elector.next_action if elector is not None else float("inf"), lease_end, next_probe)
            if duty_every is not None and leading:
                wake = min(wake, next_duty)
            if now < next_heartbeat:
                wake = min(wake, next_heartbeat)
            yield Sleep(max(wake - now, 1e-3))

    def do_duty(self, timeout: float) -> Generator[Any, Any, None]:
        """The leader's duty (``leader_duty``): POST /api/leader/duty with this agent's id and fencing token (None
        with the naive leader). A refusal (409: a stale token) changes nothing here; the elector learns of a new
        holder at its next renewal."""
        token = self.elector.token if self.elector is not None else None
        yield from self.call("POST", "/api/leader/duty", {"worker_id": self.worker_id, "token": token}, timeout)

    def probe_round(self) -> Generator[Any, Any, bool]:
        """Active probes (flaw #11), Kubernetes' defaults: /health with a 1 s timeout; a service turns unhealthy
        after 3 failures in a row and healthy again after 1 success. True when some status changed."""
        changed = False
        for service in self.services:
            name = service["name"]
            version = self.versions.get(name)
            resp = yield from self.health(service["port"], PROBE_TIMEOUT, name)
            ok = resp is not None and resp.status == 200
            if self.policy.version_routing and self.versions.get(name) != version:
                changed = True  # a new version answers: report it at once
            failures = 0 if ok else self.probe_failures.get(name, 0) + 1
            self.probe_failures[name] = failures
            status = self.probe_status.get(name, "healthy")
            new = "healthy" if ok else ("unhealthy" if failures >= PROBE_FAILURES else status)
            if new != status:
                self.probe_status[name] = new
                changed = True
        return changed

    def send_heartbeat(self, timeout: float = AGENT_HTTP_TIMEOUT) -> Generator[Any, Any, None]:
        """With ``service_health`` (Fix #3) probe each service's /health first; sample CPU for a second, then POST
        /api/worker/heartbeat (with ``version_routing``, with each service's version as /health last said). Errors
        are logged and ignored, a 404 (the coordinator purged this worker) too, unless ``rejoin``: then the agent
        registers again."""
        health = None
        if self.policy.service_health:
            if self.policy.probe_interval is not None:  # the active probes' verdicts
                health = [
                    {"name": s["name"], "status": self.probe_status.get(s["name"], "healthy")} for s in self.services
                ]
            else:
                health = yield from self.probe_services()
        elif self.policy.version_routing and self.policy.probe_interval is None:
            yield from self.probe_services()  # learn the versions now answering
        stats: MachineStats = yield _READ_LOAD
        body: dict[str, Any] = {
            "worker_id": self.worker_id,
            "status": "healthy",
            "current_load": stats.queue if self.policy.load_signal == "queue" else stats.cpu,
            "available_memory": f"{stats.free_memory_gb:.1f}GB",
        }
        if health is not None:
            body["service_health"] = health
        if self.policy.version_routing:
            body["versions"] = {s["name"]: self.versions.get(s["name"], s["version"]) for s in self.services}
        self.retry_after = 0.0
        resp = yield from self.call("POST", "/api/worker/heartbeat", self._identified(body), timeout)
        if self.retry_after > 0.0:  # a 429: wait as long as it asks before anything else
            yield Sleep(self.retry_after)
        # 404: purged; 409 (epoch_checks): a newer registration of this id exists
        if resp is not None and resp.status in (404, 409) and self.policy.rejoin:
            yield Trace("rejoin", {"worker_id": self.worker_id})
            yield from self.register_until_accepted()
            if self.elector is not None and self.worker_id is not None:
                yield from self.elector.rename(self.worker_id)

    def _identified(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with the registration's epoch, when there is one."""
        return body if self.epoch is None else {**body, "epoch": self.epoch}

    def call(
        self, method: str, path: str, body: Any, timeout: float = AGENT_HTTP_TIMEOUT
    ) -> Generator[Any, Any, Response | None]:
        """One coordinator call (signed with ``agent_auth``); ``None`` when it could not be made. A 429's
        Retry-After is kept in ``retry_after``."""
        headers = (yield from self.credentials(method, path, body)) if self.policy.agent_auth else ()
        try:
            resp: Response = yield HttpCall(COORDINATOR, method, path, body, timeout, headers)
        except _CALL_FAILURES:
            return None
        if resp.status == 429:
            try:
                self.retry_after = max(0.0, float(resp.header("retry-after") or 0.0))
            except ValueError:
                self.retry_after = 0.0
        elif resp.status == 200 and path == "/api/worker/register" and self.policy.agent_auth:
            self.machine.disk["enrolled"] = True
        return resp

    def credentials(self, method: str, path: str, body: Any) -> Generator[Any, Any, tuple[tuple[str, str], ...]]:
        """The headers of a signed call (:mod:`rmasim.system.signing`): the machine's secret, drawn once from the
        agent's stream and kept on disk; a timestamp of its clock, strictly above the last one it signed."""
        disk = self.machine.disk
        secret = disk.get("secret")
        if secret is None:
            secret = ""
            for _ in range(4):  # 4 x 52 bits
                secret += f"{int((yield Random()) * 2**52):013x}"
            disk["secret"] = secret
        now = yield Now()
        seconds = max(round(now, 3), round(disk.get("last_signed", float("-inf")) + 0.001, 3))
        disk["last_signed"] = seconds
        timestamp = signing.stamp(seconds)
        text = signing.message(method, path, body, timestamp)
        headers = [
            (signing.AGENT_ID, f"worker-{self.machine.fingerprint}"),
            (signing.TIMESTAMP, timestamp),
            (signing.SIGNATURE, signing.sign(secret, text)),
        ]
        if path == "/api/worker/register" and not disk.get("enrolled"):
            headers += [
                (signing.AUTHORIZATION, f"Bearer {self.policy.bootstrap_token}"),
                (signing.ENROLL_SECRET, secret),
            ]
        return tuple(headers)
