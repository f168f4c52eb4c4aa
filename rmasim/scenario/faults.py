"""Fault specs: the timed actions of a scenario's ``faults`` list (the "nemesis" schedule).

Each fault happens ``at`` a simulated time. What it hits depends on its kind:

- a **machine fault** (:class:`MachineFault`) has a ``target``: ``group/index`` (one machine) or ``group/*``
  (every machine of the group, spares included). A group has ``count + spares`` machines, indexed from 0;
  spares start down;
- an **edge fault** (:class:`EdgeFault`) has an ``edge``: the index of a coordinator location, below
  ``coordinator.edges``;
- a **world fault** (such as ``kv_outage``) has neither: it hits a shared part of the world.

The spec only says *what* and *when*; the chaos layer decides how it is done. A spec checks its own references
against the scenario (:meth:`FaultSpec.problems`: a fault ``at`` or after the end of the run would never
happen, a target must exist), and the scenario reports each problem at the fault's field. The check runs while
the scenario is validated, against what is known of the rest of it even when another section is invalid
(:mod:`rmasim.scenario.references`), so every fault's problems are reported with the file's other problems.

Built-in actions:

- ``crash``: the machine dies at once, without unregistering (its agent gets a fresh id if started again);
- ``stop``: graceful shutdown, the agent unregisters;
- ``start``: bring up a machine that is down (a spare, or a crashed or stopped one);
- ``restart``: crash, then start again after ``down_for``;
- ``crash_loop``: crash and restart every ``every``, ``times`` times;
- ``burst``: start the machines at independent random times within ``within`` (a wave of spares joining);
- ``partition``: the machines' agents cannot reach the coordinator (two-way or one-way) for ``duration``;
- ``clock_jump``: an edge's clock steps by ``delta``;
- ``edge_lag``: writes reach an edge's refetches ``lag`` late, for ``duration``;
- ``kv_outage``: the KV's central store is down for ``duration``;
- the attacks (:class:`AttackFault`, issue 15): ``rogue_register``, ``forged_heartbeat``, ``forged_unregister``,
  ``lease_theft``, ``ssrf_register``, ``registration_flood``, ``malformed_requests``: calls to one coordinator
  edge from a client that is none of the fleet's agents and holds no credential.

To add a fault kind, subclass ``MachineFault``, ``EdgeFault`` or ``FaultSpec`` with an
``action: Literal["name"]`` field (and its own fields) and decorate it with ``@register_fault_spec``; the
scenario's ``faults`` union and the JSON Schema are built from ``FAULT_SPECS``, so this is the only place to
touch.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Collection, Mapping
from typing import Annotated, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import LocatedErrors
from .limits import MAX_BURST_REQUESTS, MAX_CRASH_LOOP_TIMES, MAX_FACTOR, MAX_FLAP_CYCLES
from .references import current_references
from .units import Duration, PositiveDuration, SignedDuration, format_duration
from .versions import Version

__all__ = [
    "ATTACK_TRACE",
    "FAULT_SPECS",
    "TARGET_PATTERN",
    "AttackFault",
    "Burst",
    "ClockJump",
    "CpuHog",
    "Crash",
    "CrashLoop",
    "EdgeFault",
    "EdgeLag",
    "FaultSpec",
    "ForgedHeartbeat",
    "ForgedUnregister",
    "GroupView",
    "HotService",
    "KvOutage",
    "LeaseTheft",
    "MachineFault",
    "MalformedRequests",
    "Partition",
    "RegistrationFlood",
    "Restart",
    "RogueRegister",
    "RollingUpgrade",
    "ServiceCrash",
    "ServiceErrors",
    "ServiceFault",
    "ServiceFlap",
    "ServiceHang",
    "ServiceSlow",
    "SsrfRegister",
    "Start",
    "Stop",
    "TrafficBurst",
    "TrafficFault",
    "register_fault_spec",
]

TARGET_PATTERN = r"^[a-z][a-z0-9_-]*/([0-9]+|\*)$"


class MachineGroup(Protocol):
    """What ``machines`` needs to know about a fleet group."""

    count: int
    spares: int


class GroupView(Protocol):
    """What :meth:`FaultSpec.problems` knows of a fleet group (a ``GroupConfig``, or a ``GroupRef`` read from an
    invalid group): None where unknown."""

    @property
    def count(self) -> int | None: ...

    @property
    def spares(self) -> int | None: ...

    @property
    def services(self) -> Collection[str] | None: ...


class FaultSpec(BaseModel):
    """Base of every fault spec: its ``action`` and when it happens (``at``, before the end of the run)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    action: str
    at: Duration = Field(description="Simulated time of the fault; before the run's `duration`.")

    def problems(
        self, fleet: Mapping[str, GroupView] | None, edges: int | None, duration: float | None = None
    ) -> list[tuple[str, str]]:
        """``(field, message)`` for each reference this fault makes to something the scenario lacks.

        ``fleet`` is the scenario's groups, ``edges`` its number of coordinator edges, ``duration`` the run's
        length in seconds; each is None when unknown (that section is itself invalid). The base rule: a fault
        ``at`` or after the end of the run is refused, as it would silently never happen. A subclass extends
        this with its own references, calling ``super().problems(...)`` first.
        """
        if duration is not None and self.at >= duration:
            return [
                (
                    "at",
                    f"at {format_duration(self.at)} is not before the end of the run (duration "
                    f"{format_duration(duration)}): the fault would never happen",
                )
            ]
        return []

    @model_validator(mode="after")
    def _check_references(self) -> FaultSpec:
        """Within a scenario's validation, report :meth:`problems` at the fields they name."""
        references = current_references()
        if references is not None:
            found = self.problems(references.fleet, references.edges, references.duration)
            if found:
                raise LocatedErrors(((name,), message) for name, message in found)
        return self


class MachineFault(FaultSpec):
    """Base of the faults that hit machines: ``target`` is ``group/index`` or ``group/*``."""

    target: str = Field(pattern=TARGET_PATTERN, description="'group/index' or 'group/*'.")

    @property
    def group(self) -> str:
        """The targeted group's name."""
        return self.target.partition("/")[0]

    @property
    def index(self) -> int | None:
        """The targeted machine index, or None for ``group/*``."""
        index = self.target.partition("/")[2]
        return None if index == "*" else int(index)

    def machines(self, fleet: Mapping[str, MachineGroup]) -> list[tuple[str, int]]:
        """The ``(group, index)`` pairs this fault hits, in index order."""
        group = fleet[self.group]
        if self.index is None:
            return [(self.group, i) for i in range(group.count + group.spares)]
        return [(self.group, self.index)]

    def problems(
        self, fleet: Mapping[str, GroupView] | None, edges: int | None, duration: float | None = None
    ) -> list[tuple[str, str]]:
        """The target's group must exist and its index be one of the group's machines."""
        found = super().problems(fleet, edges, duration)
        if fleet is None:
            return found
        group = fleet.get(self.group)
        if group is None:
            return [*found, ("target", f"unknown group {self.group!r}; fleet groups: {', '.join(fleet)}")]
        count, spares = group.count, group.spares
        size = None if count is None or spares is None else count + spares
        if self.index is not None and size and self.index >= size:  # a group of no machines is itself refused
            return [
                *found,
                (
                    "target",
                    f"no machine {self.target}: group {self.group!r} has indexes "
                    f"0..{size - 1} (count {count} + spares {spares})",
                ),
            ]
        return found


class EdgeFault(FaultSpec):
    """Base of the faults that hit one coordinator location: ``edge`` indexes ``0..coordinator.edges - 1``."""

    edge: int = Field(ge=0, description="Index of the coordinator edge (0 .. coordinator.edges - 1).")

    def problems(
        self, fleet: Mapping[str, GroupView] | None, edges: int | None, duration: float | None = None
    ) -> list[tuple[str, str]]:
        """The edge must be one of the coordinator's."""
        found = super().problems(fleet, edges, duration)
        if edges is not None and self.edge >= edges:
            found.append(("edge", f"no edge {self.edge}: coordinator.edges is {edges} (indexes 0..{edges - 1})"))
        return found


FAULT_SPECS: dict[str, type[FaultSpec]] = {}
"""Fault spec models by action name."""

_F = TypeVar("_F", bound=FaultSpec)


def register_fault_spec(cls: type[_F]) -> type[_F]:
    """Class decorator: register a ``FaultSpec`` subclass under its ``action`` literal."""
    annotation = cls.model_fields["action"].annotation
    names: tuple[object, ...] = getattr(annotation, "__args__", ())
    if len(names) != 1 or not isinstance(names[0], str):
        raise TypeError(f"{cls.__name__} needs a field `action: Literal['<name>']`")
    name = names[0]
    if name in FAULT_SPECS:
        raise ValueError(f"fault action {name!r} is already registered by {FAULT_SPECS[name].__name__}")
    FAULT_SPECS[name] = cls
    return cls


@register_fault_spec
class Crash(MachineFault):
    """The machine dies at once: no unregister, in-flight requests fail."""

    action: Literal["crash"] = "crash"


@register_fault_spec
class Stop(MachineFault):
    """Graceful shutdown (``docker-compose stop``): services and tunnel go down, the agent unregisters and exits."""

    action: Literal["stop"] = "stop"


@register_fault_spec
class Start(MachineFault):
    """Bring up a machine that is down: a spare, or a crashed or stopped machine."""

    action: Literal["start"] = "start"


@register_fault_spec
class Restart(MachineFault):
    """Crash, then start again after ``down_for``."""

    action: Literal["restart"] = "restart"
    down_for: Duration = Field(default=0.0, description="Time the machine stays down before it starts again.")


@register_fault_spec
class CrashLoop(MachineFault):
    """Crash, stay down ``down_for``, start again; repeated every ``every``, ``times`` times (a crash-looping
    box or container runtime). Each start is a new agent, hence a new worker id with the baseline agent."""

    action: Literal["crash_loop"] = "crash_loop"
    every: PositiveDuration = Field(description="Time between the starts of two crashes.")
    times: int = Field(default=3, ge=1, le=MAX_CRASH_LOOP_TIMES, description="Number of crash-and-start cycles.")
    down_for: Duration = Field(default=0.0, description="Time the machine stays down each cycle (< every).")

    @model_validator(mode="after")
    def _down_shorter_than_period(self) -> CrashLoop:
        if self.down_for >= self.every:
            raise ValueError(
                f"down_for ({format_duration(self.down_for)}) must be shorter than every "
                f"({format_duration(self.every)})"
            )
        return self


@register_fault_spec
class Burst(MachineFault):
    """Start the target machines (spares, usually ``group/*``) at independent uniform random times in
    ``[at, at + within]``: a wave of joins. The times are drawn from a stream keyed by the target and ``at``
    under the run's root seed, so they are the same on every run of the scenario with that seed."""

    action: Literal["burst"] = "burst"
    within: PositiveDuration = Field(description="Window after `at` over which the starts are spread.")


@register_fault_spec
class Partition(MachineFault):
    """The target machines' agents cannot reach any coordinator edge (messages to and from ``edge/*`` are
    dropped; a call times out) from ``at`` for ``duration``, then the partition heals: workers alive but
    silent. Two-way by default, which also cuts the coordinator's forwards to their tunnels; ``oneway`` drops
    only messages from those machines to the edges: heartbeats are lost, and forwarded requests reach the
    machine but their answers do not (the caller times out)."""

    action: Literal["partition"] = "partition"
    duration: PositiveDuration = Field(description="How long the partition lasts before it heals.")
    oneway: bool = Field(default=False, description="Drop only machine -> edge messages.")


@register_fault_spec
class ClockJump(EdgeFault):
    """The clock of coordinator edge ``edge`` steps by ``delta`` at ``at`` (an NTP step, a VM resume): its
    timestamps (``last_heartbeat``) and the ages it computes move by ``delta`` from then on."""

    action: Literal["clock_jump"] = "clock_jump"
    delta: SignedDuration = Field(description="The step, e.g. '5m' ahead or '-30s' back.")


@register_fault_spec
class EdgeLag(EdgeFault):
    """Writes reach edge ``edge``'s refetches ``lag`` later than the other edges' (slow replication to one
    location), from ``at`` for ``duration``."""

    action: Literal["edge_lag"] = "edge_lag"
    lag: PositiveDuration = Field(description="Extra delay before a central write is visible at this edge.")
    duration: PositiveDuration = Field(description="How long the lag lasts.")


@register_fault_spec
class KvOutage(FaultSpec):
    """The KV's central store is unavailable from ``at`` for ``duration``: reads that hit an edge cache are
    still served, cache misses (refetches) and writes fail (the coordinator sees a 503 from KV)."""

    action: Literal["kv_outage"] = "kv_outage"
    duration: PositiveDuration = Field(description="How long the outage lasts.")


def fault_spec_union() -> object:
    """The discriminated union of all registered fault specs, for a pydantic field."""
    union = functools.reduce(operator.or_, FAULT_SPECS.values())
    return Annotated[union, Field(discriminator="action")]


class ServiceFault(MachineFault):
    """Base of the faults that hit one service container (``service``) on the target machines, independently of
    their agents: the agent keeps running and heartbeating."""

    service: str = Field(description="The container's service name, e.g. 'rag'.")

    def problems(
        self, fleet: Mapping[str, GroupView] | None, edges: int | None, duration: float | None = None
    ) -> list[tuple[str, str]]:
        """The target must exist and its group must run ``service``."""
        found = super().problems(fleet, edges, duration)
        if fleet is None or any(name == "target" for name, _ in found):
            return found
        services = getattr(fleet[self.group], "services", None)
        if services is not None and self.service not in services:
            found.append(("service", f"group {self.group!r} runs no {self.service!r}; it runs {', '.join(services)}"))
        return found


@register_fault_spec
class ServiceCrash(ServiceFault):
    """The container dies (its requests fail, its port refuses); with ``down_for`` it restarts after that long,
    empty, as a container runtime's restart policy would."""

    action: Literal["service_crash"] = "service_crash"
    down_for: Duration | None = Field(default=None, description="Restart after this long (default: stays down).")


@register_fault_spec
class ServiceSlow(ServiceFault):
    """Every request admitted during ``duration`` takes ``factor`` times its service time (a GC storm, a noisy
    neighbour, a thermal throttle); health checks still answer 200."""

    action: Literal["service_slow"] = "service_slow"
    factor: float = Field(gt=0, le=MAX_FACTOR, description="Service-time multiplier, e.g. 20.")
    duration: PositiveDuration = Field(description="How long the slowdown lasts.")


@register_fault_spec
class ServiceErrors(ServiceFault):
    """A fraction ``rate`` of the requests admitted during ``duration`` end in a 500 after their service time;
    the health endpoint keeps answering 200 (only passive detection can see it)."""

    action: Literal["service_errors"] = "service_errors"
    rate: float = Field(ge=0, le=1, description="Share of requests answered 500.")
    duration: PositiveDuration = Field(description="How long the errors last.")


@register_fault_spec
class ServiceHang(ServiceFault):
    """The container accepts connections and never answers, requests and health checks alike, for
    ``duration``; requests admitted meanwhile never complete."""

    action: Literal["service_hang"] = "service_hang"
    duration: PositiveDuration = Field(description="How long the container hangs.")


@register_fault_spec
class ServiceFlap(ServiceFault):
    """The container goes down and comes back every ``period`` (down for the first half of each period), for
    ``duration``: a crash-looping process under a restart policy."""

    action: Literal["service_flap"] = "service_flap"
    period: PositiveDuration = Field(description="One down + up cycle.")
    duration: PositiveDuration = Field(
        description=f"How long the flapping lasts (at most {MAX_FLAP_CYCLES} periods).",
    )

    @model_validator(mode="after")
    def _bounded_cycles(self) -> ServiceFlap:
        cycles = self.duration / self.period
        if cycles > MAX_FLAP_CYCLES:
            raise LocatedErrors(
                [
                    (
                        ("period",),
                        f"{format_duration(self.duration)} of {format_duration(self.period)} periods is "
                        f"{cycles:.0f} cycles; at most {MAX_FLAP_CYCLES}",
                    )
                ]
            )
        return self


@register_fault_spec
class RollingUpgrade(ServiceFault):
    """The container is replaced by ``version`` on each target machine in turn, one every ``every``: the old one
    stops (its unfinished requests fail), the new one answers after ``down_for``. A machine already on
    ``version``, or not up when its turn comes, is skipped."""

    action: Literal["rolling_upgrade"] = "rolling_upgrade"
    version: Version = Field(description="The new version, e.g. '1.1'.")
    every: Duration = Field(default=30.0, description="Time between two machines' replacements.")
    down_for: Duration = Field(default=5.0, description="How long a replacement leaves the service down.")


class TrafficFault(FaultSpec):
    """Base of the faults that change the clients' traffic to one ``service`` (no machine target)."""

    service: str = Field(description="The service whose traffic changes, e.g. 'upload'.")

    def problems(
        self, fleet: Mapping[str, GroupView] | None, edges: int | None, duration: float | None = None
    ) -> list[tuple[str, str]]:
        """Some group must run ``service`` (not checked when a group's services are unknown)."""
        found = super().problems(fleet, edges, duration)
        groups_services = [getattr(group, "services", None) for group in (fleet or {}).values()]
        if fleet is None or any(services is None for services in groups_services):
            return found
        offered = {name for services in groups_services for name in services or ()}
        if offered and self.service not in offered:
            found.append(("service", f"no fleet group runs {self.service!r}; they run {', '.join(sorted(offered))}"))
        return found


@register_fault_spec
class HotService(TrafficFault):
    """The service's request rate is multiplied by ``factor`` for ``duration`` (a hot service, a flash crowd)."""

    action: Literal["hot_service"] = "hot_service"
    factor: float = Field(gt=0, le=MAX_FACTOR, description="Rate multiplier, e.g. 3.")
    duration: PositiveDuration = Field(description="How long the rate stays multiplied.")


@register_fault_spec
class TrafficBurst(TrafficFault):
    """``requests`` extra requests for the service at independent uniform times within ``within`` of ``at`` (a
    batch job's burst), on top of the Poisson traffic."""

    action: Literal["traffic_burst"] = "traffic_burst"
    requests: int = Field(ge=1, le=MAX_BURST_REQUESTS, description="How many extra requests.")
    within: PositiveDuration = Field(default=1.0, description="Window after `at` over which they arrive.")


@register_fault_spec
class CpuHog(MachineFault):
    """A background process takes ``load`` of the target machines' CPU for ``duration``: their `cpu` load signal
    rises by that much (at most 1) while their service slots are untouched."""

    action: Literal["cpu_hog"] = "cpu_hog"
    load: float = Field(gt=0, le=1, description="CPU share taken, e.g. 0.5.")
    duration: PositiveDuration = Field(description="How long the hog runs.")


# --- adversarial faults: an attacker, a client that is none of the fleet's agents (issue 15) ---------------

ATTACK_TRACE = "attack"
"""The event of the attacker's own record: one ``Trace`` per call it made (fields: ``action``, ``method``,
``path``, ``source``, ``status`` (None when no answer came), ``answer`` (the small fields of the answer's body),
and what the call aimed at: ``worker_id`` (another worker's id it acts for, a lease holder it releases as),
``machine``, ``tunnel_url``, ``name`` (a name it claims the lease in)); the ``security.*`` checkers read it."""
MAX_ATTACK_CALLS = 100_000
"""The most calls one attack fault may make (a flood of 100 000 registrations is 50x the ``balancing_100``
fleet's)."""

_PACE = (
    "Time between two of the attacker's calls (Workers KV takes one write a second per key, so the seed's shared "
    "lists refuse most of a faster series: a patient attacker waits)."
)
_SSRF_URLS = (
    "http://169.254.169.254/",
    "http://127.0.0.1",
    "http://10.0.0.1",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "https://rebind.attacker.example",
)


class AttackFault(FaultSpec):
    """Base of the attacks: the attacker's calls land on coordinator ``edge`` from its host ``source`` (network
    node ``attacker/<source>``; the platform gives the coordinator that node's address as ``cf-connecting-ip``, which
    the caller cannot choose); it knows no secret (no auth headers), only what an attacker can learn (host names,
    hence fingerprints; what the coordinator answers anyone, such as the ids ``/api/workers`` lists)."""

    edge: int = Field(default=0, ge=0, description="Index of the coordinator edge the attacker's calls land on.")
    source: str = Field(
        default="a1",
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$",
        description="The attacker's host (its node is attacker/<source>, its address the platform's for that node).",
    )

    def problems(
        self, fleet: Mapping[str, GroupView] | None, edges: int | None, duration: float | None = None
    ) -> list[tuple[str, str]]:
        found = super().problems(fleet, edges, duration)
        if edges is not None and self.edge >= edges:
            found.append(("edge", f"no edge {self.edge}: coordinator.edges is {edges} (indexes 0..{edges - 1})"))
        return found

    def _bounded(self, calls: float, what: str) -> None:
        if calls > MAX_ATTACK_CALLS:
            raise ValueError(f"{what} is {calls:.0f} calls; at most {MAX_ATTACK_CALLS}")


@register_fault_spec
class RogueRegister(MachineFault, AttackFault):
    """The attacker registers as each target machine: its fingerprint (sha256 of the host name), the machine's
    services, and the attacker's own ``tunnel_url``."""

    action: Literal["rogue_register"] = "rogue_register"
    tunnel_url: str = Field(default="https://attacker.example.net", description="The attacker's tunnel URL.")
    every: PositiveDuration = Field(default=2.0, description=_PACE)


@register_fault_spec
class ForgedHeartbeat(AttackFault):
    """Heartbeats for other workers (the first ``workers`` ids ``/api/workers`` lists, or the fingerprint ids of
    the fleet when it lists none), with an absurd ``current_load``, ``times`` rounds ``every`` apart."""

    action: Literal["forged_heartbeat"] = "forged_heartbeat"
    workers: int = Field(default=1, ge=1, le=1000, description="How many listed workers to forge for.")
    current_load: float = Field(default=-0.1, description="The forged load figure, e.g. -0.1 or 1e9.")
    times: int = Field(default=1, ge=1, le=10_000, description="Rounds of forged heartbeats.")
    every: PositiveDuration = Field(default=5.0, description="Time between two rounds.")

    @model_validator(mode="after")
    def _few_enough(self) -> ForgedHeartbeat:
        self._bounded(self.workers * self.times, "workers x times")
        return self


@register_fault_spec
class ForgedUnregister(AttackFault):
    """Unregisters of other workers (the first ``workers`` ids ``/api/workers`` lists, else fingerprint ids)."""

    action: Literal["forged_unregister"] = "forged_unregister"
    workers: int = Field(default=1, ge=1, le=1000, description="How many listed workers to unregister.")
    every: PositiveDuration = Field(default=2.0, description=_PACE)


@register_fault_spec
class LeaseTheft(AttackFault):
    """For ``duration``, every ``every``: read the leader lease and claim it (or, with ``release``, release it
    as its holder) in a name that is not the attacker's to use (no machine registered it)."""

    action: Literal["lease_theft"] = "lease_theft"
    duration: PositiveDuration = Field(description="How long the attacker keeps at it.")
    every: PositiveDuration = Field(default=1.0, description="Time between two attempts.")
    release: bool = Field(default=False, description="Release the holder's lease instead of claiming it.")

    @model_validator(mode="after")
    def _few_enough(self) -> LeaseTheft:
        self._bounded(2 * self.duration / self.every, "2 x duration / every")
        return self


@register_fault_spec
class SsrfRegister(AttackFault):
    """One registration per URL of ``urls`` (internal addresses, other schemes, a DNS-rebinding name), each
    offering ``services`` (default: every service of the fleet), so the proxy may forward clients there."""

    action: Literal["ssrf_register"] = "ssrf_register"
    urls: tuple[str, ...] = Field(default=_SSRF_URLS, min_length=1, max_length=100, description="Tunnel URLs.")
    services: tuple[str, ...] | None = Field(default=None, description="Services offered (default: the fleet's).")
    every: PositiveDuration = Field(default=2.0, description=_PACE)


@register_fault_spec
class RegistrationFlood(AttackFault):
    """``rate`` registrations per second for ``duration``, evenly spaced, each a fresh fingerprint and tunnel URL
    (tunnel-shaped, ``https://flood-<at>-<n>.tunnel.invalid``: an attacker can run real tunnels), offering
    ``services`` (default: the fleet's); the attacker does not wait for one answer before the next call. With
    ``sources`` > 1 the calls come in turn from that many hosts (``<source>-<k>``: a botnet, each its own
    address)."""

    action: Literal["registration_flood"] = "registration_flood"
    rate: float = Field(gt=0, le=10_000, description="Registrations per second.")
    duration: PositiveDuration = Field(description="How long the flood lasts.")
    services: tuple[str, ...] | None = Field(default=None, description="Services offered (default: the fleet's).")
    sources: int = Field(default=1, ge=1, le=10_000, description="Hosts the calls come from, in turn.")

    @model_validator(mode="after")
    def _few_enough(self) -> RegistrationFlood:
        self._bounded(self.rate * self.duration, "rate x duration")
        return self


@register_fault_spec
class MalformedRequests(AttackFault):
    """``count`` requests with malformed bodies to the agent endpoints (register, heartbeat, unregister, the
    lease), at uniform times within ``within``; bodies and times are drawn from a stream keyed by the edge and
    ``at`` under the run's seed (:func:`rmasim.chaos.attack.malformed_body`)."""

    action: Literal["malformed_requests"] = "malformed_requests"
    count: int = Field(default=100, ge=1, le=MAX_ATTACK_CALLS, description="How many requests.")
    within: PositiveDuration = Field(default=10.0, description="Window after `at` over which they are sent.")
