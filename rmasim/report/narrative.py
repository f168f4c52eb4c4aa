"""What a run shows, in words: a one-line verdict, a short narrative built from its events and summary, and the
handful of summary keys its scenario is about.

A run's summary has about a hundred keys in alphabetical order; a person wants to know first whether it passed,
what happened and what it cost. :func:`story` answers from what the run recorded, nothing else:

- the **verdict**: expectations passed or failed, the share of requests served, and the first property
  violation (the earliest, safety before liveness at a tie);
- the **narrative**: for each machine that crashed or stopped, when, and what the fleet's clients paid for it
  (requests still forwarded to its dead tunnel, how long each waited, until when); re-registrations under a new
  id; what the registry looked like at the end (dead entries, purges, lost providers); leader conflicts; KV
  writes refused for the 1-write-per-second limit; the failures by outcome;
- the **headline keys**: the keys the scenario's ``expect`` lines name, then a fixed core (routing success,
  latency, pollution, loss, duplicates, purges, leader conflict), at most :data:`HEADLINE_LIMIT`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..engine import RunResult

__all__ = ["CORE_KEYS", "HEADLINE_LIMIT", "MAX_MACHINE_SENTENCES", "Story", "clock", "headline_keys", "plural", "story"]

#: Keys shown after the scenario's own, when the run has them.
CORE_KEYS = (
    "routing.success_rate",
    "latency.p50",
    "latency.p99",
    "pollution.final",
    "registry.loss.max",
    "registry.duplicates.max",
    "purge.never",
    "leader.conflict_time",
    "kv.rate_limited",
    "cost.usd_per_month.total",
)
HEADLINE_LIMIT = 10
#: Crashes and stops told one by one; the rest are counted (every event is in ``events.jsonl``).
MAX_MACHINE_SENTENCES = 4
#: Outcomes of a failed request, in words.
_FAILURES = {
    "dead_target": "sent to a dead tunnel",
    "no_provider": "found no provider",
    "timeout": "timed out",
    "service_error": "got a service error",
    "shed": "were shed (every breaker open)",
    "coordinator_error": "failed in the coordinator",
    "overloaded": "were refused for load",
}
_ENDS = {"crash": "crashed", "stop": "was stopped"}


@dataclass(frozen=True)
class Story:
    """A run in words: ``verdict`` (one line), ``narrative`` (sentences), ``headline`` ((key, value) pairs)."""

    verdict: str
    narrative: list[str] = field(default_factory=list)
    headline: list[tuple[str, Any]] = field(default_factory=list)


def clock(seconds: float) -> str:
    """A simulated time for people: ``42.0s``, ``5m00s``, ``1h05m00s``."""
    if not math.isfinite(seconds):
        return str(seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 request``, ``2 requests``, ``1,476 requests`` (``many`` for an irregular plural)."""
    return f"{count:,} {noun if count == 1 else (many or noun + 's')}"


def headline_keys(result: RunResult, limit: int = HEADLINE_LIMIT) -> list[str]:
    """The scenario's expectation keys, then :data:`CORE_KEYS`, those the summary holds, at most ``limit``."""
    named = [e.key for _, e in result.scenario.all_expectations()]
    keys = [k for k in dict.fromkeys([*named, *CORE_KEYS]) if k in result.summary]
    return keys[:limit]


def story(result: RunResult) -> Story:
    """The verdict, narrative and headline keys of ``result`` (see the module docstring)."""
    return Story(
        _verdict(result),
        [
            *_fault_sentences(result),
            *_machine_sentences(result),
            *_registry_sentences(result),
            *_request_sentences(result),
        ],
        [(k, result.summary[k]) for k in headline_keys(result)],
    )


def _verdict(result: RunResult) -> str:
    s = result.summary
    preset = result.scenario.coordinator.preset
    failed = [e for e in result.expectations if not e.passed]
    violated = sorted(
        (p for p in result.properties if p.violated_at is not None),
        key=lambda p: (p.violated_at, p.kind != "safety", p.name),
    )
    outcome = "FAIL" if failed or violated else "PASS"
    parts = [f"{result.scenario.name} seed {result.seed} ({preset}): {outcome}"]
    if result.expectations:
        parts.append(f"expectations {len(result.expectations) - len(failed)}/{len(result.expectations)} passed")
    requests = s.get("routing.requests")
    rate = s.get("routing.success_rate")
    if requests and rate is not None:
        parts.append(f"{rate:.1%} of {int(requests):,} requests served")
    elif not requests:
        parts.append("no client requests")
    if violated:
        p = violated[0]
        who = f" ({', '.join(p.entities[:3])}{', ...' if len(p.entities) > 3 else ''})" if p.entities else ""
        more = f" and {len(violated) - 1} more" if len(violated) > 1 else ""
        parts.append(f"first violation: {p.name} at {clock(p.violated_at or 0.0)}{who}{more}")
    else:
        judged = [p for p in result.properties if p.kind != "sometimes"]
        if judged:
            parts.append(f"{len(judged)} {'property holds' if len(judged) == 1 else 'properties hold'}")
    sometimes = [p for p in result.properties if p.kind == "sometimes"]  # never a failure: what the run reached
    if sometimes:
        parts.append(f"{sum(p.reached_at is not None for p in sometimes)}/{len(sometimes)} sometimes reached")
    return "; ".join(parts[:1]) + (" - " + "; ".join(parts[1:]) if len(parts) > 1 else "")


def _fault_sentences(result: RunResult) -> list[str]:
    """The faults that are not a machine's crash or stop (those are told with their consequences), each with the
    time it healed when the run recorded one (``<action>_end``)."""
    told: list[list[str]] = []  # [action, target, text]
    for f in result.faults:
        if f.action in _ENDS or f.action in ("restart", "start"):
            continue
        if f.action.endswith("_end"):
            base = f.action.removesuffix("_end")
            for item in reversed(told):
                if item[0] == base and item[1] == f.target and " to " not in item[2]:
                    item[2] = item[2].replace(" at ", " from ", 1) + f" to {clock(f.t)}"
                    break
            continue
        told.append(
            [f.action, f.target, f"{f.action} on {f.target} at {clock(f.t)}" + ("" if f.effective else " (no effect)")]
        )
    if not told:
        return []
    more = f" and {plural(len(told) - 6, 'more fault')}" if len(told) > 6 else ""
    return [f"Faults: {'; '.join(item[2] for item in told[:6])}{more}."]


def _machine_sentences(result: RunResult) -> list[str]:
    """One sentence per machine that crashed or stopped (the first few), and the re-registrations under a new id."""
    events = result.events
    end = float(result.scenario.duration)
    requests = result.request_rows()
    sentences = []
    ends = events[events["kind"].isin(list(_ENDS))]
    for _, e in ends.head(MAX_MACHINE_SENTENCES).iterrows():
        machine, t = str(e["machine"]), float(e["t"])
        restart = events[(events["machine"] == machine) & (events["kind"] == "start") & (events["t"] > t)]
        back = float(restart["t"].min()) if not restart.empty else None
        text = f"{machine} {_ENDS[str(e['kind'])]} at {clock(t)}"
        text += f" and started again at {clock(back)}" if back is not None else " and stayed down"
        sent = _sent_to_dead(requests, machine, t, back if back is not None else end)
        if sent is not None:
            count, share, wait, last = sent
            until = "until the end of the run" if back is None and last >= end - 60 else f"the last at {clock(last)}"
            text += (
                f"; {plural(count, 'request')} ({share:.0%} of those arriving meanwhile) were still sent to its "
                f"dead tunnel, each waiting {wait:.1f} s on average, {until}"
            )
        sentences.append(text + ".")
    if len(ends) > MAX_MACHINE_SENTENCES:
        rest = ends.iloc[MAX_MACHINE_SENTENCES:]
        sentences.append(
            f"{plural(len(rest), 'more crash or stop', 'more crashes and stops')} followed, the last at "
            f"{clock(float(rest['t'].max()))} (events.jsonl lists them)."
        )
    again = []
    for machine, part in events[events["kind"] == "register"].groupby("machine", sort=True):
        for _, life in part.groupby("incarnation", sort=True):
            ids = [str(w) for w in life["worker_ids"] if str(w)]
            if len(dict.fromkeys(ids)) > 1:
                again.append((str(machine), float(life.iloc[1]["t"]), ids[0], str(life.iloc[1]["worker_ids"])))
                break
    if again:
        machine, t, first, second = min(again, key=lambda a: a[1])
        example = f"{second} at {clock(t)}, after {first}"
        who = machine if len(again) == 1 else plural(len(again), "machine")
        if len(again) > 1:
            example = f"{machine}: {example}"
        sentences.append(
            f"{who} registered again under a new id without restarting ({example}): two records for one machine."
        )
    return sentences


def _sent_to_dead(
    requests: pd.DataFrame, machine: str, since: float, until: float
) -> tuple[int, float, float, float] | None:
    """(count, share of the requests arriving in [since, until), mean latency, last arrival) of the requests
    forwarded to ``machine`` while it was down, or None when there were none."""
    if requests.empty or "target" not in requests:
        return None
    window = requests[(requests["t_arrival"] >= since) & (requests["t_arrival"] < until)]
    dead = window[(window["target"] == machine) & (window["target_up"] == False)]  # noqa: E712 (a column)
    if dead.empty:
        return None
    return len(dead), len(dead) / len(window), float(dead["latency"].mean()), float(dead["t_arrival"].max())


def _registry_sentences(result: RunResult) -> list[str]:
    s = result.summary
    sentences = []
    pollution = s.get("pollution.final")
    if pollution:
        dead = s.get("registry.dead_entries.final", 0)
        entries = plural(int(dead), "index entry", "index entries")
        text = f"At the end, {entries} pointed at dead workers (pollution {pollution:.3f})"
        never, crashes = s.get("purge.never", 0), s.get("purge.crashes", 0)
        if crashes:
            text += f"; crashed workers never purged: {never} of {crashes}"
        sentences.append(text + ".")
    elif s.get("purge.crashes") and s.get("purge.time_max") is not None:
        sentences.append(
            f"Every crashed worker left the index, the slowest after {s['purge.time_max']:.0f} s (purge.time_max)."
        )
    if s.get("registry.loss.max"):
        sentences.append(
            f"The index lost up to {plural(int(s['registry.loss.max']), 'live, registered provider')} at once "
            f"(registry.loss.max): requests could not reach them."
        )
    if s.get("leader.conflict_time"):
        sentences.append(
            f"Two or more agents believed they were the leader for {s['leader.conflict_time']:.0f} s in "
            f"{s.get('leader.conflict_episodes', 0)} episodes."
        )
    if s.get("kv.rate_limited"):
        sentences.append(
            f"The KV refused {plural(int(s['kv.rate_limited']), 'write')} with 429 (1 write per second per key)."
        )
    if s.get("outlier.ejections") or s.get("breaker.opened"):
        sentences.append(
            f"The proxy ejected {plural(int(s.get('outlier.ejections') or 0), 'provider')} as outliers and opened "
            f"{plural(int(s.get('breaker.opened') or 0), 'circuit breaker')}."
        )
    return sentences


def _request_sentences(result: RunResult) -> list[str]:
    s = result.summary
    requests = s.get("routing.requests") or 0
    failures = [(k, s.get(f"routing.failures.{k}") or 0) for k in _FAILURES]
    failed = sum(n for _, n in failures)
    if not requests or not failed:
        return []
    parts = ", ".join(f"{n:,} {_FAILURES[k]}" for k, n in failures if n)
    return [f"Of {plural(int(requests), 'request')}, {failed:,} ({failed / requests:.0%}) failed: {parts}."]
