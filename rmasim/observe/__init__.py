"""Checkers and metrics: what a run measured (DESIGN.md section 6).

Importing this package registers the built-in checkers in :data:`CHECKERS`; :func:`summarize` runs them all.
The built-in properties (:mod:`rmasim.observe.properties`, the sometimes ones in :mod:`rmasim.observe.sometimes`),
judged only when a scenario names them, are in :data:`PROPERTIES`.
"""

from __future__ import annotations

from typing import Any

# Registers the built-in checkers; their order is the order of the summary-key table.
# isort: off
from . import pollution, duplicates, loss, leader, purge, unregister, routing, services, versions, resilience  # noqa: F401
from . import load, kv_cost, cost, recovery, phases, errors, duty  # noqa: F401
from . import duplicate_machine  # noqa: F401  (a property: no_duplicate_machine)
from . import security  # noqa: F401

# isort: on
from . import sometimes  # noqa: F401  # registers the sometimes properties
from .base import (
    CHECKERS,
    Checker,
    MachineEvent,
    Observations,
    SampleView,
    SummaryKey,
    all_summary_keys,
    declaration_of,
    register_checker,
)
from .outcomes import OUTCOMES, Outcome, classify
from .properties import PROPERTIES, Property, PropertyResult, register_property
from .recorder import Observer, RequestLog

__all__ = [
    "CHECKERS",
    "OUTCOMES",
    "PROPERTIES",
    "Checker",
    "MachineEvent",
    "Observations",
    "Observer",
    "Outcome",
    "Property",
    "PropertyResult",
    "RequestLog",
    "SampleView",
    "SummaryKey",
    "all_summary_keys",
    "classify",
    "declaration_of",
    "register_checker",
    "register_property",
    "summarize",
]


def summarize(obs: Observations) -> dict[str, Any]:
    """Every registered checker's summary keys, merged into one flat dict."""
    summary: dict[str, Any] = {}
    for checker in CHECKERS.values():
        summary.update(checker.summarize(obs))
    return summary
