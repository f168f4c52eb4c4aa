"""The operations the sans-IO coordinator and agent yield, and the values they get back.

The system code is a set of plain generators (DESIGN.md section 3). A handler ``yield``s one of the frozen
operation objects below and receives its result through ``send``; a failure comes back as one of the
exceptions below, thrown into the generator at the ``yield``. The system never imports SimPy, asyncio or the
simulated world: a runtime decides what an operation costs and what it returns. In tests, a handler is driven
by hand::

    gen = coordinator.handle(Request("POST", "/api/worker/unregister", {"worker_id": "w1"}))
    op = next(gen)                    # KvDelete(key='worker:w1')
    op = gen.send(None)               # KvGet(key='worker_ids')
    ...

The set is kept small on purpose: KV access (each KV operation names its ``store``: :data:`KV`, the Workers KV
binding, or :data:`STRONG`, a Durable Object that also offers compare-and-set), HTTP calls, sleeping and reading
the local clock, drawing a random number, reading the machine's load, and a ``Trace`` hook that reports a fact to
whoever observes (a real runtime would log it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BULK_GET_LIMIT",
    "CONNECTING_IP",
    "COORDINATOR",
    "EXPECTED_VERSION",
    "IN_FLIGHT",
    "KV",
    "LOAD_PATH",
    "LOAD_REPORT",
    "MAX_METADATA_BYTES",
    "MIN_EXPIRATION_TTL",
    "REQUEST_TIMEOUT",
    "STRONG",
    "WORKER_EXCEPTION",
    "Concurrently",
    "ConnectError",
    "HttpCall",
    "KVFailure",
    "KvCas",
    "KvDelete",
    "KvGet",
    "KvGetMany",
    "KvList",
    "KvPut",
    "LiveLoad",
    "MachineStats",
    "Now",
    "Op",
    "Random",
    "ReadLoad",
    "Request",
    "RequestTimeout",
    "Resolve",
    "Respond",
    "Response",
    "Shutdown",
    "Sleep",
    "StrongUpdate",
    "Trace",
]

#: The URL an agent uses to reach the coordinator (its home edge, chosen by the runtime).
COORDINATOR = "coordinator"

#: The coordinator's two storage bindings: the Workers KV namespace (eventually consistent, edge-cached) ...
#: Workers KV's bulk get reads at most this many keys in one operation.
BULK_GET_LIMIT = 100
#: Workers KV's least ``expiration_ttl`` (seconds), and the most bytes of a key's metadata serialised as JSON.
MIN_EXPIRATION_TTL = 60.0
MAX_METADATA_BYTES = 1024
KV = "kv"
#: ... and a Durable Object (one linearizable store with compare-and-set), used by the reference design.
STRONG = "strong"


# --- operations -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KvGet:
    """Read one key; result: the value, or ``None`` for a missing key (an expired key is missing).

    ``with_metadata`` (``getWithMetadata``): result ``(value, metadata)``, metadata ``None`` when none was written."""

    key: str
    store: str = KV
    with_metadata: bool = False


@dataclass(frozen=True, slots=True)
class KvGetMany:
    """Bulk read (at most 100 keys, one operation, each key billed as a read); result: a tuple of values."""

    keys: tuple[str, ...]
    store: str = KV
    with_metadata: bool = False
    """Result ``(values, metadatas)``, two tuples in the order of ``keys``."""

    def __post_init__(self) -> None:
        if not 1 <= len(self.keys) <= BULK_GET_LIMIT:
            raise ValueError(f"a bulk get reads 1 to {BULK_GET_LIMIT} keys, got {len(self.keys)}")


@dataclass(frozen=True, slots=True)
class KvPut:
    """Write a JSON-compatible value; result ``None``. Values are treated as immutable by everyone.

    Workers KV's put options: ``expiration`` (absolute seconds since the epoch, i.e. simulated seconds; at least
    60 s ahead when the write is served, else a :class:`KVFailure` 400) or ``expiration_ttl`` (seconds from the
    write, at least 60; it wins when both are given), after which the key reads as missing; ``metadata``, a JSON
    value of at most 1024 bytes serialised, read back by ``KvGet(with_metadata=True)`` and ``KvList(with_info=
    True)``."""

    key: str
    value: Any
    store: str = KV
    expiration: float | None = None
    expiration_ttl: float | None = None
    metadata: Any = None

    def __post_init__(self) -> None:
        if self.expiration_ttl is not None and not self.expiration_ttl >= MIN_EXPIRATION_TTL:
            raise ValueError(f"expiration_ttl must be at least 60 seconds, got {self.expiration_ttl}")
        if self.metadata is not None:
            size = len(json.dumps(self.metadata, separators=(",", ":"), ensure_ascii=False).encode())
            if size > MAX_METADATA_BYTES:
                raise ValueError(f"metadata is at most {MAX_METADATA_BYTES} bytes serialised, got {size}")


@dataclass(frozen=True, slots=True)
class KvDelete:
    """Delete a key; result ``None``."""

    key: str
    store: str = KV


@dataclass(frozen=True, slots=True)
class KvList:
    """List keys by prefix, one page; result ``(keys, next_cursor_or_None)`` (expired keys are not listed).

    ``with_info``: each key as ``(name, expiration_or_None, metadata_or_None)``, as Workers' ``list()`` gives them
    (same cost; the coordinator's own listings leave it off)."""

    prefix: str
    cursor: str | None = None
    store: str = KV
    with_info: bool = False


@dataclass(frozen=True, slots=True)
class KvCas:
    """Compare-and-set on a strongly consistent store (``expected=None`` means absent); result ``(ok, current)``."""

    key: str
    expected: Any
    new: Any
    store: str = STRONG


@dataclass(frozen=True, slots=True)
class StrongUpdate:
    """A Durable Object method: ``update(value, arg) -> (new_value, result)`` runs on ``key``'s value inside the
    object, atomically (the object is single-threaded), in one request; result: ``result``. ``new_value`` None
    deletes the key. ``update`` must be a pure function of its arguments (a module-level function), as the code of
    a Durable Object class is part of the Worker."""

    key: str
    update: Callable[..., tuple[Any, Any]]
    arg: Any = None
    clock: bool = False
    """Pass the object's own clock (``Date.now()`` inside the Durable Object, seconds) as a third argument:
    ``update(value, arg, now)``. The object runs on the platform's synchronised clock, not the calling edge's."""


EXPECTED_VERSION = "x-expected-version"
#: Header of a forward that propagates its deadline: the caller's timeout in seconds (gRPC's ``grpc-timeout``);
#: the container drops the request unserved when its turn comes after that.
REQUEST_TIMEOUT = "x-request-timeout"
"""Header of a forward naming the service version the proxy routed for (``version_routing``): a container of
another version refuses with 412 without serving."""
#: Header of a forward asking for a load report (``load_info: header``), as a client asks for ORCA's per-call
#: reports; the agent in front of the container then answers with :data:`IN_FLIGHT`.
LOAD_REPORT = "x-load-report"
#: Response header of a load report: the requests the machine has in flight for the service when it answers
#: (queued plus in service, the answered request excluded), as Envoy's ORCA ``endpoint-load-metrics`` or Prequal's
#: requests-in-flight.
IN_FLIGHT = "x-in-flight"
#: The path prefix of the agent's load endpoint (``GET /_load/{service}``): answered at once, without queueing,
#: with ``{"in_flight": n}`` (the :data:`IN_FLIGHT` figure); the probe of ``p2c-probe``.
LOAD_PATH = "/_load/"


@dataclass(frozen=True, slots=True)
class HttpCall:
    """An HTTP request to ``url`` (a tunnel URL, ``http://localhost:PORT`` or :data:`COORDINATOR`).

    Result: a :class:`Response`. A host that does not answer raises :class:`ConnectError`; no answer within
    ``timeout`` seconds raises :class:`RequestTimeout` (``None``: the platform's limit applies).
    """

    url: str
    method: str
    path: str
    body: Any = None
    timeout: float | None = None
    headers: tuple[tuple[str, str], ...] = ()
    """Request headers, as (name, value) pairs; e.g. :data:`EXPECTED_VERSION`."""


@dataclass(frozen=True, slots=True)
class Resolve:
    """Look up ``name``'s addresses (a Worker would ask a DNS-over-HTTPS resolver, a ``fetch``); result: a tuple of
    address strings, empty when the name does not exist."""

    name: str


@dataclass(frozen=True, slots=True)
class Concurrently:
    """Send ``calls`` at once and wait until every one has ended (``Promise.allSettled``): the op lasts as long as
    the slowest call. Result: a tuple in the order of ``calls``, each a :class:`Response` or the failure
    (:class:`ConnectError`, :class:`RequestTimeout`) as a value, not raised."""

    calls: tuple[HttpCall, ...]

    def __post_init__(self) -> None:
        if not self.calls or not all(isinstance(c, HttpCall) for c in self.calls):
            raise ValueError(f"Concurrently takes one or more HttpCall, got {self.calls!r}")


@dataclass(frozen=True, slots=True)
class Sleep:
    """Sleep for ``seconds`` of the caller's local clock; result ``None``."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Now:
    """Read the caller's local clock (seconds); result a float.

    ``monotonic=True`` reads the node's monotonic clock instead (``time.monotonic()``): it runs at the clock's
    rate but ignores offsets and jumps, so durations measured with it survive an NTP step."""

    monotonic: bool = False


@dataclass(frozen=True, slots=True)
class Random:
    """Draw a float uniformly from [0, 1) from the caller's own random stream."""


@dataclass(frozen=True, slots=True)
class ReadLoad:
    """Sample the machine's load over ``interval`` seconds (``psutil.cpu_percent(interval=1)``); result
    :class:`MachineStats`. The call takes ``interval`` seconds, as psutil's does."""

    interval: float = 1.0


@dataclass(frozen=True, slots=True)
class LiveLoad:
    """Simulation only: the true current load of the machines behind ``tunnels`` (``load_info: live``, the
    reference point stale figures are compared with); result a tuple of floats, one per tunnel, at once. ``signal``
    ``cpu``: busy slots / capacity over the last second, at most 1; ``queue``: requests in flight / capacity."""

    tunnels: tuple[str, ...]
    signal: str = "cpu"


@dataclass(frozen=True, slots=True)
class Respond:
    """Answer the caller with ``response`` now and keep running (a Worker's ``ctx.waitUntil()`` work goes on after
    its response); result ``None``, costs no time. What the generator returns afterwards is not delivered."""

    response: Response


@dataclass(frozen=True, slots=True)
class Trace:
    """Report a fact to the observer (a real runtime logs it); result ``None``, costs no time."""

    event: str
    fields: dict[str, Any] = field(default_factory=dict)


#: The event of a coordinator invocation that ended in an uncaught exception or at a platform limit (fields:
#: ``path``, ``message``, ``stack``); the ``coordinator.errors`` checker counts them.
WORKER_EXCEPTION = "worker_exception"


Op = (
    KvGet
    | KvGetMany
    | KvPut
    | KvDelete
    | KvList
    | KvCas
    | StrongUpdate
    | HttpCall
    | Resolve
    | Concurrently
    | Sleep
    | Now
    | Random
    | ReadLoad
    | LiveLoad
    | Respond
    | Trace
)


# --- values --------------------------------------------------------------------------------------------


#: The request header in which the platform names the caller's address (Cloudflare's ``CF-Connecting-IP``). The
#: runtime sets it on every request reaching the coordinator and drops any value the caller sent: a caller cannot
#: choose it.
CONNECTING_IP = "cf-connecting-ip"


@dataclass(frozen=True, slots=True)
class Request:
    """An HTTP request as a handler sees it."""

    method: str
    path: str
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    """Request headers, as (name, value) pairs, as the caller sent them plus :data:`CONNECTING_IP`."""

    def header(self, name: str) -> str | None:
        """The value of header ``name``, compared case-insensitively as HTTP does (None when absent; the first of
        several)."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response: status code and JSON-compatible body."""

    status: int
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    """Response headers, as (name, value) pairs; e.g. :data:`IN_FLIGHT`."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (None when absent)."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class MachineStats:
    """What the agent reads from psutil: CPU load in [0, 1] and free memory in GB."""

    cpu: float
    free_memory_gb: float
    queue: float = 0.0
    """Requests in flight / capacity over the machine's containers at the end of the sample (``load_signal:
    queue``: what a process-level agent could read from its services' queues)."""


# --- failures thrown into a generator ------------------------------------------------------------------


class KVFailure(Exception):
    """A KV operation failed (``status`` 429: same key written within 1 s; 503: store unavailable; 400: an invalid
    request, ``detail`` says why in Workers' words).

    Like a rejected ``env.WORKERS.put()`` promise: uncaught, it fails the whole Worker invocation (HTTP 500).
    """

    def __init__(self, status: int, key: str, detail: str | None = None) -> None:
        super().__init__(f"KV {status} on {key!r}" + (f": {detail}" if detail else ""))
        self.status = status
        self.key = key
        self.detail = detail


class ConnectError(Exception):
    """The target host did not accept the connection (for a dead tunnel: after the connect timeout)."""


class RequestTimeout(Exception):
    """No response arrived within the request's timeout. The target may still be working on it."""


class Shutdown(Exception):
    """Thrown into an agent when its machine is stopped gracefully (SIGTERM); the agent may clean up."""
