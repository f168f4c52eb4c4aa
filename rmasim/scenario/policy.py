"""Coordinator and agent policy: every fix is a named knob, every preset is a set of knob values.

``Policy`` holds the knobs with the *baseline* values, i.e. the behaviour of the seed's code as reviewed. A
preset (``baseline``, later ``seed-fixes`` and ``reference``) overrides some knobs; a scenario picks a preset
and may override single knobs on top (``coordinator: {preset: baseline, heartbeat_interval: 10s}``), so the
effect of each fix can be measured alone.

To add a knob, add one field to ``Policy`` with its baseline default and a description: the scenario's
``coordinator`` section, presets and the JSON Schema pick it up from there. To add a preset, call
``register_preset(name, doc, **knob_values)``; values are written as in a scenario file (``"10s"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from .limits import MAX_BREAKER_CALLS
from .names import unknown_name
from .units import Duration, PositiveDuration
from .versions import VersionRule

__all__ = ["PRESETS", "Policy", "Preset", "VersionRule", "register_preset"]


def _registered_balancer(name: str) -> str:
    """A balancer name must be registered (looked up through :mod:`rmasim.scenario.names`, set by the engine)."""
    problem = unknown_name("balancer", name)
    if problem:
        raise ValueError(problem)
    return name


class Policy(BaseModel):
    """The resolved knobs of the coordinator and the agent (defaults: the seed's code)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    heartbeat_interval: PositiveDuration = Field(
        default=30.0,
        description=(
            "The agent's sleep between two heartbeats. The period is longer: this sleep, the agent's 1 s CPU "
            "sample (psutil.cpu_percent(interval=1)) and the heartbeat's round trip (31 s + a round trip by default)."
        ),
    )
    offline_after: PositiveDuration = Field(
        default=90.0, description="A worker whose last heartbeat is older than this is listed as offline."
    )
    request_timeout: PositiveDuration = Field(default=50.0, description="Proxy timeout for a forwarded request.")
    wants_heartbeat_leadership: bool = Field(
        default=True, description="The agent asks for heartbeat leadership at registration (get-then-put)."
    )
    balancer: Annotated[str, AfterValidator(_registered_balancer)] = Field(
        default="random",
        description="How the proxy picks among candidates (a name registered in rmasim.system BALANCERS).",
    )
    load_info: Literal["reported", "live", "local", "header"] = Field(
        default="reported",
        description="Where a load-aware balancer's figures come from. `reported`: the `current_load` in the worker "
        "record as read at the edge (as old as the heartbeat plus the KV cache); `live`: the machine's true current "
        "figure (simulation only: the reference point); `local`: the edge's own count of requests in flight; "
        "`header`: the requests in flight the machine reported on its last answer to this edge (an `x-in-flight` "
        "response header, as ORCA's load reports) plus the edge's own forwards to it since (also for "
        "`least-outstanding`).",
    )
    load_signal: Literal["cpu", "queue"] = Field(
        default="cpu",
        description="What the agent reports as `current_load` (and `live` reads). `cpu`: busy slots / capacity over "
        "the last second, at most 1.0 (psutil's cpu_percent); `queue`: requests in flight / capacity, unbounded.",
    )
    unregister_cleanup: bool = Field(
        default=False,
        description="Fix #1: unregister also removes the worker from every service index and the leader key.",
    )
    stale_cleanup: Literal["none", "on_route", "sweeper"] = Field(
        default="none",
        description="Fix #2: `on_route` drops index entries whose record is missing or whose heartbeat is older "
        "than offline_after, while routing (the review's code); `sweeper` purges, every sweep_interval (a Cron "
        "Trigger), the workers whose heartbeat is older than purge_after: index entries, record and worker_ids "
        "entry; `none`: nothing purges stale workers.",
    )
    sweep_interval: PositiveDuration = Field(
        default=60.0, description="Period of the `sweeper` (a Cron Trigger: one minute at the finest)."
    )
    purge_after: PositiveDuration = Field(
        default=90.0, description="The `sweeper` purges a worker whose last heartbeat is older than this."
    )
    stale_by: Literal["timestamp", "observation"] = Field(
        default="timestamp",
        description="How the `sweeper` ages a worker. `timestamp`: now (this edge's clock) minus the record's "
        "`last_heartbeat` (stamped by the heartbeat's edge clock), so an edge clock that is off or jumps makes live "
        "workers look dead or dead ones alive; `observation`: how long the sweeper itself has seen the record "
        "unchanged, by its monotonic clock (client-go's rule for leases), so no clock error matters.",
    )
    purge_brake: bool = Field(
        default=False,
        description="Eureka's self-preservation for the `sweeper`: purge nothing while fewer than 85% of the "
        "registered workers renewed within the last minute and two or more are silent; otherwise purge at most 15% "
        "of the registry (at least one worker) a sweep. In a registry of fewer than 10 workers: hold only while no "
        "worker renewed, and no 15% cap.",
    )
    identity: Literal["random", "fingerprint"] = Field(
        default="random",
        description="Fix #5: `fingerprint` gives each machine a stable id; re-registration replaces its old record "
        "and index entries. `random`: a new id at every registration.",
    )
    rejoin: bool = Field(
        default=False,
        description="The agent registers again when a heartbeat answers 404 (the coordinator purged it, say after "
        "a partition); the seed's agent ignores the 404 and stays out of the registry for good.",
    )
    service_health: bool = Field(
        default=False,
        description="Fix #3: before each heartbeat the agent probes every service's /health (2 s timeout) and "
        "reports it healthy (200), degraded (another status) or unhealthy (no answer); the coordinator stores the "
        "report in the record and routing skips providers whose service is unhealthy.",
    )
    probe_interval: PositiveDuration | None = Field(
        default=None,
        description="Flaw #11: the agent probes each service's /health this often (1 s timeout; unhealthy after 3 "
        "failures in a row, healthy after 1 success, the Kubernetes defaults) and sends a heartbeat at once when a "
        "status changes; with `service_health` the heartbeat reports these verdicts. None: no active probes.",
    )
    service_timeouts: dict[str, PositiveDuration] = Field(
        default_factory=dict,
        description="Flaw #10: a forward timeout per service name (`{upload: 2s}`); other services use "
        "request_timeout.",
    )
    retries: int = Field(
        default=0,
        ge=0,
        le=5,
        description="Flaw #10: retry a failed forward (connection failure, timeout, 5xx) on another provider this "
        "many times, after a jittered 25-250 ms backoff, within the edge's retry budget.",
    )
    retry_budget_percent: float = Field(
        default=0.2, ge=0.0, le=1.0, description="Retries allowed per edge as a share of its requests (10 s window)."
    )
    retry_budget_min_per_sec: float = Field(
        default=10.0, ge=0.0, description="Retries per second allowed on top of the share (Finagle's reserve)."
    )
    deadline_propagation: bool = Field(
        default=False,
        description="Each forward carries its timeout (header x-request-timeout, as gRPC's grpc-timeout), and the "
        "container drops, unserved, a request whose turn comes after its caller gave up: work nobody waits for takes "
        "no capacity, so a backlog cannot outlive its cause.",
    )
    admission_wait: PositiveDuration | None = Field(
        default=None,
        description="Admission control by the agent: a request that would wait longer than this for a container "
        "slot is refused at once with 503 and Retry-After (CoDel's queueing-delay target); the proxy tries another "
        "provider within the retry budget, and breakers and ejection do not count such a refusal as a failure. "
        "None: every request queues.",
    )
    outlier_ejection: bool = Field(
        default=False,
        description="Flaw #9, Envoy's outlier detection per edge: 5 consecutive failed forwards to a provider eject "
        "it for 30 s x its ejections (at most 300 s), never more than 10% of a service's providers (at least one); "
        "every provider ejected, the edge routes among them anyway (panic mode).",
    )
    outlier_release: Literal["time", "heartbeat"] = Field(
        default="time",
        description="How an ejection ends. `time`: when its time is up (Envoy). `heartbeat`: when its time is up and "
        "the edge has seen a heartbeat from the provider since (its record changed), so a dead machine stays out "
        "until it is purged; the ejection cap then counts, and panic mode routes among, only the ejected providers "
        "heard from since their ejection (none: 503).",
    )
    circuit_breaker: bool = Field(
        default=False,
        description="Flaw #9, a circuit breaker per (edge, worker, service) in the edge's memory (resilience4j): it "
        "opens when at least breaker_min_calls of the last breaker_window forwards were seen and breaker_failure_rate "
        "of them failed; open, the provider gets nothing for breaker_open_for; then breaker_half_open_calls trial "
        "forwards decide between closing and opening again. A request whose providers are all open is shed (503).",
    )
    breaker_failure_rate: float = Field(
        default=0.5, gt=0.0, le=1.0, description="Failure share of the window that opens a breaker."
    )
    breaker_window: int = Field(
        default=100, ge=1, le=MAX_BREAKER_CALLS, description="Forwards in a breaker's sliding window."
    )
    breaker_min_calls: int = Field(
        default=20, ge=1, le=MAX_BREAKER_CALLS, description="Forwards seen before a breaker may open."
    )
    breaker_open_for: PositiveDuration = Field(default=60.0, description="How long an open breaker stays open.")
    breaker_half_open_calls: int = Field(
        default=10,
        ge=1,
        le=MAX_BREAKER_CALLS,
        description="Trial forwards a half-open breaker lets through before it decides.",
    )
    version_routing: bool = Field(
        default=False,
        description="Flaw #6: the agent reports each service's version (from /health) with every heartbeat, the "
        "registry keeps it, admin services shows versions per service, the proxy routes by the `versions` rules and "
        "names the version it expects on each forward (a container of another version refuses with 412 and the "
        "proxy tries another provider). Off: versions are stored at registration and never used.",
    )
    versions: dict[str, VersionRule] = Field(
        default_factory=dict,
        description="The rollout plan per service, used with version_routing: `any`, `{pin: '1.0'}` (only that "
        "version) or `{canary: {version: '1.1', weight: 0.1}}` (that share of requests to that version, the rest "
        "to the others; all to whichever exists when only one does).",
    )
    metrics: bool = Field(
        default=False,
        description="Flaw #12: each edge counts requests, errors (5xx) and latency per service in its memory and "
        "answers GET /api/admin/metrics with them.",
    )
    service_discovery: Literal["known_list", "configured"] = Field(
        default="known_list",
        description="Flaw #7: `known_list` detects only the seed's hard-coded services (upload, rag); `configured` "
        "probes every service configured on the machine.",
    )
    route_cache: Duration = Field(
        default=10.0,
        description="With a registry_layout other than `shared_lists`: how long an edge reuses a service's provider "
        "list and worker records from its memory before reading them again (0s: every request reads them; the "
        "records' load figures are then as fresh as the store).",
    )
    registry_layout: Literal["shared_lists", "per_worker_keys", "strong"] = Field(
        default="shared_lists",
        description="Where the registry lives. `shared_lists`: the seed's JSON lists `worker_ids` and "
        "`service:{name}` in Workers KV, updated by read-modify-write (concurrent updates from two edges lose one); "
        "`per_worker_keys`: one KV key per (service, worker), found by `list(prefix)`, so nothing is "
        "read-modify-written; `strong`: the lists in a Durable Object, updated by compare-and-set.",
    )
    leader: Literal["naive", "lease"] = Field(
        default="naive",
        description="Heartbeat leadership. `naive`: the seed's get-then-put at registration, never revoked; "
        "`lease`: a lease in the Durable Object taken and renewed by compare-and-set, with a fencing token that "
        "grows with every grant (Kubernetes client-go's elector).",
    )
    validate_requests: bool = Field(
        default=False,
        description="The coordinator parses every request body into a typed request and answers 400 (with the "
        "error and the field) to anything else: ids without ':' or '/', service names `^[a-z][a-z0-9_-]{0,62}$`, "
        "bounded versions and strings, `current_load` in [0, 1] (`queue` signal: [0, 1e6]), at most 64 services "
        "per worker; a proxied service name that fails the pattern is a 404, and an edge keeps at most 128 route "
        "tables and metrics entries for services without providers. Off: the seed's handlers read bodies as they "
        "come, and a malformed one is a 500 (an uncaught exception, counted in coordinator.errors).",
    )
    agent_auth: bool = Field(
        default=False,
        description="Agents prove who they are (rmasim.system.signing): the first registration of a machine's "
        "stable id carries the bootstrap_token and the secret the machine drew (kept on its disk, across restarts), "
        "stored once in the Durable Object; every agent call (register, heartbeat, unregister, lease, duty) is signed "
        "HMAC-SHA256 over method, path, timestamp and body, for the worker id its body names, with a timestamp within "
        "signature_skew of the object's clock and above the last accepted one (no replay). Refused: 401 (unsigned, "
        "bad signature, unknown id, stale or replayed timestamp), 403 (signed for another id). Needs identity: "
        "fingerprint. Off: anyone may call as any worker.",
    )
    bootstrap_token: str = Field(
        default="rmasim-bootstrap-token",
        min_length=1,
        description="`agent_auth`: the fleet's enrollment secret (a deployment secret, like a kubeadm join token).",
    )
    signature_skew: PositiveDuration = Field(
        default=300.0,
        description="`agent_auth`: the most a signed timestamp may differ from the Durable Object's clock (Kerberos' "
        "5 minutes): a machine whose clock is off by more cannot call until it is fixed.",
    )
    admin_auth: bool = Field(
        default=False,
        description="/api/admin/* answer 401 without `authorization: Bearer <admin_token>`; GET /api/workers leaves "
        "out tunnel URLs and epochs without it; the lease and duty routes take it instead of an agent's signature "
        "(an operator). Off: the admin endpoints answer anyone, with every tunnel URL.",
    )
    admin_token: str = Field(default="rmasim-admin-token", min_length=1, description="`admin_auth`: the token.")
    epoch_checks: bool = Field(
        default=False,
        description="A heartbeat or unregister must carry the epoch of the worker's current registration (409 "
        "otherwise; an agent with `rejoin` registers again); POST /api/leader is judged inside the Durable Object by "
        "its clock: renewals and releases only by the stored holder, a grant only of a lease without holder or "
        "expired (lease_duration after its last renewal). Off: the epoch is optional and the lease goes to whoever "
        "sends back its current value.",
    )
    tunnel_validation: bool = Field(
        default=False,
        description="A registration's tunnel_url, and every forward's, must be https (port 443, no path, user info, "
        "query or fragment) with a host matching tunnel_domains, resolving (the world's DNS) only to global "
        "addresses: no loopback, private, link-local, shared or metadata address (400 at registration, 502 at a "
        "forward). Off: the proxy forwards to any URL a worker registered.",
    )
    tunnel_domains: list[str] = Field(
        default_factory=lambda: ["*.cfargotunnel.com", "*.trycloudflare.com", "*.tunnel.invalid"],
        max_length=32,
        description="`tunnel_validation`: host patterns (`*.d` is any name below d) a tunnel may have; the default "
        "is Cloudflare Tunnel's hostnames and the simulated fleet's (`{group}-{index}.tunnel.invalid`).",
    )
    rate_limits: bool = Field(
        default=False,
        description="Token buckets per source address (cf-connecting-ip) in each isolate's memory: registrations "
        "burst 5 then 1 a minute, heartbeats burst 10 then 1 every 3 s; beyond, 429 with Retry-After, which the agent "
        "honours. Off: no limit.",
    )
    lease_duration: PositiveDuration = Field(
        default=15.0,
        description="`lease`: a candidate takes over a lease it has seen unchanged for this long; a leader that "
        "could not renew within this long of its last renewal steps down.",
    )
    lease_renew: PositiveDuration = Field(default=10.0, description="`lease`: the leader renews this often.")
    lease_retry: PositiveDuration = Field(
        default=2.0, description="`lease`: candidates poll, and a leader retries a failed renewal, this often."
    )
    leader_duty: PositiveDuration | None = Field(
        default=None,
        description="The heartbeat leader's duty: the agent that believes it leads calls POST /api/leader/duty this "
        "often with its worker id and fencing token (the lease's; none with the `naive` leader), and the coordinator "
        "records the write (the `leader_duty` record: in Workers KV with `naive`, in the Durable Object with "
        "`lease`), so two leaders have a visible consequence (leader.duty_conflicts). None: no duty, no request.",
    )
    fence_duty: bool = Field(
        default=False,
        description="Kleppmann's fencing token: the coordinator refuses (409) a duty write whose worker id and token "
        "are not the current lease's (read from the Durable Object), and the record's own write, one Durable Object "
        "call, refuses a token below the highest it has stored. With the `naive` leader there is no lease, so every "
        "duty write is refused. Off: every duty write is accepted.",
    )

    @model_validator(mode="after")
    def _auth_needs_a_stable_id(self) -> Policy:
        if self.agent_auth and self.identity != "fingerprint":
            raise ValueError("agent_auth binds a secret to a machine's stable id: it needs identity: fingerprint")
        return self


@dataclass(frozen=True)
class Preset:
    """A named policy: the knob values it overrides, as written, and the resolved ``policy``."""

    name: str
    doc: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    policy: Policy = field(default_factory=Policy)


PRESETS: dict[str, Preset] = {}
"""Registered presets by name; the scenario schema and the CLI take their choices from here."""


def register_preset(name: str, doc: str, **knob_values: Any) -> Preset:
    """Register a preset that overrides ``knob_values`` on the baseline policy.

    >>> register_preset("fast-heartbeats", "Heartbeat every 10s.", heartbeat_interval="10s")  # doctest: +SKIP
    """
    if name in PRESETS:
        raise ValueError(f"preset {name!r} is already registered")
    unknown = sorted(set(knob_values) - set(Policy.model_fields))
    if unknown:
        known = ", ".join(Policy.model_fields)
        raise ValueError(f"preset {name!r}: unknown knob(s) {', '.join(unknown)}; known knobs: {known}")
    try:
        policy = Policy.model_validate(knob_values)
    except ValidationError as exc:
        raise ValueError(f"preset {name!r}: invalid knob value: {exc}") from exc
    preset = Preset(name=name, doc=doc, overrides=MappingProxyType(dict(knob_values)), policy=policy)
    PRESETS[name] = preset
    return preset


register_preset("baseline", "The seed's code as reviewed: all twelve flaws reproducible.")
register_preset(
    "seed-fixes",
    "The review's own fixes as written: Fix #1 (unregister cleanup), Fix #2 (stale cleanup while routing), Fix #3 "
    "(service health in heartbeats), Fix #4 (weighted random by inverse reported CPU load), Fix #5 (fingerprint "
    "identity).",
    balancer="inverse-load",
    load_info="reported",
    load_signal="cpu",
    unregister_cleanup=True,
    stale_cleanup="on_route",
    identity="fingerprint",
    service_health=True,
)
register_preset(
    "reference",
    "Our design beyond the review: the registry in a Durable Object (compare-and-set, no lost update, no stale "
    "read), the stale sweeper judging ages by its own observation with "
    "Eureka's purge brake, lease leadership with fencing tokens (a leader duty under a stale token is refused), "
    "stable fingerprint identity, unregister cleanup, "
    "agents that register again after a purge; per-service health with 10 s active probes, per-service timeouts, "
    "retries with a budget, circuit breakers, outlier ejection, version-aware routing, configured service discovery, "
    "per-edge metrics; deadlines propagated with each forward (a provider refuses at once what it could not do in "
    "time); the balancer least-outstanding-global (every isolate's requests in flight, counted in a Durable Object "
    "per service: what notebooks/balancing_strategies recommends, least-outstanding, made to hold across many "
    "isolates and locations); every request body validated (400 on anything malformed); "
    "agents authenticated (a bootstrap token exchanged for a per-machine secret, every call signed), an admin "
    "token for the admin endpoints and the tunnel URLs, epochs and the lease checked by the server, tunnel URLs "
    "validated against SSRF, registrations and heartbeats rate-limited per source.",
    balancer="least-outstanding-global",
    deadline_propagation=True,
    unregister_cleanup=True,
    stale_cleanup="sweeper",
    stale_by="observation",
    purge_brake=True,
    rejoin=True,
    service_health=True,
    retries=1,
    request_timeout="10s",
    service_timeouts={"upload": "2s", "rag": "10s"},
    circuit_breaker=True,
    outlier_ejection=True,
    outlier_release="heartbeat",
    version_routing=True,
    metrics=True,
    service_discovery="configured",
    probe_interval="10s",
    identity="fingerprint",
    registry_layout="strong",
    leader="lease",
    fence_duty=True,
    validate_requests=True,
    agent_auth=True,
    admin_auth=True,
    epoch_checks=True,
    tunnel_validation=True,
    rate_limits=True,
)
