"""Leader duty conflicts: the leader's duty writes accepted from a holder that was no longer the current one.

Model (flaw #3's consequence; Kleppmann, "How to do distributed locking", 2016): with ``leader_duty`` the agent
that believes it leads writes the ``leader_duty`` record every period, carrying its fencing token (none with the
naive leader). The *current* holder at an instant is the one the last accepted claim named: the coordinator's
``leadership_claimed`` trace, one per write of ``heartbeat_leader`` by a registration (naive) or per grant of
the lease, with its token (lease). A duty write the coordinator accepted (its ``leader_duty`` trace with
``accepted``) from another worker id, or under another token, is a **conflict**: a leader that lost the claim
acted anyway. Two naive leaders both acting give one conflict per duty period of the stale one (unless Workers
KV fails it: a second write of the record within a second is a 429, counted as failed); a fenced coordinator
(``fence_duty``) refuses those writes, and the refusals are counted apart.

Traces are dated when the handler got the store's answer, so order is exact to the store's latency (ms). The
keys are reported only for runs with ``leader_duty`` set (the engine says so in ``Observations.extra``): a run
without the duty has no such key, and its summary is what it was before the duty existed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .base import Checker, Observations, SummaryKey, register_checker

__all__ = ["DutyWrite", "LeaderDuty", "duty_writes"]


@dataclass(frozen=True, slots=True)
class DutyWrite:
    """One duty write the coordinator answered: time, writer, its token, accepted or not, and the holder (id, token)
    the last claim named then (None before any claim); ``stale`` when accepted from another holder."""

    t: float
    worker_id: str
    token: Any
    accepted: bool
    current: tuple[str, Any] | None
    failed: int | None = None
    """The store's failure status (a 429) of a write that was not refused but failed."""

    @property
    def stale(self) -> bool:
        return self.accepted and self.current != (self.worker_id, self.token)


def duty_writes(traces: Iterable[tuple[float, str, str, dict[str, Any]]]) -> list[DutyWrite]:
    """Every duty write in a run's traces (time order), each with the holder current at that time."""
    current: tuple[str, Any] | None = None
    out = []
    for t, _node, event, fields in traces:
        if event == "leadership_claimed":
            current = (fields["worker_id"], fields.get("token"))
        elif event == "leader_duty":
            accepted, failed = bool(fields["accepted"]), fields.get("failed")
            out.append(DutyWrite(t, fields["worker_id"], fields.get("token"), accepted, current, failed))
    return out


@register_checker
class LeaderDuty(Checker):
    name = "leader_duty"
    keys = (
        SummaryKey("leader.duty_writes", "duty writes the coordinator accepted (only with leader_duty)", "count",
                   "none"),
        SummaryKey("leader.duty_refused", "duty writes refused under a stale fencing token (only with leader_duty)",
                   "count", "none"),
        SummaryKey("leader.duty_failed", "duty writes the store failed, such as Workers KV's 429 for a second write "
                   "of the record within a second (only with leader_duty)", "count"),
        SummaryKey("leader.duty_conflicts", "duty writes accepted from a holder that was no longer the current one: "
                   "two leaders both acting (only with leader_duty)", "count"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        if not obs.extra.get("leader_duty"):
            return {}
        writes = duty_writes(obs.traces)
        return {
            "leader.duty_writes": sum(w.accepted for w in writes),
            "leader.duty_refused": sum(not w.accepted and w.failed is None for w in writes),
            "leader.duty_failed": sum(w.failed is not None for w in writes),
            "leader.duty_conflicts": sum(w.stale for w in writes),
        }
