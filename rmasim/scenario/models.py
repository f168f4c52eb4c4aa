"""The scenario model: one experiment, as a user writes it in YAML.

A ``Scenario`` says how long to simulate, which coordinator policy to run (a preset plus knob overrides), how
the simulated world behaves (``kv``, ``network``), which machines exist (``fleet``: groups of identical
machines, each hosting service containers), what traffic arrives (``workload``), which faults strike when
(``faults``), what the summary must show at the end (``expect``) and which properties must hold all through
the run or after the faults heal (``properties``, :mod:`rmasim.scenario.properties`). Durations are floats in
seconds and rates floats per second once validated. Every model forbids unknown fields, so a typo is an error
rather than a silently ignored setting.

Cross-field rules live in validators next to the field they locate: a fault target naming a missing group is
reported at that fault's ``target``, ``warmup >= duration`` at ``warmup``. The ones that reach into another
section (fault targets and times, workload services and starts, phase ends) check against the ``References``
read leniently from the raw data before validation (:mod:`rmasim.scenario.references`), so they are reported
in the same pass as the problems of the section they refer to; only the budgets that need the whole scenario
(requests with bursts, heartbeats) wait for the rest to be valid.

Every magnitude is bounded (:mod:`rmasim.scenario.limits`): the JSON Schema shows each bound as ``maximum`` or
``maxItems``, or in the description when it relates two fields. ``name`` is a slug, since reports are written
to ``reports/<name>/``: no path separator, no ``.`` or ``..``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from .distributions import Dist, Exponential, LogNormal
from .errors import LocatedErrors, Problem, ScenarioError, SourceMap, problems_from_validation
from .expectations import Expectation
from .faults import HotService, TrafficBurst, fault_spec_union
from .limits import (
    MAX_CACHES_PER_LOCATION,
    MAX_CAPACITY,
    MAX_CONTAINERS,
    MAX_DURATION,
    MAX_EDGES,
    MAX_EXPECTATIONS,
    MAX_FAULTS,
    MAX_HEARTBEATS,
    MAX_ISOLATES_PER_LOCATION,
    MAX_MACHINES,
    MAX_PHASES,
    MAX_PROPERTIES,
    MAX_REQUESTS,
    MAX_SAMPLES,
    MAX_SEED,
    MAX_SERVICES_PER_GROUP,
    MAX_WORKLOAD,
)
from .names import unknown_name
from .overrides import override_label, plain, set_path
from .policy import PRESETS, Policy
from .properties import PropertySpec, property_specs
from .references import GroupRef, References, current_references, use_references
from .space import FaultSpace
from .units import Duration, PositiveDuration, Rate, SignedDuration, format_duration
from .versions import Version

__all__ = [
    "ClockConfig",
    "CoordinatorConfig",
    "DNSConfig",
    "Diurnal",
    "GroupConfig",
    "KVConfig",
    "NetworkConfig",
    "Phase",
    "Scenario",
    "ServiceConfig",
    "WorkloadSpec",
    "scenario_json_schema",
]

NAME_PATTERN = r"^[a-z][a-z0-9_-]*$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
"""A group or service name: lowercase letters, digits, '-' and '_', starting with a letter."""

_FORBID = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
MIN_CACHE_TTL = 30.0

SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""A scenario name: 1-64 letters, digits, '_', '.' and '-', starting with a letter or a digit."""


def _slug(name: str) -> str:
    """A scenario name names its report directory (``reports/<name>/``): it must not be a path."""
    if re.fullmatch(SLUG_PATTERN[1:-1], name) is None:
        raise ValueError(
            f"{name!r} is not a valid name: it names the report directory reports/<name>/, so it is 1-64 "
            "letters, digits, '_', '.' or '-', starting with a letter or a digit (no '/', no '\\', not '.' or '..')"
        )
    return name


#: How the checkers find a service's providers (``coordinator.registry_view``; see
#: :func:`rmasim.system.registry_snapshot`).
RegistryView = Literal["index_keys", "worker_records"]


def _run_length(duration: float) -> float:
    if duration > MAX_DURATION:
        raise ValueError(
            f"{format_duration(duration)} is longer than the longest run rmasim simulates, "
            f"{format_duration(MAX_DURATION)}"
        )
    return duration


RunDuration = Annotated[PositiveDuration, AfterValidator(_run_length)]
"""The length of a run: more than 0s, at most ``MAX_DURATION``."""
_MACHINES = Field(ge=0, le=MAX_MACHINES)


def _lognormal(median: str, p99: str) -> LogNormal:
    return LogNormal.model_validate({"median": median, "p99": p99})


class _Section(BaseModel):
    model_config = _FORBID


class ClockConfig(_Section):
    """A machine clock: local time = true time x (1 + drift) + offset."""

    offset: SignedDuration = 0.0
    drift: float = Field(default=0.0, gt=-1.0, lt=1.0, description="Rate error, e.g. 0.0001 = 100 ppm fast.")


class ServiceConfig(_Section):
    """A service container on each machine of a group: FIFO queue in front of ``capacity`` slots."""

    port: int | None = Field(default=None, ge=1, le=65535)
    capacity: int = Field(
        default=1, ge=1, le=MAX_CAPACITY, description="Concurrent requests served; more wait in a FIFO queue."
    )
    service_time: Dist = Field(default_factory=lambda: Exponential.model_validate({"mean": "100ms"}))
    version: Version = Field(default="1.0", description='What the container\'s /health reports (quote it: "1.10").')


class GroupConfig(_Section):
    """``count`` identical machines up from the start and ``spares`` that start down (a fault starts them)."""

    count: int = Field(default=1, ge=0, le=MAX_MACHINES, description="Machines up from the start.")
    spares: int = Field(
        default=0,
        ge=0,
        le=MAX_MACHINES,
        description=f"Machines down at the start. count + spares is at most {MAX_MACHINES}, over the whole fleet too.",
    )
    start_at: Duration = Field(default=0.0, description="When the group's machines boot.")
    start_within: Duration | None = Field(
        default=None,
        description="Boots are spread uniformly at random over this window (default: one heartbeat interval, so "
        "the machines' heartbeats are not in step unless asked with 0s).",
    )
    speed: float = Field(default=1.0, gt=0, description="Service-time divisor: 2.0 serves twice as fast.")
    speeds: list[Annotated[float, Field(gt=0)]] | None = Field(
        default=None,
        max_length=MAX_MACHINES,
        description="A speed per machine (index order, count + spares of them), instead of one `speed` for all.",
    )
    memory_gb: float = Field(default=16.0, gt=0)
    clock: ClockConfig = Field(default_factory=ClockConfig)
    services: dict[Name, ServiceConfig] = Field(min_length=1, max_length=MAX_SERVICES_PER_GROUP)

    @field_validator("services")
    @classmethod
    def _distinct_ports(cls, services: dict[str, ServiceConfig]) -> dict[str, ServiceConfig]:
        owner: dict[int, str] = {}
        errors = []
        for name, service in services.items():
            if service.port is not None and service.port in owner:
                errors.append(((name, "port"), f"port {service.port} is already used by {owner[service.port]}"))
            elif service.port is not None:
                owner[service.port] = name
        if errors:
            raise LocatedErrors(errors)
        return services

    @model_validator(mode="after")
    def _has_machines(self) -> GroupConfig:
        if self.count + self.spares < 1:
            raise ValueError("a group needs at least one machine (count + spares >= 1)")
        return self

    @model_validator(mode="after")
    def _a_speed_per_machine(self) -> GroupConfig:
        if self.speeds is not None and len(self.speeds) != self.count + self.spares:
            raise LocatedErrors(
                [(("speeds",), f"{len(self.speeds)} speeds for {self.count + self.spares} machines (count + spares)")]
            )
        return self

    def speed_of(self, index: int) -> float:
        """The speed of machine ``index``."""
        return self.speeds[index] if self.speeds is not None else self.speed


class Phase(_Section):
    """A window of the run, ``start`` to ``end`` (the request figures of the requests that arrived in it)."""

    start: Duration
    end: PositiveDuration = Field(description="At most the run's `duration`.")

    @field_validator("end")
    @classmethod
    def _within_run(cls, end: float) -> float:
        duration = _reference_duration()
        if duration is not None and end > duration:
            raise ValueError(f"end ({format_duration(end)}) is after the run's duration ({format_duration(duration)})")
        return end

    @model_validator(mode="after")
    def _ordered(self) -> Phase:
        if self.end <= self.start:
            raise ValueError(f"end ({format_duration(self.end)}) must be after start ({format_duration(self.start)})")
        return self


class StrongStoreConfig(_Section):
    """The Durable Object the coordinator may use besides Workers KV (``registry_layout: strong``, ``leader: lease``):
    one linearizable store with compare-and-set, reached from every edge."""

    read_latency: Dist = Field(
        default_factory=lambda: _lognormal("20ms", "100ms"), description="A read or list round trip to the object."
    )
    write_latency: Dist = Field(
        default_factory=lambda: _lognormal("25ms", "120ms"),
        description="A write, delete or compare-and-set round trip (the object persists before it answers).",
    )


class KVConfig(_Section):
    """The registry's store: eventually consistent Workers KV, or a strongly consistent store."""

    model: Literal["workers-kv", "strong"] = "workers-kv"
    cache_ttl: Duration = Field(default=60.0, description="Edge cache lifetime of values and misses (cacheTtl).")
    read_latency: Dist = Field(
        default_factory=lambda: _lognormal("10ms", "50ms"),
        description="Central fetch on a cache miss; cache hits cost no time.",
    )
    write_latency: Dist = Field(default_factory=lambda: _lognormal("50ms", "300ms"))
    same_key_write_limit: Literal["enforce", "ignore"] = "enforce"
    same_key_write_window: Duration = 1.0
    other_cache_chance: float = Field(default=0.0, ge=0.0, le=1.0)
    caches_per_location: int = Field(default=2, ge=1, le=MAX_CACHES_PER_LOCATION)
    list_page_size: int = Field(default=1000, ge=1, le=1000)
    strong: StrongStoreConfig = Field(
        default_factory=StrongStoreConfig, description="The Durable Object beside the KV namespace."
    )

    @field_validator("cache_ttl")
    @classmethod
    def _min_ttl(cls, ttl: float) -> float:
        if ttl < MIN_CACHE_TTL:
            raise ValueError(f"Workers KV minimum cacheTtl is 30s (got {format_duration(ttl)})")
        return ttl


class NetworkConfig(_Section):
    """Links between clients, edges, agents and containers."""

    latency: Dist = Field(default_factory=lambda: _lognormal("20ms", "80ms"), description="Per one-way hop.")
    loss: float = Field(default=0.0, ge=0.0, le=1.0)
    connect_timeout: PositiveDuration = 15.0


class RebindingConfig(_Section):
    """A name whose DNS answer changes (DNS rebinding): ``first`` for its first ``after`` lookups, ``then`` after."""

    first: list[str] = Field(min_length=1, max_length=8, description="Addresses of the first lookups.")
    then: list[str] = Field(min_length=1, max_length=8, description="Addresses of every later lookup.")
    after: int = Field(default=1, ge=1, le=1000, description="Lookups answered with `first`.")


class DNSConfig(_Section):
    """The DNS answers the coordinator gets (rmasim.world.dns): names under the tunnel domains resolve to
    Cloudflare's anycast edge, IP literals to themselves, anything else only as given here."""

    records: dict[str, list[str]] = Field(
        default_factory=dict, max_length=256, description="Name -> its addresses (`evil.example: [10.0.0.5]`)."
    )
    rebinding: dict[str, RebindingConfig] = Field(
        default_factory=dict, max_length=64, description="Names whose answer changes between lookups."
    )
    latency: Duration = Field(default=0.001, description="One lookup (a DNS-over-HTTPS query).")


def _preset_choices(schema: dict[str, JsonValue]) -> None:
    """JSON Schema ``enum`` of the ``preset`` field: the presets registered when the schema is generated."""
    schema["enum"] = list(PRESETS)


class _CoordinatorBase(_Section):
    """Which preset the coordinator runs, where (locations and isolates: DESIGN.md section 11); knob fields override
    the preset."""

    preset: str = Field(
        default="baseline",
        description="A registered policy preset.",
        json_schema_extra=_preset_choices,
    )
    edges: int = Field(
        default=1, ge=1, le=MAX_EDGES, description="Cloudflare locations (edge caches) serving the coordinator."
    )
    isolates_per_location: int = Field(
        default=1,
        ge=1,
        le=MAX_ISOLATES_PER_LOCATION,
        description="Worker isolates at each location, each with its own memory (balancer counts, breakers, "
        "ejection, route caches, retry budget); every invocation lands on one the platform picks at random.",
    )
    location_weights: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]] | None = Field(
        default=None,
        max_length=MAX_EDGES,
        description="How clients spread over the locations: one weight per location (edges of them; the share of "
        "requests that land there is its weight over the sum), as when most users are near a few regions. None: "
        "uniform.",
    )
    isolate_lifetime: PositiveDuration | None = Field(
        default=None,
        description="Mean time an isolate lives before the platform evicts it (exponential): the next invocations "
        "there start cold, with empty memory. None: isolates live for the whole run.",
    )
    registry_view: RegistryView = Field(
        default="index_keys",
        description="How the checkers read the registry in the central store: `index_keys` (the service index "
        "keys of the Python layouts and of workers/baseline: `service:{name}` lists, `provider:{name}:{id}` keys) "
        "or `worker_records` (each `worker:{id}` record's `services`: a Worker that keeps no index and finds "
        "providers by listing its worker records).",
    )
    worker: str | None = Field(
        default=None,
        description="Run this Cloudflare Worker as the coordinator instead of the preset's Python code: a "
        "`wrangler.toml` or a `.js` module (relative to the current directory, else to the scenario file). The "
        "preset still sets the agents' knobs and the platform's request timeout.",
    )

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, preset: str) -> str:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; known presets: {', '.join(sorted(PRESETS))}")
        return preset

    @model_validator(mode="after")
    def _a_weight_per_location(self) -> _CoordinatorBase:
        if self.location_weights is not None and len(self.location_weights) != self.edges:
            message = f"{len(self.location_weights)} weights for {self.edges} locations (edges): give one each"
            raise LocatedErrors([(("location_weights",), message)])
        return self

    @property
    def policy(self) -> Policy:
        """The preset's policy with the knobs set in this section overlaid."""
        explicit = {name: getattr(self, name) for name in Policy.model_fields if getattr(self, name) is not None}
        return PRESETS[self.preset].policy.model_copy(update=explicit)


def _optional_knob(info: FieldInfo) -> tuple[Any, FieldInfo]:
    """A ``Policy`` knob as an optional coordinator field: None means "the preset's value"."""
    annotated: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return annotated | None, FieldInfo.from_field(None, description=f"{info.description} (default: from the preset)")


if TYPE_CHECKING:

    class CoordinatorConfig(_CoordinatorBase):
        """What type checkers see of the model generated below: ``preset``, ``edges`` and ``policy`` as declared
        on ``_CoordinatorBase``; the knob fields are generated from ``Policy``, so they are read as ``object``
        here (None when the preset's value applies). Read resolved, typed knob values from ``.policy``."""

        def __getattr__(self, knob: str) -> object: ...

else:
    CoordinatorConfig = create_model(
        "CoordinatorConfig",
        __base__=_CoordinatorBase,
        __module__=__name__,
        __doc__=_CoordinatorBase.__doc__,
        **{name: _optional_knob(info) for name, info in Policy.model_fields.items()},
    )
    """The ``coordinator`` section: ``preset``, ``edges`` and one optional field per ``Policy`` knob."""


class Diurnal(_Section):
    """A daily rate curve: rate x (1 + amplitude x cos(2 pi (t - peak_at) / period))."""

    amplitude: float = Field(ge=0.0, le=1.0, description="0.5: the rate swings between 0.5x and 1.5x.")
    period: PositiveDuration = Field(default=86400.0)
    peak_at: Duration = Field(default=50400.0, description="When the rate peaks (default 14h).")


class WorkloadSpec(_Section):
    """Poisson client traffic to one service between ``start`` and ``stop`` (the end of the run if unset)."""

    service: Name = Field(description="A service some fleet group runs.")
    rate: Rate = Field(
        description=f"Mean requests per second. Over the run, rate x active time summed over the workload (plus "
        f"traffic bursts and hot services) is at most {MAX_REQUESTS} requests."
    )
    start: Duration = Field(default=0.0, description="When the traffic starts; before the run's `duration`.")
    stop: Duration | None = None
    diurnal: Diurnal | None = Field(default=None, description="Modulate the rate along a daily curve.")

    @field_validator("service")
    @classmethod
    def _served(cls, service: str) -> str:
        references = current_references()
        offered = references.services if references is not None else None
        if offered is not None and service not in offered:
            raise ValueError(f"no fleet group runs service {service!r}; known: {', '.join(sorted(offered))}")
        return service

    @field_validator("start")
    @classmethod
    def _before_end(cls, start: float) -> float:
        duration = _reference_duration()
        if duration is not None and start >= duration:
            raise ValueError(
                f"start ({format_duration(start)}) is not before the end of the run (duration "
                f"{format_duration(duration)}): the traffic would never start"
            )
        return start

    def expected_requests(self, duration: float) -> float:
        """Mean number of requests over a run of ``duration`` seconds (a diurnal curve averages to ``rate``)."""
        end = duration if self.stop is None else min(self.stop, duration)
        return self.rate * max(0.0, end - self.start)

    @field_validator("stop")
    @classmethod
    def _after_start(cls, stop: float | None, info: ValidationInfo) -> float | None:
        start = info.data.get("start")
        if stop is not None and start is not None and stop <= start:
            raise ValueError(f"stop ({format_duration(stop)}) must be after start ({format_duration(start)})")
        return stop


_EXPECTATION: TypeAdapter[Expectation] = TypeAdapter(Expectation)
ExpectList = Annotated[list[Expectation], Field(max_length=MAX_EXPECTATIONS)]
_Errors = list[tuple[tuple[str | int, ...], str]]


def _message(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def _reference_duration() -> float | None:
    """The run's duration as read before validation, if the scenario being validated has a valid one."""
    references = current_references()
    return None if references is None else references.duration


def _expect_lines(lines: Any, where: tuple[str | int, ...]) -> tuple[list[Expectation], _Errors]:
    """Each line of an ``expect`` list validated on its own, then its summary key looked up (``names``)."""
    if not isinstance(lines, list):
        return [], [(where, "expected a list of expectations such as 'pollution.final == 0'")]
    if len(lines) > MAX_EXPECTATIONS:
        return [], [(where, f"{len(lines)} expectations; at most {MAX_EXPECTATIONS}")]
    out: list[Expectation] = []
    errors: _Errors = []
    for i, line in enumerate(lines):
        try:
            expectation = _EXPECTATION.validate_python(line)
        except ValidationError as exc:
            errors.extend(((*where, i, *e["loc"]), _message(e["msg"])) for e in exc.errors())
            continue
        problem = unknown_name("summary key", expectation.key)
        if problem:
            errors.append(((*where, i), problem))
        out.append(expectation)
    return out, errors


def _lenient(adapter: TypeAdapter[Any], value: Any) -> Any:
    """``value`` validated by ``adapter``, or None when it is invalid."""
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


_COUNT: TypeAdapter[int] = TypeAdapter(Annotated[int, _MACHINES])
_EDGES: TypeAdapter[int] = TypeAdapter(Annotated[int, Field(ge=1, le=MAX_EDGES)])
_RUN_DURATION: TypeAdapter[float] = TypeAdapter(RunDuration)


def _references(data: Mapping[str, Any]) -> References:
    """What faults, workload and phases may refer to, read from raw scenario data section by section."""
    duration = _lenient(_RUN_DURATION, data["duration"]) if "duration" in data else None
    coordinator = data.get("coordinator", {})
    edges = _lenient(_EDGES, coordinator.get("edges", 1)) if isinstance(coordinator, Mapping) else None
    raw_fleet = data.get("fleet")
    if not isinstance(raw_fleet, Mapping):
        return References(duration, edges)
    fleet: dict[str, GroupRef] = {}
    for name, group in raw_fleet.items():
        if not isinstance(name, str):
            continue
        if not isinstance(group, Mapping):
            fleet[name] = GroupRef(None, None, None)
            continue
        services = group.get("services")
        fleet[name] = GroupRef(
            _lenient(_COUNT, group.get("count", GroupConfig.model_fields["count"].default)),
            _lenient(_COUNT, group.get("spares", GroupConfig.model_fields["spares"].default)),
            frozenset(s for s in services if isinstance(s, str)) if isinstance(services, Mapping) else None,
        )
    known = [group.services for group in fleet.values()]
    offered = None if any(s is None for s in known) else frozenset(n for s in known for n in s or ())
    return References(duration, edges, fleet, offered)


class Scenario(BaseModel):
    """One experiment; see the module docstring. Load one with ``load_scenario(path)``."""

    model_config = _FORBID

    name: Annotated[str, AfterValidator(_slug)] = Field(
        description="Names the run and its report directory, reports/<name>/: 1-64 letters, digits, '_', '.' or "
        "'-', starting with a letter or a digit.",
        json_schema_extra={"pattern": SLUG_PATTERN, "maxLength": 64},
    )
    description: str = ""
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="Root seed: every random stream derives from it.")
    duration: RunDuration = Field(
        description=f"Simulated time of the run, at most {format_duration(MAX_DURATION)}.",
    )
    warmup: Duration = Field(default=0.0, description="Measurements start after the warmup (< duration).")
    sample_every: PositiveDuration = Field(
        default=5.0,
        description=f"Checker sampling period; duration / sample_every is at most {MAX_SAMPLES} samples.",
    )
    request_records: bool = Field(
        default=True,
        exclude_if=lambda records: records,
        description="Keep one row per client request (requests.parquet; about 33 bytes a request). `false`: keep "
        "running totals only, so memory does not grow with the duration; counts and rates are the same, latency "
        "percentiles come from a histogram (within 0.2%), and the `recovery` checker's `trigger` phase is refused.",
    )
    coordinator: CoordinatorConfig = Field(default_factory=CoordinatorConfig)
    kv: KVConfig = Field(default_factory=KVConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    fleet: dict[Name, GroupConfig] = Field(
        min_length=1,
        description=f"Groups of identical machines: at most {MAX_MACHINES} machines (count + spares) and "
        f"{MAX_CONTAINERS} service containers (machines x services) in all. Machines x duration / "
        f"heartbeat_interval is at most {MAX_HEARTBEATS} heartbeats.",
    )
    workload: list[WorkloadSpec] = Field(default_factory=list, max_length=MAX_WORKLOAD)
    faults: list[fault_spec_union()] = Field(default_factory=list, max_length=MAX_FAULTS)  # type: ignore[valid-type]  # union built at import from FAULT_SPECS
    dns: DNSConfig = Field(default_factory=DNSConfig)
    phases: dict[Name, Phase] = Field(
        default_factory=dict,
        max_length=MAX_PHASES,
        description="Named time windows (`{canary: {start: 3m, end: 14m}}`): the request figures are also computed "
        "over the requests that arrived in each, as `phase.<name>.<key>`.",
    )
    expect: ExpectList | dict[str, ExpectList] = Field(
        default_factory=list,
        description="Assertions on the summary: a list (whatever the preset), or a mapping from preset name (or "
        "`all`) to a list, so one file states what each preset must show.",
    )
    properties: list[PropertySpec] = Field(
        default_factory=list,
        max_length=MAX_PROPERTIES,
        exclude_if=lambda properties: not properties,
        description="Named properties with their parameters (`[{name: no_dead_in_index, purge_within: 240s}]`), "
        "checked all through the run (safety) or after the last fault heals (liveness); a violated one fails the "
        "run as a failed `expect` line does, and shows as `property.<name>.violated_at`. See docs/properties.md.",
    )

    explore: FaultSpace | None = Field(
        default=None,
        exclude_if=lambda space: space is None,
        description="The fault space `rmasim explore` draws schedules from (`{kinds: [crash, partition], "
        "max_faults: 3}`); ignored by `rmasim run`. See docs/properties.md.",
    )

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)
    _source_map: SourceMap | None = PrivateAttr(default=None)
    _source: str | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: Any) -> Scenario:
        """Validate with the raw data's ``References`` current (cross-section checks), and keep the raw data."""
        if not isinstance(data, Mapping):
            return handler(data)
        with use_references(_references(data)):
            scenario = handler(data)
        if not scenario._raw:
            scenario._raw = plain(data)
        return scenario

    @field_validator("expect", mode="wrap")
    @classmethod
    def _list_or_per_preset(cls, expect: Any, handler: Any) -> list[Expectation] | dict[str, list[Expectation]]:
        """A list, or a mapping preset -> list; validated as the one it is, so errors point into it. Each line
        is validated on its own and its summary key looked up, so every bad line is reported."""
        if isinstance(expect, Mapping):
            errors: _Errors = []
            out: dict[str, list[Expectation]] = {}
            for name, lines in expect.items():
                if name != "all" and name not in PRESETS:
                    errors.append(((name,), f"unknown preset {name!r}; known: all, {', '.join(PRESETS)}"))
                    continue
                out[name], found = _expect_lines(lines, (name,))
                errors += found
            if errors:
                raise LocatedErrors(errors)
            return out
        if not isinstance(expect, list):
            raise ValueError("expected a list of expectations, or a mapping from preset name (or `all`) to a list")
        lines, errors = _expect_lines(expect, ())
        if errors:
            raise LocatedErrors(errors)
        return lines

    @field_validator("properties", mode="before")
    @classmethod
    def _property_entries(cls, properties: Any) -> list[PropertySpec]:
        """Each entry validated on its own against its property's parameters, so every bad entry is reported."""
        if isinstance(properties, list) and len(properties) > MAX_PROPERTIES:
            raise ValueError(f"{len(properties)} properties; at most {MAX_PROPERTIES}")
        return property_specs(properties)

    def expectations(self) -> list[Expectation]:
        """The ``expect`` lines for this scenario's preset: the list, or the ``all`` and preset entries."""
        if isinstance(self.expect, list):
            return list(self.expect)
        return [*self.expect.get("all", []), *self.expect.get(self.coordinator.preset, [])]

    def expectation_presets(self) -> list[str]:
        """The presets this file is meant to run under: its own, then each preset its ``expect`` names."""
        names = [self.coordinator.preset]
        if isinstance(self.expect, dict):
            names += [name for name in self.expect if name != "all"]
        return list(dict.fromkeys(names))

    def all_expectations(self) -> list[tuple[tuple[str | int, ...], Expectation]]:
        """(path in the file, line) for every ``expect`` line of every preset."""
        if isinstance(self.expect, list):
            return [(("expect", i), e) for i, e in enumerate(self.expect)]
        return [(("expect", name, i), e) for name, lines in self.expect.items() for i, e in enumerate(lines)]

    @field_validator("warmup")
    @classmethod
    def _warmup_before_end(cls, warmup: float, info: ValidationInfo) -> float:
        duration = info.data.get("duration")
        if duration is not None and warmup >= duration:
            shown = format_duration(warmup), format_duration(duration)
            raise ValueError(f"warmup ({shown[0]}) must be shorter than duration ({shown[1]})")
        return warmup

    @field_validator("sample_every")
    @classmethod
    def _bounded_samples(cls, every: float, info: ValidationInfo) -> float:
        duration = info.data.get("duration")
        if duration is not None and duration / every > MAX_SAMPLES:
            shortest = math.ceil(duration / MAX_SAMPLES * 1000) / 1000
            raise ValueError(
                f"{format_duration(every)} over a duration of {format_duration(duration)} is "
                f"{duration / every:.0f} samples; at most {MAX_SAMPLES} (sample_every >= {format_duration(shortest)})"
            )
        return every

    @field_validator("fleet")
    @classmethod
    def _bounded_fleet(cls, fleet: dict[str, GroupConfig]) -> dict[str, GroupConfig]:
        machines = sum(group.count + group.spares for group in fleet.values())
        containers = sum((group.count + group.spares) * len(group.services) for group in fleet.values())
        if machines > MAX_MACHINES:
            raise ValueError(f"{machines} machines in all (count + spares over the groups); at most {MAX_MACHINES}")
        if containers > MAX_CONTAINERS:
            raise ValueError(
                f"{containers} service containers in all (machines x services over the groups); at most "
                f"{MAX_CONTAINERS}"
            )
        return fleet

    @field_validator("workload")
    @classmethod
    def _bounded_requests(cls, workload: list[WorkloadSpec], info: ValidationInfo) -> list[WorkloadSpec]:
        duration = info.data.get("duration")
        if duration is None or not workload:
            return workload
        expected = [spec.expected_requests(duration) for spec in workload]
        if sum(expected) > MAX_REQUESTS:
            biggest = max(range(len(workload)), key=expected.__getitem__)
            raise LocatedErrors([((biggest, "rate"), _too_many_requests(sum(expected), duration))])
        return workload

    @model_validator(mode="after")
    def _within_budgets(self) -> Scenario:
        """The budgets that need the whole scenario: requests with bursts and hot services, heartbeats."""
        errors: _Errors = []
        extra: list[tuple[int, str, float]] = []  # (fault index, field, expected extra requests)
        for i, fault in enumerate(self.faults):
            if isinstance(fault, TrafficBurst):
                extra.append((i, "requests", float(fault.requests)))
            elif isinstance(fault, HotService):
                base = sum(s.rate for s in self.workload if s.service == fault.service)
                window = max(0.0, min(fault.duration, self.duration - fault.at))
                extra.append((i, "factor", base * (fault.factor - 1) * window))
        total = sum(spec.expected_requests(self.duration) for spec in self.workload) + sum(e[2] for e in extra)
        if extra and total > MAX_REQUESTS:
            i, name, _ = max(extra, key=lambda e: e[2])
            errors.append((("faults", i, name), _too_many_requests(total, self.duration)))
        machines = sum(group.count + group.spares for group in self.fleet.values())
        interval = self.policy.heartbeat_interval
        if machines * self.duration / interval > MAX_HEARTBEATS:
            where = ("coordinator", "heartbeat_interval") if self.coordinator.heartbeat_interval else ("fleet",)
            errors.append(
                (
                    where,
                    f"{machines} machine{'s' if machines != 1 else ''} heartbeating every "
                    f"{format_duration(interval)} for "
                    f"{format_duration(self.duration)} is about {machines * self.duration / interval:.3g} "
                    f"heartbeats; at most {MAX_HEARTBEATS}",
                )
            )
        if errors:
            raise LocatedErrors(errors)
        return self

    def __eq__(self, other: object) -> bool:
        """Equal when the fields are equal, wherever each scenario was loaded from."""
        if not isinstance(other, Scenario):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    @property
    def policy(self) -> Policy:
        """The resolved coordinator and agent policy."""
        return self.coordinator.policy

    @property
    def source(self) -> str | None:
        """The file this scenario was loaded from, or None."""
        return self._source

    def locate(self, field_path: tuple[str | int, ...] | str) -> tuple[str, int, int] | None:
        """``(file, line, col)`` of a field in the YAML file (or of its nearest enclosing node), or None."""
        if isinstance(field_path, str):
            field_path = tuple(int(s) if s.isdigit() else s for s in field_path.split("."))
        if self._source_map is None:
            return None
        position = self._source_map.locate(tuple(field_path))
        return None if position is None else (self._source_map.file, *position)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A new, fully re-validated scenario with dotted-path overrides applied.

        >>> scenario.with_overrides({"coordinator.edges": 2, "faults.0.at": "1m"})  # doctest: +SKIP
        """
        raw = copy.deepcopy(self._raw) if self._raw else plain(self)
        labels = {path: override_label(path, value) for path, value in overrides.items()}
        problems = []
        for path, value in overrides.items():
            try:
                set_path(raw, path, value)
            except ValueError as exc:
                problems.append(Problem(labels[path], None, None, path, str(exc)))
        if problems:
            raise ScenarioError(problems)
        try:
            scenario = type(self).model_validate(raw)
        except ValidationError as exc:
            file = self._source_map.file if self._source_map else "<scenario>"
            located = problems_from_validation(exc, raw, self._source_map, file)
            raise ScenarioError([_blame_override(problem, labels) for problem in located]) from None
        scenario._source_map, scenario._source = self._source_map, self._source
        return scenario


def _too_many_requests(total: float, duration: float) -> str:
    return (
        f"about {total:.3g} requests expected over {format_duration(duration)} (rate x active time over the "
        f"workload, plus traffic bursts and hot services); at most {MAX_REQUESTS}"
    )


def _blame_override(problem: Problem, labels: Mapping[str, str]) -> Problem:
    """Report a problem under the override that caused it, when its field is at or below (or above) one."""
    for path, label in labels.items():
        if problem.field == path or problem.field.startswith(path + ".") or path.startswith(problem.field + "."):
            return dataclasses.replace(problem, file=label, line=None, col=None)
    return problem


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (input form: durations and rates as strings)."""
    schema = Scenario.model_json_schema(mode="validation")
    schema["title"] = "rmasim scenario"
    return schema
