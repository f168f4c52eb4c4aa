"""Names a scenario uses that higher layers define: summary keys (``observe``) and balancers (``system``).

The scenario layer imports nothing else from rmasim, yet an ``expect`` line names a checker's summary key and
``coordinator.balancer`` a registered balancer. So a higher layer registers a lookup here (the engine does, when
it is imported, which ``import rmasim`` always does), and the scenario's own validation refuses an unknown name
at its line, together with every other problem of the file. Without a registered lookup, a name is not checked
here (the engine's ``check_scenario`` still checks it before a run).

    >>> register_names("balancer", {"random", "p2c"}.__contains__, lambda: ["random", "p2c"])  # doctest: +SKIP
    >>> unknown_name("balancer", "rando")  # doctest: +SKIP
    "unknown balancer 'rando'; known: random, p2c"
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["register_names", "unknown_name"]


@dataclass(frozen=True)
class _Lookup:
    known: Callable[[str], bool]
    choices: Callable[[], Iterable[str]] | None


_LOOKUPS: dict[str, _Lookup] = {}


def register_names(kind: str, known: Callable[[str], bool], choices: Callable[[], Iterable[str]] | None = None) -> None:
    """Check names of ``kind`` (``"summary key"``, ``"balancer"``) with ``known``; ``choices`` lists them in
    messages. Registering a kind again replaces its lookup (a module reloaded registers anew)."""
    _LOOKUPS[kind] = _Lookup(known, choices)


def unknown_name(kind: str, name: str) -> str | None:
    """The problem with ``name`` (``"unknown balancer 'x'; known: ..."``), or None when it is known or when no
    lookup is registered for ``kind``."""
    lookup = _LOOKUPS.get(kind)
    if lookup is None or lookup.known(name):
        return None
    if lookup.choices is None:
        return f"unknown {kind} {name!r}"
    return f"unknown {kind} {name!r}; known: {', '.join(lookup.choices())}"
