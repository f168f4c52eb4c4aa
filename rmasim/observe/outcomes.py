"""Outcomes of a routed request: one table of kinds, each with a verdict and what it means.

The verdict follows Jepsen's convention: ``ok``; ``fail`` (definitely not served); ``unknown`` (a timeout: the
target may still have done the work, so it is not counted as the target's failure, only as the client's).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry

__all__ = ["OUTCOMES", "Outcome", "classify"]


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    verdict: str
    doc: str


OUTCOMES: Registry[Outcome] = Registry("outcome")


def _outcome(name: str, verdict: str, doc: str) -> None:
    OUTCOMES.add(name, Outcome(name, verdict, doc))


_outcome("ok", "ok", "served: 2xx from a live provider")
_outcome("no_provider", "fail", "the coordinator found no candidate and answered 503")
_outcome("dead_target", "fail", "forwarded to a worker whose tunnel did not accept the connection")
_outcome("timeout", "unknown", "no answer within the request timeout; the target may still finish the work")
_outcome("service_error", "fail", "the machine answered, but its service failed (5xx, container down)")
_outcome("shed", "fail", "the coordinator refused to forward: every provider's circuit breaker was open (503)")
_outcome("coordinator_error", "fail", "the coordinator itself failed (500, e.g. a KV 429 or outage)")
_outcome("overloaded", "fail", "the last provider tried refused it for load (admission control's fast 503)")

#: outcome name -> small integer code (the order of the table), for compact request columns
OUTCOME_CODES = {name: i for i, name in enumerate(OUTCOMES)}


def classify(status: int, forward: str | None, reason: str | None = None) -> str:
    """The outcome of a request from the coordinator's status, the low-level result of its last forward and the
    reason the coordinator gave for a 503."""
    if 200 <= status < 300:
        return "ok"
    if reason == "breaker_open":
        return "shed"
    if forward == "connect_error":
        return "dead_target"
    if forward == "timeout":
        return "timeout"
    if forward == "overloaded":
        return "overloaded"
    if forward in ("service_error", "ok"):
        return "service_error"
    if status == 503:
        return "no_provider"
    return "coordinator_error"
