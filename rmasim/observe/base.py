"""Checkers: named, registered, pure functions of what a run observed.

A checker measures one property. It may look at the registry at each sample (:meth:`Checker.sample`, a pure
function of the authoritative snapshot and the ground truth at that instant, whose result becomes columns of
the time series) and it condenses the whole run into flat, dotted summary keys (:meth:`Checker.summarize`, a
pure function of :class:`Observations`). Each key is declared once, with what it means and which direction is
better; docs/reference.md's key table is generated from these declarations.

To add a checker: subclass :class:`Checker`, set ``name`` and ``keys``, override ``summarize`` (and ``sample``
when it needs the registry over time), and decorate the class with :func:`register_checker`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..registry import Registry
from .totals import WindowTotals

__all__ = [
    "CHECKERS",
    "Checker",
    "MachineEvent",
    "Observations",
    "SampleView",
    "SummaryKey",
    "all_summary_keys",
    "declaration_of",
    "register_checker",
]


@dataclass(frozen=True, slots=True)
class SummaryKey:
    """One summary key: its name (``*`` stands for a family such as an outcome name), meaning, unit, and
    whether ``higher`` or ``lower`` values are better (``none``: neither)."""

    name: str
    doc: str
    unit: str = ""
    better: str = "lower"


@dataclass(frozen=True, slots=True)
class MachineEvent:
    """A machine's life event: start, crash, stop (graceful begins), exit (agent gone after a stop), or register
    (the coordinator issued ``worker_ids`` to this incarnation)."""

    t: float
    kind: str
    machine: str
    incarnation: int
    worker_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SampleView:
    """What a sampling checker sees at one instant: the registry as stored, and the truth."""

    t: float
    snapshot: Any
    """:class:`rmasim.system.RegistrySnapshot` of the central store."""
    serving: Mapping[str, frozenset[str]]
    """Live worker id -> services whose container is really up on that worker's machine."""
    registered: Mapping[str, tuple[float, frozenset[str]]] = field(default_factory=dict)
    """Worker id -> (time its agent's registration call returned, services it registered), from the agents'
    ``registered`` traces."""


@dataclass
class Observations:
    """Everything a run recorded, for the checkers' ``summarize``."""

    duration: float
    warmup: float
    samples: list[dict[str, Any]]
    requests: Any
    """:class:`rmasim.observe.recorder.RequestLog` (``rows``) or :class:`rmasim.observe.totals.RequestTotals`."""
    events: list[MachineEvent]
    index_changes: list[tuple[float, frozenset[str]]]
    """(time, ids present in any service index) each time that set changed, at sample resolution."""
    kv_stats: Any
    strong_stats: Any = None
    """Operation counts and billing meters of the Durable Object (:class:`rmasim.world.DOStats`), when the run had
    one."""
    invocations: Mapping[str, int] = field(default_factory=dict)
    """Coordinator invocations (Worker requests) by kind: ``client``, ``agent``, ``scheduled``
    (:attr:`rmasim.runtime.Runtime.invocations`)."""
    final_snapshot: Any = None
    """:class:`rmasim.system.RegistrySnapshot` of the central store at the last sample."""
    final_serving: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """The truth at the last sample: live worker id -> services really served."""
    traces: list[tuple[float, str, str, dict[str, Any]]] = field(default_factory=list)
    """Every ``Trace`` of the system, as (time, node, event, fields), in time order."""
    purges: list[tuple[float, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)
    """(time, ids purged, of which live) for each run of the coordinator's sweeper that purged."""
    extra: dict[str, Any] = field(default_factory=dict)
    until: float = float("inf")
    """Request figures count the requests that arrived in [warmup, until)."""
    phases: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """The scenario's phases: name -> (start, end)."""
    containers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Machine name -> service -> :class:`rmasim.world.service.ContainerStats` over [warmup, duration]."""
    kv_refusals: list[tuple[float, str, int, str]] = field(default_factory=list)
    """(time, key, edge, node) of each write the Workers KV refused with 429 (the same key within 1 s)."""
    first_retry: tuple[float, str, str, str] | None = None
    """(time, first machine, second machine, service) of the earliest forward of a request to a machine other
    than its first forward's (a retry onto a second provider), among the requests that finished; None: none."""

    def totals(self) -> WindowTotals:
        """The totals of the requests that request figures count, those that arrived in [warmup, until)."""
        return self.requests.totals(self.warmup, self.until)

    def measured(self, t_arrival: Any) -> Any:
        """The mask of the requests (arrival times, a numpy array) that request figures count: for a checker that
        reads the rows themselves (``obs.requests.arrays()``; a run with ``request_records: false`` has none)."""
        if self.until == float("inf"):
            return t_arrival >= self.warmup
        return (t_arrival >= self.warmup) & (t_arrival < self.until)


class Checker:
    """Base class of checkers; see the module docstring for how to extend it."""

    name: ClassVar[str] = ""
    keys: ClassVar[tuple[SummaryKey, ...]] = ()
    per_request: ClassVar[bool] = False
    """True when the figures come from the requests alone (:meth:`Observations.totals`): they are then also
    computed for each phase of the scenario."""

    def sample(self, view: SampleView) -> dict[str, float]:
        """Columns for the time series at one sample (default: none)."""
        return {}

    def summarize(self, obs: Observations) -> dict[str, Any]:
        """Summary keys for the whole run."""
        raise NotImplementedError


CHECKERS: Registry[Checker] = Registry("checker")


def register_checker(cls: type[Checker]) -> type[Checker]:
    """Class decorator: register one instance of a checker under its ``name`` (duplicates are an error)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    taken = {k.name for c in CHECKERS.values() for k in c.keys}
    clash = taken & {k.name for k in cls.keys}
    if clash:
        raise ValueError(f"checker {cls.name!r} declares keys already declared: {sorted(clash)}")
    CHECKERS.add(cls.name, cls())
    return cls


def all_summary_keys() -> list[tuple[str, SummaryKey]]:
    """(checker name, key) for every declared key, in registration order."""
    return [(c.name, k) for c in CHECKERS.values() for k in c.keys]


def _matches(pattern: str, key: str) -> bool:
    if "*" not in pattern and "<" not in pattern:
        return pattern == key
    head = pattern.split("*")[0].split("<")[0]
    tail = pattern.split("*")[-1].split(">")[-1]
    return key.startswith(head) and key.endswith(tail) and len(key) > len(head) + len(tail)


def declaration_of(key: str) -> SummaryKey | None:
    """The declaration a concrete summary key falls under (``routing.failures.timeout`` -> ``routing.failures.*``)."""
    for _, declared in all_summary_keys():
        if _matches(declared.name, key):
            return declared
    return None
