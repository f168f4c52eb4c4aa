"""The fault registry and what injectors act on.

An injector is a function ``(spec, chaos) -> None`` called at ``spec.at``; ``chaos`` (a :class:`Chaos`) gives it
the machines a target names, the runtime, and the SimPy environment for anything it schedules later. The
scenario language defines each action's fields (:data:`rmasim.scenario.FAULT_SPECS`); this registry implements
them, and a test checks the two name the same actions.

To add a fault: add its spec model in ``rmasim/scenario/faults.py`` (``@register_fault_spec``) and an injector
in a module of this package decorated with ``@register_fault("name")``, imported by ``chaos/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..registry import Registry

__all__ = ["FAULTS", "Chaos", "FaultRecord", "register_fault"]

Injector = Callable[[Any, "Chaos"], None]
FAULTS: Registry[Injector] = Registry("fault")
#: Decorator: ``@register_fault("name")`` registers the injector of a fault action.
register_fault = FAULTS.register


@dataclass(frozen=True, slots=True)
class FaultRecord:
    """A fault as it happened: when, what, to which machine, and whether it changed anything."""

    t: float
    action: str
    target: str
    effective: bool


@dataclass
class Chaos:
    """What injectors act on: the SimPy environment, the runtime (its ``kv`` and ``net`` are the world's store and
    network), the machines by (group, index), the coordinator edges, and the fleet config fault targets name."""

    env: Any
    runtime: Any
    machines: dict[tuple[str, int], Any]
    fleet: Any
    edges: list[Any] = field(default_factory=list)
    log: list[FaultRecord] = field(default_factory=list)

    def targets(self, spec: Any) -> list[Any]:
        return [self.machines[key] for key in spec.machines(self.fleet)]

    def record(self, action: str, machine: Any, effective: bool) -> None:
        self.log.append(FaultRecord(self.env.now, action, machine.name, effective))

    def schedule(self, spec: Any) -> None:
        """Fire ``spec`` at its time."""
        injector = FAULTS[spec.action]
        self.env.timeout(spec.at - self.env.now).callbacks.append(lambda _e: injector(spec, self))
