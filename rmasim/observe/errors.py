"""Coordinator errors: invocations of the coordinator that ended without the handler's own answer.

``coordinator.errors`` counts the invocations (requests and Cron Triggers) whose handler threw an exception it did
not catch, or that the platform ended (a handler that can never respond, or one past its time limit): Workers
answers each with a 500 and logs it. The coordinator traces each one as ``worker_exception`` with the message and
the stack. A JavaScript Worker can do this; the Python coordinator answers every failure itself (a KV failure
becomes the 500 of the review's catch-all ``try``), so it counts 0 unless it has a bug.
"""

from __future__ import annotations

from typing import Any

from ..system.ops import WORKER_EXCEPTION
from .base import Checker, Observations, SummaryKey, register_checker

__all__ = ["CoordinatorErrors"]


@register_checker
class CoordinatorErrors(Checker):
    name = "coordinator_errors"
    keys = (
        SummaryKey("coordinator.errors", "coordinator invocations ended by an uncaught exception or a platform "
                   "limit (each a 500, its stack in the trace)", "count", "lower"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        return {"coordinator.errors": sum(1 for _, _, event, _ in obs.traces if event == WORKER_EXCEPTION)}
