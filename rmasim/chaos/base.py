"""The fault registry and what injectors act on.

An injector is a function ``(spec, chaos) -> None`` called at ``spec.at``; ``chaos`` (a :class:`Chaos`) gives it
the machines a target names, the runtime, and the SimPy environment for anything it schedules later. The
scenario language defines each action's fields (:data:`rmasim.scenario.FAULT_SPECS`); this registry implements
them, and a test checks the two name the same actions.

To add a fault: add its spec model in ``rmasim/scenario/faults.py`` (``@register_fault_spec``) and an injector
in a module of this package decorated with ``@register_fault("name")``, imported by ``chaos/__init__.py``.
An injector records what it did with :meth:`Chaos.record` (one :class:`FaultRecord` per machine, edge or
``kv``), schedules anything later with :meth:`Chaos.after`, draws randomness only from
:meth:`Chaos.generator`, and keeps overlapping windows of the same fault consistent with
:meth:`Chaos.open_window` / :meth:`Chaos.close_window`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..registry import Registry
from ..world.rng import spawn_key

__all__ = ["FAULTS", "Chaos", "FaultRecord", "register_fault"]

Injector = Callable[[Any, "Chaos"], None]
FAULTS: Registry[Injector] = Registry("fault")
#: Decorator: ``@register_fault("name")`` registers the injector of a fault action.
register_fault = FAULTS.register


@dataclass(frozen=True, slots=True)
class FaultRecord:
    """A fault as it happened: when, what, to which machine (``group/index``), edge (``edge/i``) or shared part
    of the world (``kv``), and whether it changed anything."""

    t: float
    action: str
    target: str
    effective: bool


@dataclass
class Chaos:
    """What injectors act on: the SimPy environment, the runtime (its ``kv`` and ``net`` are the world's store and
    network), the machines by (group, index), the coordinator edges, the fleet config fault targets name, and the
    workload's clients by service.

    ``seed`` is the run's root seed, from which :meth:`generator` derives the injectors' random streams (None is
    read as 0: the draws are then the same for every run seed)."""

    env: Any
    runtime: Any
    machines: dict[tuple[str, int], Any]
    fleet: Any
    edges: list[Any] = field(default_factory=list)
    log: list[FaultRecord] = field(default_factory=list)
    seed: int | None = None
    windows: dict[str, list[Any]] = field(default_factory=dict)
    """Open windows of the faults that last (outages, lags) by key, each with its value; see ``open_window``."""
    clients: dict[str, list[Any]] = field(default_factory=dict)
    """The workload's client generators by service (what traffic faults act on)."""

    def targets(self, spec: Any) -> list[Any]:
        return [self.machines[key] for key in spec.machines(self.fleet)]

    def edge(self, spec: Any) -> Any:
        """The coordinator edge ``spec.edge`` names; a clear error when the run has no such edge."""
        if not 0 <= spec.edge < len(self.edges):
            raise ValueError(
                f"{spec.action} at {spec.at}s: no edge {spec.edge}; the coordinator has {len(self.edges)} edge(s)"
            )
        return self.edges[spec.edge]

    def record(self, action: str, target: Any, effective: bool) -> None:
        """Log ``action`` on ``target``: a machine or an edge (anything with a ``name``), or a name such as ``kv``."""
        name = target if isinstance(target, str) else target.name
        self.log.append(FaultRecord(self.env.now, action, name, effective))

    def after(self, delay: float, action: Callable[[], None]) -> None:
        """Call ``action()`` ``delay`` simulated seconds from now."""
        self.env.timeout(delay).callbacks.append(lambda _e: action())

    def generator(self, name: str) -> np.random.Generator:
        """A fresh random generator for stream ``chaos/<name>`` under the run's root seed: the same name and seed
        always give the same draws, whatever else the run does."""
        root = 0 if self.seed is None else self.seed
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(root, spawn_key=spawn_key(f"chaos/{name}"))))

    def open_window(self, key: str, value: Any) -> list[Any]:
        """Open a window of a lasting fault (``key`` names what it acts on); returns the values now open."""
        opened = self.windows.setdefault(key, [])
        opened.append(value)
        return opened

    def close_window(self, key: str, value: Any) -> list[Any]:
        """Close one window opened with ``value``; returns the values still open (empty: the fault is over)."""
        opened = self.windows.get(key, [])
        opened.remove(value)
        return opened

    def schedule(self, spec: Any) -> None:
        """Fire ``spec`` at its time."""
        injector = FAULTS[spec.action]
        self.env.timeout(spec.at - self.env.now).callbacks.append(lambda _e: injector(spec, self))
