"""The scenario model: one experiment, as a user writes it in YAML.

A ``Scenario`` says how long to simulate, which coordinator policy to run (a preset plus knob overrides), how
the simulated world behaves (``kv``, ``network``), which machines exist (``fleet``: groups of identical
machines, each hosting service containers), what traffic arrives (``workload``), which faults strike when
(``faults``) and what the summary must show at the end (``expect``). Durations are floats in seconds and rates
floats per second once validated. Every model forbids unknown fields, so a typo is an error rather than a
silently ignored setting.

Cross-field rules live in validators next to the field they locate: a fault target naming a missing group is
reported at that fault's ``target``, ``warmup >= duration`` at ``warmup``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
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
from .faults import FaultSpec, fault_spec_union
from .overrides import override_label, plain, set_path
from .policy import PRESETS, Policy
from .units import Duration, PositiveDuration, Rate, SignedDuration, format_duration
from .versions import Version

__all__ = [
    "ClockConfig",
    "CoordinatorConfig",
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

_FORBID = ConfigDict(extra="forbid", frozen=True)
MIN_CACHE_TTL = 30.0


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
    capacity: int = Field(default=1, ge=1, description="Concurrent requests served; more wait in a FIFO queue.")
    service_time: Dist = Field(default_factory=lambda: Exponential.model_validate({"mean": "100ms"}))
    version: Version = Field(default="1.0", description='What the container\'s /health reports (quote it: "1.10").')


class GroupConfig(_Section):
    """``count`` identical machines up from the start and ``spares`` that start down (a fault starts them)."""

    count: int = Field(default=1, ge=0)
    spares: int = Field(default=0, ge=0)
    start_at: Duration = Field(default=0.0, description="When the group's machines boot.")
    start_within: Duration | None = Field(
        default=None,
        description="Boots are spread uniformly at random over this window (default: one heartbeat interval, so "
        "the machines' heartbeats are not in step unless asked with 0s).",
    )
    speed: float = Field(default=1.0, gt=0, description="Service-time divisor: 2.0 serves twice as fast.")
    speeds: list[Annotated[float, Field(gt=0)]] | None = Field(
        default=None,
        description="A speed per machine (index order, count + spares of them), instead of one `speed` for all.",
    )
    memory_gb: float = Field(default=16.0, gt=0)
    clock: ClockConfig = Field(default_factory=ClockConfig)
    services: dict[Name, ServiceConfig] = Field(min_length=1)

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
    end: PositiveDuration

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
    caches_per_location: int = Field(default=2, ge=1)
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


def _preset_choices(schema: dict[str, JsonValue]) -> None:
    """JSON Schema ``enum`` of the ``preset`` field: the presets registered when the schema is generated."""
    schema["enum"] = list(PRESETS)


class _CoordinatorBase(_Section):
    """Which preset the coordinator runs and on how many edges; knob fields override the preset."""

    preset: str = Field(
        default="baseline",
        description="A registered policy preset.",
        json_schema_extra=_preset_choices,
    )
    edges: int = Field(default=1, ge=1, description="Cloudflare locations (edge caches) serving the coordinator.")
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

    service: Name
    rate: Rate
    start: Duration = 0.0
    stop: Duration | None = None
    diurnal: Diurnal | None = Field(default=None, description="Modulate the rate along a daily curve.")

    @field_validator("stop")
    @classmethod
    def _after_start(cls, stop: float | None, info: ValidationInfo) -> float | None:
        start = info.data.get("start")
        if stop is not None and start is not None and stop <= start:
            raise ValueError(f"stop ({format_duration(stop)}) must be after start ({format_duration(start)})")
        return stop


_EXPECT_LIST: TypeAdapter[list[Expectation]] = TypeAdapter(list[Expectation])


def _message(msg: str) -> str:
    return msg.removeprefix("Value error, ")


class Scenario(BaseModel):
    """One experiment; see the module docstring. Load one with ``load_scenario(path)``."""

    model_config = _FORBID

    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(default=0, ge=0, description="Root seed: every random stream derives from it.")
    duration: PositiveDuration
    warmup: Duration = Field(default=0.0, description="Measurements start after the warmup.")
    sample_every: PositiveDuration = 5.0
    coordinator: CoordinatorConfig = Field(default_factory=CoordinatorConfig)
    kv: KVConfig = Field(default_factory=KVConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    fleet: dict[Name, GroupConfig] = Field(min_length=1)
    workload: list[WorkloadSpec] = Field(default_factory=list)
    faults: list[fault_spec_union()] = Field(default_factory=list)  # type: ignore[valid-type]  # union built at import from FAULT_SPECS
    phases: dict[Name, Phase] = Field(
        default_factory=dict,
        description="Named time windows (`{canary: {start: 3m, end: 14m}}`): the request figures are also computed "
        "over the requests that arrived in each, as `phase.<name>.<key>`.",
    )
    expect: list[Expectation] | dict[str, list[Expectation]] = Field(
        default_factory=list,
        description="Assertions on the summary: a list (whatever the preset), or a mapping from preset name (or "
        "`all`) to a list, so one file states what each preset must show.",
    )

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)
    _source_map: SourceMap | None = PrivateAttr(default=None)
    _source: str | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: Any) -> Scenario:
        scenario = handler(data)
        if isinstance(data, Mapping) and not scenario._raw:
            scenario._raw = plain(data)
        return scenario

    @field_validator("expect", mode="wrap")
    @classmethod
    def _list_or_per_preset(cls, expect: Any, handler: Any) -> list[Expectation] | dict[str, list[Expectation]]:
        """A list, or a mapping preset -> list; validated as the one it is, so errors point into it."""
        if isinstance(expect, Mapping):
            errors: list[tuple[tuple[str | int, ...], str]] = []
            out: dict[str, list[Expectation]] = {}
            for name, lines in expect.items():
                if name != "all" and name not in PRESETS:
                    errors.append(((name,), f"unknown preset {name!r}; known: all, {', '.join(PRESETS)}"))
                    continue
                try:
                    out[name] = _EXPECT_LIST.validate_python(lines)
                except ValidationError as exc:
                    errors.extend(((name, *e["loc"]), _message(e["msg"])) for e in exc.errors())
            if errors:
                raise LocatedErrors(errors)
            return out
        if not isinstance(expect, list):
            raise ValueError("expected a list of expectations, or a mapping from preset name (or `all`) to a list")
        try:
            return _EXPECT_LIST.validate_python(expect)
        except ValidationError as exc:
            raise LocatedErrors((tuple(e["loc"]), _message(e["msg"])) for e in exc.errors()) from None

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

    @field_validator("phases")
    @classmethod
    def _phases_within_run(cls, phases: dict[str, Phase], info: ValidationInfo) -> dict[str, Phase]:
        duration = info.data.get("duration")
        errors = [
            ((name, "end"), f"end ({format_duration(p.end)}) is after the run's duration ({format_duration(duration)})")
            for name, p in phases.items()
            if duration is not None and p.end > duration
        ]
        if errors:
            raise LocatedErrors(errors)
        return phases

    @field_validator("workload")
    @classmethod
    def _served_services(cls, workload: list[WorkloadSpec], info: ValidationInfo) -> list[WorkloadSpec]:
        fleet: dict[str, GroupConfig] | None = info.data.get("fleet")
        if fleet is None:
            return workload
        offered = {service for group in fleet.values() for service in group.services}
        errors = [
            (
                (i, "service"),
                f"no fleet group runs service {spec.service!r}; known: {', '.join(sorted(offered))}",
            )
            for i, spec in enumerate(workload)
            if spec.service not in offered
        ]
        if errors:
            raise LocatedErrors(errors)
        return workload

    @field_validator("faults")
    @classmethod
    def _existing_targets(cls, faults: list[FaultSpec], info: ValidationInfo) -> list[FaultSpec]:
        fleet: dict[str, GroupConfig] | None = info.data.get("fleet")
        if fleet is None:
            return faults
        coordinator = info.data.get("coordinator")
        edges = coordinator.edges if coordinator is not None else None
        errors = [
            ((i, name), message) for i, fault in enumerate(faults) for name, message in fault.problems(fleet, edges)
        ]
        if errors:
            raise LocatedErrors(errors)
        return faults

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
