"""Fault spaces: which fault schedules a search (``rmasim explore``) may draw for a scenario, and how one is drawn.

A scenario's optional ``explore`` section describes the space; every field has a default, so a scenario without
the section is explored over a built-in space::

    explore: {kinds: [crash, partition], max_faults: 3, start: 30s, end: 2m}

- ``kinds``: the fault actions that may be drawn (default: those of :data:`DEFAULT_KINDS` that make sense for
  the fleet: ``start`` only with spares). Each is a registered fault action that has a *drawer* here
  (:data:`DRAWERS`): a function of a numpy generator and the scenario that returns one fault as plain data;
- ``min_faults`` / ``max_faults``: how many faults a run draws (uniform);
- ``groups``: the fleet groups machine faults may target (default: all);
- ``start`` / ``end``: the window of the faults' ``at`` (default: the warmup, or 30 s, to half the run);
- ``min_duration`` / ``max_duration``: the range of every drawn length (partition, outage, ``down_for``, ...);
- ``swarm``: swarm testing (Groce et al., ISSTA 2012): each run switches each kind on with probability 1/2 (at
  least one stays on), then draws all its faults from the kinds that are on; off: every kind, every run.

Times and lengths are whole seconds, so a drawn schedule reads as it would be written. :func:`draw_schedule`
uses only the generator it is given: the same generator state gives the same schedule on any machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import LocatedErrors
from .faults import FAULT_SPECS
from .references import current_references
from .units import Duration, PositiveDuration, format_duration, parse_duration

__all__ = ["ATTACK_KINDS", "DEFAULT_KINDS", "DRAWERS", "FaultSpace", "SpaceContext", "draw_schedule", "register_drawer"]

#: At most this many faults per drawn schedule.
MAX_DRAWN_FAULTS = 20


@dataclass(frozen=True)
class SpaceContext:
    """What a drawer may target: machines up at start (``(group, index)``), spares, edges, services by group, the
    ``at`` window and the range of lengths (seconds)."""

    machines: tuple[tuple[str, int], ...]
    spares: tuple[tuple[str, int], ...]
    edges: int
    services: Mapping[str, tuple[str, ...]]
    start: float
    end: float
    min_duration: float
    max_duration: float

    def at(self, rng: np.random.Generator) -> str:
        return format_duration(float(rng.integers(int(self.start), int(self.end) + 1)))

    def length(self, rng: np.random.Generator, low: float | None = None, high: float | None = None) -> str:
        lo = int(max(1, self.min_duration if low is None else low))
        hi = int(max(lo, self.max_duration if high is None else high))
        return format_duration(float(rng.integers(lo, hi + 1)))

    def machine(self, rng: np.random.Generator) -> str:
        group, index = self.machines[int(rng.integers(len(self.machines)))]
        return f"{group}/{index}"

    def service(self, rng: np.random.Generator) -> tuple[str, str]:
        group, index = self.machines[int(rng.integers(len(self.machines)))]
        names = self.services[group]
        return f"{group}/{index}", names[int(rng.integers(len(names)))]


Drawer = Callable[[np.random.Generator, SpaceContext], dict[str, Any]]
DRAWERS: dict[str, Drawer] = {}
"""Drawer by fault action: ``(rng, context) -> {"action": ..., "at": ..., ...}``."""


def register_drawer(action: str) -> Callable[[Drawer], Drawer]:
    """Decorator: register how faults of ``action`` (a registered fault spec) are drawn; a duplicate is an error."""

    def register(drawer: Drawer) -> Drawer:
        if action not in FAULT_SPECS:
            raise ValueError(f"no fault action {action!r} to draw; registered: {', '.join(FAULT_SPECS)}")
        if action in DRAWERS:
            raise ValueError(f"a drawer for {action!r} is already registered")
        DRAWERS[action] = drawer
        return drawer

    return register


@register_drawer("crash")
def _crash(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    return {"action": "crash", "at": c.at(rng), "target": c.machine(rng)}


@register_drawer("stop")
def _stop(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    return {"action": "stop", "at": c.at(rng), "target": c.machine(rng)}


@register_drawer("restart")
def _restart(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    return {"action": "restart", "at": c.at(rng), "target": c.machine(rng), "down_for": c.length(rng)}


@register_drawer("crash_loop")
def _crash_loop(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    every = int(rng.integers(max(2, int(c.min_duration)), max(2, int(c.max_duration)) + 1))
    down = int(rng.integers(1, every))
    return {
        "action": "crash_loop",
        "at": c.at(rng),
        "target": c.machine(rng),
        "every": format_duration(float(every)),
        "down_for": format_duration(float(down)),
        "times": int(rng.integers(2, 4)),
    }


@register_drawer("start")
def _start(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    group, index = c.spares[int(rng.integers(len(c.spares)))] if c.spares else c.machines[0]
    return {"action": "start", "at": c.at(rng), "target": f"{group}/{index}"}


@register_drawer("partition")
def _partition(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    return {
        "action": "partition",
        "at": c.at(rng),
        "target": c.machine(rng),
        "duration": c.length(rng),
        "oneway": bool(rng.integers(2)),
    }


@register_drawer("clock_jump")
def _clock_jump(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, edge = c.at(rng), int(rng.integers(c.edges))
    step = float(rng.integers(30, 601)) * (1 if rng.integers(2) else -1)
    return {"action": "clock_jump", "at": at, "edge": edge, "delta": format_duration(step)}


@register_drawer("edge_lag")
def _edge_lag(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, edge = c.at(rng), int(rng.integers(c.edges))
    return {"action": "edge_lag", "at": at, "edge": edge, "lag": c.length(rng, 1, 60), "duration": c.length(rng)}


@register_drawer("kv_outage")
def _kv_outage(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    return {"action": "kv_outage", "at": c.at(rng), "duration": c.length(rng)}


@register_drawer("service_crash")
def _service_crash(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, (target, service) = c.at(rng), c.service(rng)
    return {"action": "service_crash", "at": at, "target": target, "service": service, "down_for": c.length(rng)}


@register_drawer("service_hang")
def _service_hang(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, (target, service) = c.at(rng), c.service(rng)
    return {"action": "service_hang", "at": at, "target": target, "service": service, "duration": c.length(rng)}


@register_drawer("service_slow")
def _service_slow(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, (target, service) = c.at(rng), c.service(rng)
    factor = float(rng.choice([2, 5, 10, 20]))
    return {"action": "service_slow", "at": at, "target": target, "service": service, "factor": factor,
            "duration": c.length(rng)}  # fmt: skip


@register_drawer("service_errors")
def _service_errors(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, (target, service) = c.at(rng), c.service(rng)
    rate = float(rng.choice([0.1, 0.5, 1.0]))
    return {"action": "service_errors", "at": at, "target": target, "service": service, "rate": rate,
            "duration": c.length(rng)}  # fmt: skip


@register_drawer("service_flap")
def _service_flap(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, (target, service) = c.at(rng), c.service(rng)
    period = int(rng.integers(2, 61))
    duration = min(int(parse_duration(c.length(rng))), period * 10)  # at most 10 cycles
    return {"action": "service_flap", "at": at, "target": target, "service": service,
            "period": format_duration(float(period)), "duration": format_duration(float(max(duration, 1)))}  # fmt: skip


@register_drawer("rolling_upgrade")
def _rolling_upgrade(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, (target, service) = c.at(rng), c.service(rng)
    return {"action": "rolling_upgrade", "at": at, "target": target.split("/")[0] + "/*", "service": service,
            "version": "1.1", "every": c.length(rng, 5, 60), "down_for": c.length(rng, 1, 30)}  # fmt: skip


@register_drawer("burst")
def _burst(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    group, index = c.spares[int(rng.integers(len(c.spares)))] if c.spares else c.machines[0]
    return {"action": "burst", "at": c.at(rng), "target": f"{group}/{index}", "within": c.length(rng, 1, 60)}


@register_drawer("cpu_hog")
def _cpu_hog(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, target = c.at(rng), c.machine(rng)
    load = float(rng.choice([0.25, 0.5, 0.9]))
    return {"action": "cpu_hog", "at": at, "target": target, "load": load, "duration": c.length(rng)}


@register_drawer("hot_service")
def _hot_service(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, (_, service) = c.at(rng), c.service(rng)
    factor = float(rng.choice([2, 3, 5]))
    return {"action": "hot_service", "at": at, "service": service, "factor": factor, "duration": c.length(rng)}


@register_drawer("traffic_burst")
def _traffic_burst(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, (_, service) = c.at(rng), c.service(rng)
    return {"action": "traffic_burst", "at": at, "service": service, "requests": int(rng.integers(10, 201)),
            "within": c.length(rng, 1, 10)}  # fmt: skip


# Attacks (issue 15): an attacker that is none of the fleet's agents, on one edge, at a modest pace (a run stays
# about as cheap as a fault of nature's: at most a few hundred calls).


@register_drawer("rogue_register")
def _rogue_register(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, target, edge = c.at(rng), c.machine(rng), int(rng.integers(c.edges))
    return {"action": "rogue_register", "at": at, "target": target, "edge": edge,
            "every": format_duration(float(rng.choice([1, 2, 5])))}  # fmt: skip


@register_drawer("forged_heartbeat")
def _forged_heartbeat(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, edge = c.at(rng), int(rng.integers(c.edges))
    return {"action": "forged_heartbeat", "at": at, "edge": edge, "workers": int(rng.integers(1, len(c.machines) + 1)),
            "current_load": float(rng.choice([-0.1, 0.0, 1e9])), "times": int(rng.integers(1, 21)),
            "every": format_duration(float(rng.choice([1, 5, 10])))}  # fmt: skip


@register_drawer("forged_unregister")
def _forged_unregister(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, edge = c.at(rng), int(rng.integers(c.edges))
    return {"action": "forged_unregister", "at": at, "edge": edge, "workers": int(rng.integers(1, len(c.machines) + 1)),
            "every": format_duration(float(rng.choice([1, 2, 5])))}  # fmt: skip


@register_drawer("lease_theft")
def _lease_theft(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, edge = c.at(rng), int(rng.integers(c.edges))
    return {"action": "lease_theft", "at": at, "edge": edge, "duration": c.length(rng),
            "every": format_duration(float(rng.choice([1, 5]))), "release": bool(rng.integers(2))}  # fmt: skip


@register_drawer("ssrf_register")
def _ssrf_register(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, edge = c.at(rng), int(rng.integers(c.edges))
    return {"action": "ssrf_register", "at": at, "edge": edge, "every": format_duration(float(rng.choice([1, 2, 5])))}


@register_drawer("registration_flood")
def _registration_flood(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, edge = c.at(rng), int(rng.integers(c.edges))
    return {"action": "registration_flood", "at": at, "edge": edge, "rate": float(rng.choice([1, 5, 10])),
            "duration": c.length(rng, 1, 30), "sources": int(rng.choice([1, 10]))}  # fmt: skip


@register_drawer("malformed_requests")
def _malformed_requests(rng: np.random.Generator, c: SpaceContext) -> dict[str, Any]:
    at, edge = c.at(rng), int(rng.integers(c.edges))
    return {"action": "malformed_requests", "at": at, "edge": edge, "count": int(rng.integers(10, 201)),
            "within": c.length(rng, 1, 30)}  # fmt: skip


DEFAULT_KINDS = (
    "crash",
    "stop",
    "restart",
    "crash_loop",
    "start",
    "partition",
    "clock_jump",
    "edge_lag",
    "kv_outage",
    "service_crash",
    "service_hang",
    "service_slow",
    "service_errors",
)
"""The built-in space's kinds (``start`` only when a targeted group has spares). The other drawable kinds are
drawn only when ``kinds`` lists them: the load and rollout faults (``service_flap``, ``rolling_upgrade``,
``burst``, ``cpu_hog``, ``hot_service``, ``traffic_burst``), kept out so that a campaign's draws, and the figures
documented for them, stay what they were; and :data:`ATTACK_KINDS`, a threat model of its own (the baseline and
seed-fixes authenticate nothing, so an attack fails nearly every run against them and buries the review's flaws)."""

ATTACK_KINDS = (
    "rogue_register",
    "forged_heartbeat",
    "forged_unregister",
    "lease_theft",
    "ssrf_register",
    "registration_flood",
    "malformed_requests",
)
"""The adversarial kinds (issue 15) that have drawers."""


class FaultSpace(BaseModel):
    """The ``explore`` section: see the module docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    kinds: list[str] | None = Field(
        default=None, min_length=1, description="Fault actions to draw (default: the built-in kinds for the fleet)."
    )
    min_faults: int = Field(default=1, ge=1, le=MAX_DRAWN_FAULTS, description="Fewest faults a run draws.")
    max_faults: int = Field(default=3, ge=1, le=MAX_DRAWN_FAULTS, description="Most faults a run draws.")
    groups: list[str] | None = Field(default=None, min_length=1, description="Groups machine faults may target.")
    start: Duration | None = Field(default=None, description="Earliest fault time (default: warmup, or 30s).")
    end: Duration | None = Field(default=None, description="Latest fault time (default: half the run).")
    min_duration: PositiveDuration = Field(default=5.0, description="Shortest drawn length.")
    max_duration: PositiveDuration = Field(default=120.0, description="Longest drawn length.")
    swarm: bool = Field(default=True, description="Switch each kind on or off per run (p=0.5, at least one on).")

    @model_validator(mode="after")
    def _consistent(self) -> FaultSpace:
        errors: list[tuple[tuple[str | int, ...], str]] = []
        for i, kind in enumerate(self.kinds or []):
            if kind not in DRAWERS:
                known = ", ".join(DRAWERS)
                why = "is a fault action rmasim cannot draw yet" if kind in FAULT_SPECS else "is not a fault action"
                errors.append((("kinds", i), f"{kind!r} {why}; drawable kinds: {known}"))
        if len(set(self.kinds or [])) != len(self.kinds or []):
            errors.append((("kinds",), "a kind is listed twice"))
        if self.min_faults > self.max_faults:
            errors.append((("min_faults",), f"min_faults {self.min_faults} > max_faults {self.max_faults}"))
        if self.min_duration > self.max_duration:
            errors.append((("min_duration",), "min_duration is longer than max_duration"))
        if self.start is not None and self.end is not None and self.start > self.end:
            errors.append((("start",), "start is after end"))
        references = current_references()
        if references is not None:
            if references.fleet is not None:
                for i, group in enumerate(self.groups or []):
                    if group not in references.fleet:
                        errors.append((("groups", i), f"unknown group {group!r}; fleet groups: "
                                       f"{', '.join(references.fleet)}"))  # fmt: skip
            if references.duration is not None:
                for name in ("start", "end"):
                    value = getattr(self, name)
                    if value is not None and value >= references.duration:
                        errors.append(((name,), f"{format_duration(value)} is not before the end of the run "
                                       f"({format_duration(references.duration)})"))  # fmt: skip
        if errors:
            raise LocatedErrors(errors)
        return self

    def context(self, scenario: Any) -> SpaceContext:
        """The targets and windows this space gives for ``scenario`` (a validated ``Scenario``)."""
        groups = self.groups or list(scenario.fleet)
        machines = tuple((g, i) for g in groups for i in range(scenario.fleet[g].count))
        sizes = {g: (scenario.fleet[g].count, scenario.fleet[g].count + scenario.fleet[g].spares) for g in groups}
        spares = tuple((g, i) for g in groups for i in range(*sizes[g]))
        start = self.start if self.start is not None else (scenario.warmup or min(30.0, scenario.duration / 4))
        end = self.end if self.end is not None else max(start, scenario.duration / 2)
        services = {g: tuple(scenario.fleet[g].services) for g in groups}
        return SpaceContext(machines, spares, scenario.coordinator.edges, services, start, end,
                            self.min_duration, self.max_duration)  # fmt: skip

    def kinds_for(self, scenario: Any) -> list[str]:
        """The kinds this space draws for ``scenario``: ``kinds``, or the built-in ones that fit its fleet."""
        if self.kinds is not None:
            return list(self.kinds)
        context = self.context(scenario)
        services = all(context.services.values())
        return [
            k for k in DEFAULT_KINDS if (k != "start" or context.spares) and (not k.startswith("service_") or services)
        ]


def draw_schedule(space: FaultSpace, scenario: Any, rng: np.random.Generator) -> tuple[list[str], list[dict[str, Any]]]:
    """``(kinds switched on, faults)`` for one run, drawn from ``rng``; the faults in ``at`` order, as plain data
    for the scenario's ``faults`` list."""
    kinds = space.kinds_for(scenario)
    if space.swarm:
        on = [k for k, flip in zip(kinds, rng.random(len(kinds)) < 0.5, strict=True) if flip]
        if not on:
            on = [kinds[int(rng.integers(len(kinds)))]]
    else:
        on = kinds
    context = space.context(scenario)
    count = int(rng.integers(space.min_faults, space.max_faults + 1))
    faults = [DRAWERS[on[int(rng.integers(len(on)))]](rng, context) for _ in range(count)]
    faults.sort(key=lambda f: _seconds(f["at"]))  # stable: equal times keep their draw order
    return on, faults


def _seconds(text: str) -> float:
    from .units import parse_duration

    return parse_duration(text)
