"""Shrinking a failing run to a small scenario that fails the same way (issue 14, Build 3).

Model: delta debugging as a greedy fixpoint (Zeller's ddmin, one element at a time; Hypothesis' shrinker
passes). A failing run is its scenario (the drawn faults in it), its seed and one violated property. A
*candidate* is the scenario with one simplification; it is run once (:func:`rmasim.run`, the same seed) and
*accepted* when the same property is still violated, whenever and by whomever. The passes, in this order, each
retried from its start after an accepted candidate, all of them again until none is accepted:

1. **fewer faults**: drop each fault;
2. **shorter run**: cut ``duration`` to a little after the violation (``violated_at`` + 2 samples or 10 s,
   else + 30 s, 1 min, 2 min; whole seconds; phases clipped to it, warmup kept shorter);
3. **fewer machines**: remove one machine of a group (a live one, then a spare) that no fault targets: the
   higher indexes of the group move down by one in every target and in ``speeds``; a group keeps one machine;
4. **earlier faults**: each fault's ``at`` to the floor (the campaign's fault window start, or the start of
   traffic), then nearer to it by halves of the distance;
5. **shorter faults**: each length (``duration``, ``down_for``, ``within``, ``every``, ``lag``, ``period``)
   to 1 s, then nearer by halves;
6. **simpler parameters**: a flag (``oneway``) off, a count (``times``) to 1, a clock step halved.

Times stay whole seconds, so the result reads as a person writes it. A candidate that does not validate (a
``down_for`` no shorter than its ``every``) is skipped without a run. Every choice depends only on the runs'
outcomes, which depend only on the scenario and the seed: the same failing run always shrinks to the same
scenario. ``max_runs`` bounds the candidates run (and ``max_seconds`` the wall time; when that bound is hit the
result depends on the machine's speed, and :attr:`Shrunk.exhausted` says so).
"""

from __future__ import annotations

import copy
import io
import json
import math
import time
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from ..engine import run
from ..scenario import Scenario, ScenarioError, format_duration, parse_duration
from ..scenario.overrides import plain
from .dedup import signature

__all__ = ["MAX_SHRINK_RUNS", "Shrunk", "Violation", "machines_of", "shrink", "shrunk_yaml", "violation"]

#: The default bound on candidate runs of one shrink.
MAX_SHRINK_RUNS = 200

_LENGTHS = ("duration", "down_for", "within", "every", "lag", "period")
_FLAGS = ("oneway",)
_COUNTS = ("times",)


@dataclass(frozen=True)
class Violation:
    """A property's first violation: its name, time (simulated seconds), entities and detail."""

    property: str
    violated_at: float
    entities: tuple[str, ...]
    detail: str = ""


Outcome = dict[str, Violation]  # the violated properties of one run, by name


@dataclass
class Shrunk:
    """A shrink's result: the ``original`` and the shrunk ``raw`` scenario data (plain, as written), their
    violations of the property, the candidates run and accepted, wall time, and whether a bound stopped it."""

    original: dict[str, Any]
    raw: dict[str, Any]
    before: Violation
    after: Violation
    runs: int = 0
    accepted: int = 0
    wall_seconds: float = 0.0
    exhausted: bool = False
    steps: list[str] = field(default_factory=list)

    @property
    def scenario(self) -> Scenario:
        return Scenario.model_validate(self.raw)

    @property
    def signature(self) -> str:
        return signature(self.after.property, self.raw.get("faults") or [], self.after.violated_at,
                         self.after.entities)  # fmt: skip


def violation(result: Any, name: str) -> Violation | None:
    """``name``'s violation in a ``RunResult``, or None when it holds (or the run did not judge it)."""
    for p in result.properties:
        if p.name == name and not p.holds:
            return Violation(p.name, float(p.violated_at), tuple(p.entities), p.detail)
    return None


def machines_of(raw: dict[str, Any]) -> int:
    """Machines of a scenario's data: count + spares over its fleet groups."""
    return sum(int(g.get("count", 1)) + int(g.get("spares", 0)) for g in (raw.get("fleet") or {}).values())


def _seconds(value: Any) -> float:
    return parse_duration(value) if isinstance(value, str) else float(value)


def _whole(seconds: float) -> str:
    return format_duration(float(math.floor(seconds)))


class _Search:
    """One shrink's state: the current raw scenario, its violation, the run budget and the outcome cache."""

    def __init__(self, raw: dict[str, Any], name: str, cache: MutableMapping[str, Outcome], max_runs: int,
                 deadline: float | None) -> None:  # fmt: skip
        self.raw, self.name, self.cache = raw, name, cache
        self.max_runs, self.deadline = max_runs, deadline
        self.runs = self.accepted = 0
        self.exhausted = False
        self.steps: list[str] = []
        found = self.outcome(raw)
        if found is None or name not in found:
            raise ValueError(f"the scenario does not violate {name!r}: nothing to shrink")
        self.current = found[name]

    def outcome(self, raw: dict[str, Any]) -> Outcome | None:
        """The candidate's violations (cached by its data), or None when it does not validate."""
        key = json.dumps(raw, sort_keys=True, default=str)
        if key in self.cache:
            return self.cache[key]
        try:
            scenario = Scenario.model_validate(raw)
        except (ValueError, ScenarioError):
            return None
        self.runs += 1
        result = run(scenario)
        found = {p.name: v for p in result.properties if (v := violation(result, p.name)) is not None}
        self.cache[key] = found
        return found

    def out_of_budget(self) -> bool:
        if self.runs >= self.max_runs or (self.deadline is not None and time.perf_counter() >= self.deadline):
            self.exhausted = True
        return self.exhausted

    def greedy(self, candidates: Callable[[dict[str, Any]], Iterator[tuple[str, dict[str, Any]]]]) -> bool:
        """Accept the first candidate that still fails, and start the pass again from it; True if one was."""
        changed = True
        any_change = False
        while changed and not self.out_of_budget():
            changed = False
            for what, candidate in candidates(self.raw):
                if self.out_of_budget():
                    break
                found = self.outcome(candidate)
                if found is not None and self.name in found:
                    self.raw, self.current = candidate, found[self.name]
                    self.accepted += 1
                    self.steps.append(what)
                    changed = any_change = True
                    break
        return any_change


def _drop_faults(raw: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    faults = raw.get("faults") or []
    for i in range(len(faults)):
        candidate = copy.deepcopy(raw)
        del candidate["faults"][i]
        yield f"dropped fault {i}", candidate


def _cut_duration(raw: dict[str, Any], violated_at: float) -> Iterator[tuple[str, dict[str, Any]]]:
    every = _seconds(raw.get("sample_every", 5.0))
    for margin in (max(2 * every, 10.0), 30.0, 60.0, 120.0):
        end = float(math.ceil(violated_at + margin))
        if end < _seconds(raw["duration"]):
            yield f"duration {format_duration(end)}", _with_duration(raw, end)


def _with_duration(raw: dict[str, Any], end: float) -> dict[str, Any]:
    candidate = copy.deepcopy(raw)
    candidate["duration"] = format_duration(end)
    if "warmup" in candidate and _seconds(candidate["warmup"]) >= end:
        candidate["warmup"] = format_duration(float(math.floor(end / 2)))
    phases = candidate.get("phases") or {}
    for name in list(phases):
        if _seconds(phases[name]["start"]) >= end:
            del phases[name]
        elif _seconds(phases[name]["end"]) > end:
            phases[name]["end"] = format_duration(end)
    return candidate


def _targeted(raw: dict[str, Any], group: str) -> tuple[set[int], bool]:
    """Indexes of ``group`` the faults target, and whether one targets ``group/*``."""
    indexes, whole = set(), False
    for fault in raw.get("faults") or []:
        target = fault.get("target")
        if isinstance(target, str) and target.partition("/")[0] == group:
            index = target.partition("/")[2]
            if index == "*":
                whole = True
            else:
                indexes.add(int(index))
    return indexes, whole


def _fewer_machines(raw: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for group, config in (raw.get("fleet") or {}).items():
        count, spares = int(config.get("count", 1)), int(config.get("spares", 0))
        targeted, _ = _targeted(raw, group)
        removable = [i for i in range(count - 1, -1, -1) if count > 1] + list(range(count + spares - 1, count - 1, -1))
        for k in removable:
            if k in targeted:
                continue
            candidate = copy.deepcopy(raw)
            g = candidate["fleet"][group]
            if k < count:
                g["count"] = count - 1
            else:
                g["spares"] = spares - 1
            if isinstance(g.get("speeds"), list):
                del g["speeds"][k]
            for fault in candidate.get("faults") or []:
                target = fault.get("target")
                if isinstance(target, str) and target.partition("/")[0] == group:
                    index = target.partition("/")[2]
                    if index != "*" and int(index) > k:
                        fault["target"] = f"{group}/{int(index) - 1}"
            yield f"removed {group}/{k}", candidate


def _towards(value: float, floor: float) -> Iterator[float]:
    """``floor``, then ``value`` minus halves of the distance (whole seconds), largest step first."""
    if value <= floor:
        return
    yield floor
    step = math.floor((value - floor) / 2)
    while step >= 1:
        yield value - step
        step = math.floor(step / 2)


def _earlier(raw: dict[str, Any], floor: float) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, fault in enumerate(raw.get("faults") or []):
        at = _seconds(fault["at"])
        for value in _towards(at, floor):
            candidate = copy.deepcopy(raw)
            candidate["faults"][i]["at"] = _whole(value)
            yield f"fault {i} at {_whole(value)}", candidate


def _shorter(raw: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, fault in enumerate(raw.get("faults") or []):
        for name in _LENGTHS:
            if fault.get(name) is None:
                continue
            for value in _towards(_seconds(fault[name]), 1.0):
                candidate = copy.deepcopy(raw)
                candidate["faults"][i][name] = _whole(value)
                yield f"fault {i} {name} {_whole(value)}", candidate


def _simpler(raw: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, fault in enumerate(raw.get("faults") or []):
        for name in _FLAGS:
            if fault.get(name):
                candidate = copy.deepcopy(raw)
                candidate["faults"][i][name] = False
                yield f"fault {i} {name} off", candidate
        for name in _COUNTS:
            if isinstance(fault.get(name), int) and fault[name] > 1:
                candidate = copy.deepcopy(raw)
                candidate["faults"][i][name] = 1
                yield f"fault {i} {name} 1", candidate
        if fault.get("delta") is not None:
            delta = _seconds(fault["delta"])
            half = math.copysign(math.floor(abs(delta) / 2), delta)
            if abs(half) >= 1:
                candidate = copy.deepcopy(raw)
                candidate["faults"][i]["delta"] = format_duration(half)
                yield f"fault {i} delta {format_duration(half)}", candidate


def traffic_start(raw: dict[str, Any]) -> float:
    """When the scenario's traffic starts (the earliest workload ``start``), at least its warmup."""
    starts = [_seconds(w.get("start", 0.0)) for w in raw.get("workload") or []]
    return max(_seconds(raw.get("warmup", 0.0)), min(starts, default=0.0))


def shrink(
    scenario: Scenario,
    name: str,
    *,
    seed: int | None = None,
    floor: float | None = None,
    max_runs: int = MAX_SHRINK_RUNS,
    max_seconds: float | None = None,
    cache: MutableMapping[str, Outcome] | None = None,
) -> Shrunk:
    """Shrink ``scenario`` (run at ``seed``, default its own) while property ``name`` is still violated (module
    docstring). ``floor``: the earliest fault time tried (default :func:`traffic_start`); ``cache``: outcomes
    by candidate, shared between shrinks of one campaign. Raises ValueError when it does not violate ``name``."""
    wall = time.perf_counter()
    raw = copy.deepcopy(plain(scenario._raw)) if scenario._raw else plain(scenario)
    if seed is not None:
        raw["seed"] = seed
    if raw.get("explore") is None:
        raw.pop("explore", None)
    deadline = None if max_seconds is None else wall + max_seconds
    search = _Search(raw, name, {} if cache is None else cache, max_runs, deadline)
    before = search.current
    low = traffic_start(raw) if floor is None else floor
    passes: list[Callable[[dict[str, Any]], Iterator[tuple[str, dict[str, Any]]]]] = [
        _drop_faults,
        lambda r: _cut_duration(r, search.current.violated_at),
        _fewer_machines,
        lambda r: _earlier(r, low),
        _shorter,
        _simpler,
    ]
    progress = True
    while progress and not search.out_of_budget():
        progress = False
        for candidates in passes:
            progress |= search.greedy(candidates)
    return Shrunk(raw, search.raw, before, search.current, search.runs, search.accepted,
                  time.perf_counter() - wall, search.exhausted, search.steps)  # fmt: skip


def shrunk_yaml(shrunk: Shrunk, origin: str = "") -> str:
    """The shrunk scenario as a plain YAML file, headed by comments: the property, its first violation, what was
    shrunk from what, and how to replay it."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # keep the file's order
    yaml.width = 4096
    text = io.StringIO()
    yaml.dump(shrunk.raw, text)
    a, b = shrunk.after, shrunk.before
    faults_before, faults_after = len(shrunk.original.get("faults") or []), len(shrunk.raw.get("faults") or [])
    head = [
        f"# rmasim shrink{': ' + origin if origin else ''}",
        f"# violates {a.property} at {a.violated_at:.6g} s: {','.join(a.entities)} ({a.detail})",
        f"# signature: {shrunk.signature}",
        f"# shrunk from {faults_before} faults, {machines_of(shrunk.original)} machines, "
        f"{shrunk.original['duration']} (violated at {b.violated_at:.6g} s) to {faults_after} faults, "
        f"{machines_of(shrunk.raw)} machines, {shrunk.raw['duration']}; {shrunk.runs} candidate runs, "
        f"{shrunk.accepted} accepted{' (budget exhausted)' if shrunk.exhausted else ''}",
        f"# replay: rmasim run THIS_FILE --out DIR  (exits 1: {a.property} violated at {a.violated_at:.6g} s)",
    ]
    return "\n".join(head) + "\n" + text.getvalue()
