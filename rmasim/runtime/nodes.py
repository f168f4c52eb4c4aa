"""The simulated nodes the runtime drives: coordinator edges, machines, and the per-call context.

An **edge** is one Cloudflare location running the coordinator Worker: its own KV cache (inside the KV model,
by index), clock and random stream. A **machine** is one worker box: its service containers, its clock, its
tunnel URL, and at most one running agent process. ``state`` is ``up``, ``stopping`` (graceful stop in
progress: services and tunnel already down, the agent still unregistering) or ``down``. Each start of the
agent is a new *incarnation*.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..system.coordinator import Isolate
from ..world import Clock, ServiceContainer

__all__ = ["Ctx", "Edge", "Machine", "RequestRecord", "UniformSource", "node_address"]

#: Callers' addresses are drawn from IPv6's documentation prefix (RFC 3849): simulated, never anyone's.
_CALLER_PREFIX = int(ipaddress.IPv6Address("2001:db8::"))


@lru_cache(maxsize=4096)
def node_address(node: str) -> str:
    """The address a node's requests come from (what the platform puts in ``cf-connecting-ip``): stable for the
    node's name, so a machine keeps its address across restarts, as a box keeps its IP; a different one for each
    node (the low 96 bits are a digest of the name)."""
    digest = int.from_bytes(hashlib.sha256(node.encode()).digest()[:12], "big")
    return str(ipaddress.IPv6Address(_CALLER_PREFIX | digest))


class UniformSource:
    """Floats uniform in [0, 1) from a numpy generator, drawn a batch at a time (deterministic)."""

    __slots__ = ("_buf", "_i", "_rng")

    def __init__(self, rng: Any, batch: int = 1024) -> None:
        self._rng = rng
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        if self._i >= len(self._buf):
            self._buf = self._rng.random(1024).tolist()
            self._i = 0
        value = self._buf[self._i]
        self._i += 1
        return value


@dataclass(eq=False)
class Edge:
    """A coordinator location (a Cloudflare PoP) and the isolates the Worker runs in there.

    Each isolate has its own memory (:class:`Isolate`: balancer state, breakers, ejection, route caches, retry
    budget); the location's KV cache, clock and random stream are shared by them. Every invocation lands on an
    isolate the platform picks (uniformly, with ``platform``, a stream of its own; none is drawn when there is
    one isolate), and :meth:`evict` replaces one with a cold one.
    """

    index: int
    clock: Clock
    uniform: Callable[[], float]
    isolates: list[Isolate] = field(default_factory=lambda: [Isolate()])
    """The Worker's isolates at this location."""
    platform: Callable[[], float] | None = None
    """Uniform draws for the platform's choice of isolate (needed when there are several)."""
    evictions: int = 0
    """Isolates evicted so far (cold starts)."""
    name: str = field(init=False)
    """Network node name, ``edge/{index}``."""
    ctx: Ctx = field(init=False)
    """The context every coordinator invocation at this edge runs in."""

    def __post_init__(self) -> None:
        self.name = f"edge/{self.index}"
        self.ctx = Ctx(self.name, self.clock, self.uniform, self)
        if len(self.isolates) > 1 and self.platform is None:
            raise ValueError("several isolates need a platform stream to pick among them")

    @property
    def isolate(self) -> Isolate:
        """The first isolate (the only one in the default topology)."""
        return self.isolates[0]

    def landing(self) -> Isolate:
        """The isolate the platform runs the next invocation in."""
        isolates = self.isolates
        if len(isolates) == 1:
            return isolates[0]
        assert self.platform is not None
        return isolates[int(self.platform() * len(isolates))]

    def evict(self, which: int) -> None:
        """The platform evicts isolate ``which``: the next invocations there find a cold one (memory lost)."""
        self.isolates[which] = Isolate()
        self.evictions += 1


@dataclass(eq=False)
class Machine:
    """A worker box: containers, clock, tunnel, and the agent process of its current incarnation."""

    group: str
    index: int
    clock: Clock
    containers: dict[str, ServiceContainer]
    ports: dict[str, int]
    memory_gb: float
    home_edge: Edge
    uniform: Callable[[], float]
    state: str = "down"
    incarnation: int = 0
    driver: Any = None
    agent: Any = None
    disk: dict[str, Any] = field(default_factory=dict)
    """What the agent keeps on the machine's disk across restarts and crashes (its credential: ``agent_auth``)."""
    cpu_hog: float = 0.0
    """CPU share taken by a background process (a ``cpu_hog`` fault): it adds to the ``cpu`` load signal but
    takes no service slot."""

    name: str = field(init=False)
    """``group/index``, as fault targets write it."""
    node: str = field(init=False)
    """The machine's network node name, ``agent/group/index`` (agent and tunnel run there)."""
    tunnel_url: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = f"{self.group}/{self.index}"
        self.node = f"agent/{self.name}"
        self.tunnel_url = f"https://{self.group}-{self.index}.tunnel.invalid"

    @property
    def up(self) -> bool:
        return self.state == "up"

    def container_on_port(self, port: int) -> ServiceContainer | None:
        for name, p in self.ports.items():
            if p == port:
                return self.containers.get(name)
        return None


@dataclass(eq=False, slots=True)
class RequestRecord:
    """What happened to one client request (filled by the runtime, classified by the observer)."""

    rid: int
    service: str
    edge: int
    t_arrival: float
    t_done: float = float("nan")
    status: int = 0
    attempts: int = 0
    target: str | None = None
    target_up: bool | None = None
    target_broken: bool | None = None
    """Some forward reached a live machine whose container was down, hung, erroring or slowed."""
    forward: str | None = None
    """Low-level result of the last forward: ok, connect_error, timeout, service_error, version_mismatch (None:
    none tried)."""
    version: str | None = None
    """The version of the container that served the request (None: not served)."""
    refused: int = 0
    """Forwards a container refused because the proxy expected another version (412)."""
    reason: str | None = None
    """Why the coordinator answered 503 without forwarding (``no_provider``, ``breaker_open``), when it said."""
    first_target: str | None = None
    """The machine of the first forward (``target`` is the last one's)."""
    retried_at: float | None = None
    """When a forward first went to a machine other than ``first_target`` (a retry onto a second provider)."""
    retried_onto: str | None = None
    """That second machine."""


@dataclass(eq=False, slots=True)
class Ctx:
    """Who runs a generator: its node name, clock, random source, edge (an agent's home edge), machine."""

    node: str
    clock: Clock
    uniform: Callable[[], float]
    edge: Edge
    machine: Machine | None = None
