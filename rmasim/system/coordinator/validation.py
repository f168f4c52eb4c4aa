"""Request validation (``validate_requests``, the reference): every body parsed into a typed request, or a 400.

The seed's handlers read their bodies as they come (``body.get(...)``) and trust every field: a malformed body
raises out of the handler (a 500 in a Worker), and a well-formed but forged one is stored as it is (a
``current_load`` of -0.1, a service called ``../admin``, 5000 services). With ``validate_requests`` the
coordinator parses each POST body into one of the frozen requests below before its handler runs, and answers
``400 {"error": why, "field": where}`` to anything else. The rules (one constant each, so tests and docs name
them):

- a body is a JSON object with only the fields its route knows (:data:`ROUTE_FIELDS`);
- ids (``worker_id``, ``fingerprint``, a lease ``holder``) match :data:`ID_PATTERN`: letters, digits,
  ``_ . -``, at most 160 characters, so no ``:`` (the KV key separator) and no ``/`` (a path); an ``epoch``
  matches :data:`EPOCH_PATTERN`, the form the coordinator issues;
- service names match :data:`SERVICE_PATTERN` (lower-case letters, digits, ``_`` and ``-``, 63 at most, as the
  scenario language's names); versions and statuses are bounded strings;
- numbers are finite and bounded: ``current_load`` in [0, 1] (the ``cpu`` signal; [0, :data:`MAX_QUEUE_LOAD`]
  with ``load_signal: queue``), ports in [1, 65535], lease counters non-negative integers;
- lists and maps are capped (:data:`MAX_SERVICES` services, health reports or versions per worker,
  :data:`MAX_CAPABILITIES` capabilities).

On the proxy path a service name that fails the pattern is a 404 before anything is read or kept; a name that
passes it but has no provider is the usual 503, and an edge keeps no more than :data:`MAX_ROUTE_TABLES` route
tables and metrics entries, so unknown names cannot grow an isolate's memory. A well-formed agent's requests are
all accepted, so validation changes no figure of a run whose agents behave.

The requests are strict pydantic models (no coercion: ``"0.5"`` is not a load, ``true`` not a port). Measured on a
reference heartbeat (two services): 4-6 us with pydantic's compiled core, about twice that with the same rules
written by hand in Python; a heartbeat comes every 10-30 s per machine, and the proxy path checks only the
service name (one regular expression). The handlers still read the body itself, which the model has just shown to
hold only the fields and types they expect.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ..ops import Response

__all__ = [
    "ID_PATTERN",
    "MAX_CAPABILITIES",
    "MAX_QUEUE_LOAD",
    "MAX_ROUTE_TABLES",
    "MAX_SERVICES",
    "PARSERS",
    "ROUTE_FIELDS",
    "SERVICE_PATTERN",
    "HeartbeatRequest",
    "Invalid",
    "LeaseRequest",
    "ObservedLease",
    "QueueHeartbeatRequest",
    "RegisterRequest",
    "ServiceHealth",
    "ServiceOffer",
    "UnregisterRequest",
    "bad_request",
    "parse_body",
    "parse_heartbeat",
    "valid_service_name",
]

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,159}$"
"""Worker ids, fingerprints, lease holders."""
EPOCH_PATTERN = r"^-?[0-9]{1,20}-[0-9a-z]{1,16}$"
"""Registration epochs as the coordinator issues them: ``{Date.now()}-{base36 draw}``; the clock reading is
negative when an edge clock stepped back before the epoch of time (found by tests/test_properties.py)."""
SERVICE_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
"""Service names: the scenario language's names, at most 63 characters."""
MAX_VERSION = 64
"""The longest version string (no control characters)."""
MAX_URL = 2048
"""The longest ``tunnel_url`` (what it may point at is not checked here)."""
MAX_SERVICES = 64
"""Services, health reports and versions per worker."""
MAX_CAPABILITIES = 32
"""Capabilities per worker (scalar values only)."""
MAX_TEXT = 256
"""The longest string value of a capability."""
MAX_QUEUE_LOAD = 1e6
"""The largest ``current_load`` with ``load_signal: queue`` (requests in flight per slot)."""
MAX_ROUTE_TABLES = 128
"""Route tables (and metrics entries) an edge keeps for services it has never seen a provider of."""
_BIG = float(2**53)

_SERVICE_RE = re.compile(SERVICE_PATTERN[1:-1])

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Epoch = Annotated[str, StringConstraints(pattern=EPOCH_PATTERN)]
ServiceName = Annotated[str, StringConstraints(pattern=SERVICE_PATTERN)]
Version = Annotated[str, StringConstraints(pattern=rf"^[^\x00-\x1f\x7f]{{1,{MAX_VERSION}}}$")]
Status = Literal["healthy", "degraded", "unhealthy"]
"""A worker's or a service's reported status."""
Port = Annotated[int, Field(ge=1, le=65535)]
Time = Annotated[float, Field(ge=-_BIG, le=_BIG)]
Count = Annotated[int, Field(ge=0, le=2**53)]


def _memory(value: Any) -> Any:
    """``available_memory``: a short string (the agent's ``"7.5GB"``), a non-negative number, or null."""
    if value is None or (isinstance(value, str) and 1 <= len(value) <= 32 and value.isprintable()):
        return value
    if value.__class__ in (int, float) and 0 <= value <= _BIG:  # bool is not a number here; NaN fails the test
        return value
    raise ValueError("must be a string of 1-32 characters or a non-negative number")


def _capabilities(value: dict[str, Any]) -> dict[str, Any]:
    """Scalar values only: strings of at most MAX_TEXT characters, finite numbers, booleans, null."""
    for key, item in value.items():
        if isinstance(item, str):
            if len(item) > MAX_TEXT:
                raise ValueError(f"{key}: at most {MAX_TEXT} characters")
        elif item.__class__ in (int, float):
            if not -_BIG <= item <= _BIG:
                raise ValueError(f"{key}: must be a finite number")
        elif item is not None and item.__class__ is not bool:
            raise ValueError(f"{key}: must be a string, number, boolean or null")
    return value


def _distinct(offers: list[ServiceOffer]) -> list[ServiceOffer]:
    names = [offer.name for offer in offers]
    if len(set(names)) != len(names):
        raise ValueError("a service is listed twice")
    return offers


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class ServiceOffer(_Body):
    """One service a registering worker offers."""

    name: ServiceName
    version: Version | None = None
    port: Port | None = None


class RegisterRequest(_Body):
    """POST /api/worker/register."""

    tunnel_url: Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL)]
    services: Annotated[list[ServiceOffer], Field(max_length=MAX_SERVICES), AfterValidator(_distinct)] = []
    capabilities: Annotated[
        dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], Any],
        Field(max_length=MAX_CAPABILITIES),
        AfterValidator(_capabilities),
    ] = {}
    wants_heartbeat_leadership: bool | None = None
    fingerprint: Id | None = None


class ServiceHealth(_Body):
    """One service's status in a heartbeat."""

    name: ServiceName
    status: Status


class HeartbeatRequest(_Body):
    """POST /api/worker/heartbeat (``load_signal: cpu``: a load in [0, 1])."""

    worker_id: Id
    epoch: Epoch | None = None
    status: Status | None = None
    current_load: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    available_memory: Annotated[Any, AfterValidator(_memory)] = None
    service_health: Annotated[list[ServiceHealth], Field(max_length=MAX_SERVICES)] | None = None
    versions: Annotated[dict[ServiceName, Version], Field(max_length=MAX_SERVICES)] | None = None


class QueueHeartbeatRequest(HeartbeatRequest):
    """A heartbeat with ``load_signal: queue``: a load in [0, MAX_QUEUE_LOAD] requests in flight per slot."""

    current_load: Annotated[float, Field(ge=0.0, le=MAX_QUEUE_LOAD)] | None = None


class UnregisterRequest(_Body):
    """POST /api/worker/unregister."""

    worker_id: Id
    epoch: Epoch | None = None


class ObservedLease(_Body):
    """The lease as the caller last saw it (what ``GET /api/leader`` answered)."""

    holder: Id | None = None
    token: Count = 0
    renewals: Count = 0
    acquired_at: Time | None = None
    renewed_at: Time | None = None


class LeaseRequest(_Body):
    """POST /api/leader."""

    worker_id: Id
    observed: ObservedLease | None = None
    release: bool | None = None


class DutyRequest(_Body):
    """POST /api/leader/duty."""

    worker_id: Id
    token: Count | None = None


ROUTE_FIELDS: dict[str, frozenset[str]] = {
    "/api/worker/register": frozenset(RegisterRequest.model_fields),
    "/api/worker/heartbeat": frozenset(HeartbeatRequest.model_fields),
    "/api/worker/unregister": frozenset(UnregisterRequest.model_fields),
    "/api/leader": frozenset(LeaseRequest.model_fields),
    "/api/leader/duty": frozenset(DutyRequest.model_fields),
}
"""The fields each POST route accepts."""


class Invalid(ValueError):
    """A body that is not a request of its route: ``field`` names where (``body`` for the whole)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    @classmethod
    def of(cls, error: ValidationError) -> Invalid:
        """The first error pydantic found, its location written ``services[0].name`` (a map's key: the map)."""
        first = error.errors(include_url=False, include_input=False)[0]
        field = ""
        for part in first["loc"]:
            if part == "[key]":
                field = field.rsplit(".", 1)[0]
                break
            if isinstance(part, int):
                field += f"[{part}]"
            else:
                text = str(part)
                field += ("." if field else "") + (text if len(text) <= 64 else text[:61] + "...")
        return cls(field or "body", first["msg"])


def bad_request(error: Invalid) -> Response:
    """The 400 answering ``error``."""
    return Response(400, {"error": error.message, "field": error.field})


def valid_service_name(name: Any) -> bool:
    """True for a name :data:`SERVICE_PATTERN` accepts."""
    return name.__class__ is str and _SERVICE_RE.fullmatch(name) is not None


def _parser(model: type[_Body]) -> Callable[[Any, Any], Any]:
    def parse(body: Any, policy: Any) -> Any:
        try:
            return model.model_validate(body)
        except ValidationError as error:
            raise Invalid.of(error) from None

    parse.__doc__ = f"``body`` as a :class:`{model.__name__}`; raises :class:`Invalid`."
    return parse


def parse_heartbeat(body: Any, policy: Any) -> HeartbeatRequest:
    """``body`` as a heartbeat, its load bounded by the policy's ``load_signal``; raises :class:`Invalid`."""
    model = QueueHeartbeatRequest if getattr(policy, "load_signal", "cpu") == "queue" else HeartbeatRequest
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise Invalid.of(error) from None


PARSERS: dict[tuple[str, str], Callable[[Any, Any], Any]] = {
    ("POST", "/api/worker/register"): _parser(RegisterRequest),
    ("POST", "/api/worker/heartbeat"): parse_heartbeat,
    ("POST", "/api/worker/unregister"): _parser(UnregisterRequest),
    ("POST", "/api/leader"): _parser(LeaseRequest),
    ("POST", "/api/leader/duty"): _parser(DutyRequest),
}
"""(method, path) -> the parser of its body; the other routes take no body."""


def parse_body(method: str, path: str, body: Any, policy: Any) -> Any:
    """The typed request of a body sent to ``(method, path)`` (None for a route without a body); raises
    :class:`Invalid`."""
    parser = PARSERS.get((method, path))
    return None if parser is None else parser(body, policy)
