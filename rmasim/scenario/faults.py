"""Fault specs: the timed actions of a scenario's ``faults`` list (the "nemesis" schedule).

Each fault happens ``at`` a simulated time and hits a ``target``: ``group/index`` (one machine) or ``group/*``
(every machine of the group, spares included). A group has ``count + spares`` machines, indexed from 0; spares
start down. The spec only says *what* and *when*; the chaos layer decides how it is done.

Built-in actions:

- ``crash``: the machine dies at once, without unregistering (its agent gets a fresh id if started again);
- ``stop``: graceful shutdown, the agent unregisters;
- ``start``: bring up a machine that is down (a spare, or a crashed or stopped one);
- ``restart``: crash, then start again after ``down_for``.

To add a fault kind, subclass ``FaultSpec`` with an ``action: Literal["name"]`` field (and its own fields) and
decorate it with ``@register_fault_spec``; the scenario's ``faults`` union and the JSON Schema are built from
``FAULT_SPECS``, so this is the only place to touch.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping
from typing import Annotated, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .units import Duration

__all__ = [
    "FAULT_SPECS",
    "TARGET_PATTERN",
    "Crash",
    "FaultSpec",
    "Restart",
    "Start",
    "Stop",
    "register_fault_spec",
]

TARGET_PATTERN = r"^[a-z][a-z0-9_-]*/(\d+|\*)$"


class MachineGroup(Protocol):
    """What ``machines`` needs to know about a fleet group."""

    count: int
    spares: int


class FaultSpec(BaseModel):
    """Base of the fault specs: when (``at``) and on which machines (``target``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str
    at: Duration = Field(description="Simulated time of the fault.")
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
class Crash(FaultSpec):
    """The machine dies at once: no unregister, in-flight requests fail."""

    action: Literal["crash"] = "crash"


@register_fault_spec
class Stop(FaultSpec):
    """Graceful shutdown (``docker-compose stop``): services and tunnel go down, the agent unregisters and exits."""

    action: Literal["stop"] = "stop"


@register_fault_spec
class Start(FaultSpec):
    """Bring up a machine that is down: a spare, or a crashed or stopped machine."""

    action: Literal["start"] = "start"


@register_fault_spec
class Restart(FaultSpec):
    """Crash, then start again after ``down_for``."""

    action: Literal["restart"] = "restart"
    down_for: Duration = Field(default=0.0, description="Time the machine stays down before it starts again.")


def fault_spec_union() -> object:
    """The discriminated union of all registered fault specs, for a pydantic field."""
    union = functools.reduce(operator.or_, FAULT_SPECS.values())
    return Annotated[union, Field(discriminator="action")]
