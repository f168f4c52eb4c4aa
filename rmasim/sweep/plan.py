"""A sweep's plan: every (scenario, grid point, seed) as a :class:`RunSpec` with a stable id.

The grid is a mapping of dotted scenario paths to value lists; its points are their cartesian product, in the
order the keys and values are given. A run's id is a digest of the resolved scenario (after the grid's
overrides) and the seed, so a resumed sweep recognises finished runs even across processes and machines, and
never mistakes the result of an edited scenario for a current one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..scenario import Problem, Scenario, ScenarioError, load_scenario

__all__ = ["RunSpec", "plan_runs"]


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: which scenario (overrides applied), which grid point, which seed."""

    index: int
    run_id: str
    scenario: Scenario = field(repr=False)
    grid_point: Mapping[str, Any]
    seed: int

    @property
    def label(self) -> str:
        point = " ".join(f"{k}={v}" for k, v in self.grid_point.items())
        return f"{self.scenario.name} {point} seed={self.seed}".replace("  ", " ")


def _resolved_text(scenario: Scenario) -> str:
    """The resolved scenario as canonical JSON: what a run id hashes, with the seed."""
    return json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def _run_id(resolved: str, seed: int) -> str:
    return hashlib.sha256(f"{resolved}\nseed={seed}".encode()).hexdigest()[:16]


def plan_runs(
    scenarios: Sequence[Scenario | str | Path],
    grid: Mapping[str, Sequence[Any]] | None = None,
    seeds: Iterable[int] = range(1),
) -> list[RunSpec]:
    """Every run of the sweep, in a fixed order: scenario, then grid point, then seed.

    Each grid point is validated as scenario overrides here, before anything runs.
    """
    grid = dict(grid or {})
    seeds = list(seeds)
    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    keys = list(grid)
    specs: list[RunSpec] = []
    for scenario in loaded:
        for values in itertools.product(*(grid[k] for k in keys)):
            point = dict(zip(keys, values, strict=True))
            resolved = scenario.with_overrides(point) if point else scenario
            text = _resolved_text(resolved)  # once for all its seeds
            for seed in seeds:
                specs.append(RunSpec(len(specs), _run_id(text, seed), resolved, point, seed))
    _refuse_equivalent_points(specs, grid)
    return specs


def _refuse_equivalent_points(specs: Sequence[RunSpec], grid: Mapping[str, Sequence[Any]]) -> None:
    """Two grid points that resolve to the same scenario (``warmup=60s,1m``, or ``edges=2,2``) would share run ids
    and give duplicate rows: a ``ScenarioError`` naming the ``--grid`` option instead."""
    first: dict[str, RunSpec] = {}
    problems = []
    for spec in specs:
        twin = first.setdefault(spec.run_id, spec)
        if twin is spec:
            continue
        for key in grid:
            a, b = twin.grid_point.get(key), spec.grid_point.get(key)
            if a != b:
                label = f"--grid {key}={','.join(map(str, grid[key]))}"
                message = f"the values {a} and {b} give the same scenario: give each setting once"
                problems.append(Problem(label, None, None, "", message))
        if twin.grid_point == spec.grid_point:  # the same scenario given twice
            where = str(spec.scenario.source or spec.scenario.name)
            problems.append(Problem(where, None, None, "", "the same scenario is given twice: give it once"))
    if problems:
        raise ScenarioError(list(dict.fromkeys(problems)))
