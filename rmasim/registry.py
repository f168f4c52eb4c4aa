"""Named extension points: faults, checkers, balancers, ... each kept in one :class:`Registry`.

A registry is a dict from name to item that refuses a second item under the same name, so two extensions can
never silently replace each other; the scenario schema, the CLI and the reference tables take their choices
from its keys. Built-ins register the same way a user's own extension would::

    BALANCERS = Registry("balancer")

    @BALANCERS.register("random")
    class UniformRandom(Balancer): ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(dict[str, T]):
    """Items of one kind by name; registering a taken name raises ``ValueError``."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def add(self, name: str, item: T) -> T:
        """Register ``item`` under ``name`` and return it."""
        if name in self:
            raise ValueError(f"duplicate {self.kind} name {name!r}")
        self[name] = item
        return item

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def decorate(item: T) -> T:
            return self.add(name, item)

        return decorate
