"""Leader conflicts: how long two or more agents believe they are the heartbeat leader, and how long none does.

Model (flaw #3): the coordinator grants leadership by get-then-put on ``heartbeat_leader``; two registrations at
different edges within a cache TTL can both see the key empty and both be told they lead. An agent *believes* it
leads from the moment its register call returns ``is_heartbeat_leader: true`` (its ``leadership`` trace) until
its incarnation ends (the machine's crash, stop or exit); the baseline never revokes the belief. An agent is
*live* from its machine's start to that incarnation's crash or stop.

Measured exactly on the event history, over [warmup, duration]: changes at one instant apply together (so a
hand-over at one instant is no conflict), and only intervals of positive length count. ``conflict_time``:
seconds with >= 2 believers; ``conflict_episodes``: maximal such intervals; ``max_concurrent``: most believers
at once; ``leaderless_time``: seconds with no believer while at least one agent is live. ``leader.claim_writes``
counts the coordinator's ``leadership_claimed`` traces, one per accepted write of the ``heartbeat_leader`` key by
a registration (``kv.writes.heartbeat_leader`` counts the same writes from the store's side).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .base import Checker, Observations, SummaryKey, register_checker

__all__ = ["LeaderConflicts", "LeaderStats", "believers_at", "leader_changes", "leader_timeline"]

Change = tuple[float, int, str]
"""(time, +1 or -1, who): a belief (or a liveness) that begins or ends."""

_ENDS = ("crash", "stop", "exit")


@dataclass(frozen=True, slots=True)
class LeaderStats:
    conflict_time: float = 0.0
    conflict_episodes: int = 0
    max_concurrent: int = 0
    leaderless_time: float = 0.0


def leader_timeline(beliefs: Sequence[Change], live: Sequence[Change], warmup: float, duration: float) -> LeaderStats:
    """Conflict and leaderless figures over [warmup, duration] from belief and liveness changes (any order).

    A ``-1`` for someone not counted is ignored; at one instant beginnings apply before ends, so a belief that
    begins and ends at once never counts.
    """
    changes = sorted([(t, -d, 0, w) for t, d, w in beliefs] + [(t, -d, 1, w) for t, d, w in live])
    believers: set[str] = set()
    alive: set[str] = set()
    conflict = leaderless = 0.0
    episodes = most = 0
    in_conflict = False
    t_prev, i = 0.0, 0
    while True:
        t_next = changes[i][0] if i < len(changes) else duration
        span = min(t_next, duration) - max(t_prev, warmup)
        if span > 0:
            n = len(believers)
            most = max(most, n)
            if n >= 2:
                conflict += span
                if not in_conflict:
                    episodes += 1
            in_conflict = n >= 2
            if n == 0 and alive:
                leaderless += span
        if i >= len(changes) or t_next >= duration:
            break
        while i < len(changes) and changes[i][0] == t_next:
            _, neg_delta, kind, who = changes[i]
            group = believers if kind == 0 else alive
            if neg_delta < 0:
                group.add(who)
            else:
                group.discard(who)
            i += 1
        t_prev = t_next
    return LeaderStats(conflict, episodes, most, leaderless)


def believers_at(beliefs: Sequence[Change], times: Sequence[float]) -> list[int]:
    """How many agents believe they lead at each of ``times`` (sorted), from belief changes ``(t, +1 | -1, who)``
    (a change at exactly ``t`` counts)."""
    changes = sorted(beliefs, key=lambda c: (c[0], -c[1]))
    believing: set[str] = set()
    out = []
    i = 0
    for t in times:
        while i < len(changes) and changes[i][0] <= t:
            _, delta, who = changes[i]
            (believing.add if delta > 0 else believing.discard)(who)
            i += 1
        out.append(len(believing))
    return out


def leader_changes(obs: Observations) -> tuple[list[Change], list[Change]]:
    """(belief changes, liveness changes) from the agents' ``leadership`` traces and the machines' events."""
    beliefs: list[Change] = [
        (t, 1 if fields.get("leader", True) else -1, fields["worker_id"])
        for t, _node, event, fields in obs.traces
        if event == "leadership"
    ]
    live: list[Change] = []
    for e in obs.events:
        incarnation = f"{e.machine}#{e.incarnation}"
        if e.kind == "start":
            live.append((e.t, 1, incarnation))
        elif e.kind in _ENDS:
            live.append((e.t, -1, incarnation))
            beliefs.extend((e.t, -1, worker_id) for worker_id in e.worker_ids)
    return beliefs, live


@register_checker
class LeaderConflicts(Checker):
    name = "leader"
    keys = (
        SummaryKey("leader.conflict_time", "seconds after warmup with >= 2 live agents believing they lead", "s"),
        SummaryKey("leader.conflict_episodes", "maximal intervals after warmup with >= 2 believers", "count"),
        SummaryKey("leader.max_concurrent", "most agents believing at once that they lead, after warmup", "count"),
        SummaryKey("leader.leaderless_time", "seconds after warmup with a live agent but no believer", "s"),
        SummaryKey("leader.claim_writes", "writes of the heartbeat_leader key by registrations (claims)", "count",
                   "none"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        beliefs, live = leader_changes(obs)
        stats = leader_timeline(beliefs, live, obs.warmup, obs.duration)
        return {
            "leader.conflict_time": stats.conflict_time,
            "leader.conflict_episodes": stats.conflict_episodes,
            "leader.max_concurrent": stats.max_concurrent,
            "leader.leaderless_time": stats.leaderless_time,
            "leader.claim_writes": sum(1 for _, _, event, _ in obs.traces if event == "leadership_claimed"),
        }
