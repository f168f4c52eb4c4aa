"""Deduplication: violations grouped by property and a signature of the failing schedule.

A campaign of a thousand runs that all lose the same crashed worker is one failure, not a thousand. The
signature of a violation is ``property: kinds -> roles``:

- *kinds*: the sorted distinct actions of the schedule's **relevant** faults: those that happened at or before
  the violation (a later fault cannot have caused it) and, when the violation names machines, that hit one of
  them (a machine fault whose target is another machine did not) - faults without a machine target (a KV
  outage, a clock jump) always count;
- *roles*: the sorted distinct roles of the violation's entities: a machine ``gpu/3`` is its group ``gpu``, a
  worker id is ``worker``, anything else its text with digits as ``#``.

Two runs with the same signature are copies of one failure; :func:`distinct_failures` counts them. (Without
shrinking, a fault that happened to precede the violation on the same machine still joins the signature.)
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Failure", "distinct_failures", "relevant_faults", "role", "signature"]

_MACHINE = re.compile(r"^([a-z][a-z0-9_-]*)/([0-9]+)$")


def role(entity: str) -> str:
    """``gpu/3`` -> ``gpu``; ``worker-5667-ls...`` -> ``worker``; otherwise digits become ``#``."""
    machine = _MACHINE.match(entity)
    if machine:
        return machine.group(1)
    if entity.startswith("worker-"):
        return "worker"
    return re.sub(r"[0-9]+", "#", entity)


def _at(fault: Mapping[str, Any]) -> float:
    from ..scenario import parse_duration

    at = fault["at"]
    return parse_duration(at) if isinstance(at, str) else float(at)


def relevant_faults(
    faults: Sequence[Mapping[str, Any]], violated_at: float, entities: Iterable[str]
) -> list[Mapping[str, Any]]:
    """The faults that may have caused a violation at ``violated_at`` naming ``entities`` (module docstring)."""
    machines = {e for e in entities if _MACHINE.match(e)}
    out = []
    for fault in faults:
        if _at(fault) > violated_at:
            continue
        target = fault.get("target")
        if machines and isinstance(target, str):
            group, _, index = target.partition("/")
            hit = target in machines if index != "*" else any(m.startswith(f"{group}/") for m in machines)
            if not hit:
                continue
        out.append(fault)
    return out


def signature(name: str, faults: Sequence[Mapping[str, Any]], violated_at: float, entities: Sequence[str]) -> str:
    """``no_dead_in_index: crash -> gpu,worker``: what makes two violations the same failure."""
    kinds = sorted({str(f["action"]) for f in relevant_faults(faults, violated_at, entities)})
    roles = sorted({role(e) for e in entities})
    return f"{name}: {'+'.join(kinds) or 'no fault'} -> {','.join(roles) or '-'}"


@dataclass
class Failure:
    """One distinct failure of a campaign: its property, signature, how many runs showed it (``runs``, in index
    order) and the first such run's violation."""

    property: str
    signature: str
    runs: list[int] = field(default_factory=list)
    violated_at: float | None = None
    entities: str = ""

    @builtins.property
    def count(self) -> int:
        return len(self.runs)

    @builtins.property
    def first_run(self) -> int:
        return self.runs[0]


def distinct_failures(rows: Iterable[Mapping[str, Any]]) -> list[Failure]:
    """Group the rows' violations (their ``signatures`` column: JSON ``[[property, signature], ...]``) by
    signature; most frequent first, then by first run."""
    groups: dict[str, Failure] = {}
    for row in sorted(rows, key=lambda r: int(r["run"])):
        for name, sig in json.loads(row.get("signatures") or "[]"):
            failure = groups.get(sig)
            if failure is None:
                failure = groups[sig] = Failure(
                    name, sig, violated_at=row.get(f"{name}.violated_at"), entities=row.get(f"{name}.entities", "")
                )
            failure.runs.append(int(row["run"]))
    return sorted(groups.values(), key=lambda f: (-f.count, f.first_run))
