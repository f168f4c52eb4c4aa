"""What one part of a scenario may refer to in another, known even when some of the scenario is invalid.

A fault names a machine (``gpu/3``) and a time (``at``), a workload entry a service, a phase an end: whether the
reference holds depends on other sections (``fleet``, ``coordinator.edges``, ``duration``). Pydantic skips a
validator that reads another field when that field failed, so a file with a bad ``capacity`` would hide every
unknown fault target until the capacity is fixed. Instead, before the fields are validated, the scenario reads
``References`` from the raw data leniently (each group, each count, the duration on its own; an invalid part is
None, "unknown"), and the validators of faults, workload and phases check against them: every problem is found
in one pass. A check is skipped only where the part it needs is itself invalid (and reported).

The references live in a context variable for the time of one ``Scenario`` validation (``use_references``);
outside of one, ``current_references()`` is None and those checks do not run.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = ["GroupRef", "References", "current_references", "use_references"]


@dataclass(frozen=True)
class GroupRef:
    """What is known of a fleet group: its machine counts and service names, None where invalid."""

    count: int | None
    spares: int | None
    services: Collection[str] | None

    @property
    def size(self) -> int | None:
        """``count + spares``, or None when either is unknown."""
        return None if self.count is None or self.spares is None else self.count + self.spares


@dataclass(frozen=True)
class References:
    """The scenario's duration (s), coordinator edges and fleet groups; None where that section is invalid."""

    duration: float | None = None
    edges: int | None = None
    fleet: Mapping[str, GroupRef] | None = None
    services: frozenset[str] | None = field(default=None)
    """Every service some group runs; None when a group's services are unknown (no service check then)."""


_CURRENT: ContextVar[References | None] = ContextVar("rmasim_scenario_references", default=None)


def current_references() -> References | None:
    """The references of the scenario being validated, or None outside a scenario's validation."""
    return _CURRENT.get()


@contextmanager
def use_references(references: References) -> Iterator[None]:
    """Make ``references`` current while a scenario is validated (nested validations each see their own)."""
    token = _CURRENT.set(references)
    try:
        yield
    finally:
        _CURRENT.reset(token)
