"""Run a sweep's plan on an executor and collect one row per run.

Any :class:`concurrent.futures.Executor` works: the default is a process pool sized to the machine (forked
workers on Linux, so extensions a notebook registered - a checker, a fault - exist in the workers too); a
``dask.distributed`` cluster is
``Client(address).get_executor()``; ``jobs=1`` runs in this process. Every run is a pure function of its
scenario and seed, so rows are identical whichever executor ran them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd

from ..engine import run
from ..outputs import open_report
from ..scenario import Scenario
from .plan import RunSpec, plan_runs
from .store import RunStore

__all__ = ["OnRow", "Progress", "execute", "run_row", "sweep"]

#: ``progress(done, total, spec)`` is called after each run is stored (``spec`` None for the initial call).
Progress = Callable[[int, int, RunSpec | None], None]


def run_row(spec: RunSpec) -> dict[str, Any]:
    """Run one spec and return its row: run index and id, scenario, grid values (a mapping or list value as its
    JSON text, so rows can be grouped by it), seed, then every summary key."""
    result = run(spec.scenario, seed=spec.seed)
    row: dict[str, Any] = {"run": spec.index, "run_id": spec.run_id, "scenario": spec.scenario.name}
    row.update(
        {k: json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v for k, v in spec.grid_point.items()}
    )
    row["seed"] = spec.seed
    row.update(dict(sorted(result.summary.items())))
    return row


#: ``on_row(done, total, spec, row)`` is called after each run's row is stored.
OnRow = Callable[[int, int, RunSpec, dict[str, Any]], None]


def execute(
    specs: Sequence[RunSpec],
    store: RunStore,
    row: Callable[[RunSpec], dict[str, Any]] = run_row,
    *,
    executor: Executor | None = None,
    jobs: int | None = None,
    done: int = 0,
    total: int | None = None,
    on_row: OnRow | None = None,
) -> None:
    """Run ``specs`` and store each one's ``row(spec)`` under its id as soon as it finishes (in completion
    order); ``row`` must be a module-level function (it is sent to worker processes). ``executor``: any
    ``concurrent.futures.Executor`` (not shut down here); else ``jobs`` worker processes, or this process when
    ``jobs == 1``. ``done`` and ``total`` only count for ``on_row``."""
    total = done + len(specs) if total is None else total
    if executor is None and jobs == 1:
        for spec in specs:
            result = row(spec)
            store.write(spec.run_id, result)
            done += 1
            if on_row:
                on_row(done, total, spec, result)
        return
    pool = executor if executor is not None else default_executor(jobs)
    try:
        futures: dict[Future[dict[str, Any]], RunSpec] = {pool.submit(row, s): s for s in specs}
        for future in as_completed(futures):
            spec = futures[future]
            result = future.result()
            store.write(spec.run_id, result)
            done += 1
            if on_row:
                on_row(done, total, spec, result)
    finally:
        if executor is None:
            pool.shutdown(cancel_futures=True)


def default_executor(jobs: int | None = None) -> ProcessPoolExecutor:
    """A pool of ``jobs`` worker processes (default: one per core)."""
    return ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1)


def sweep(
    scenarios: Sequence[Scenario | str | Path],
    grid: Mapping[str, Sequence[Any]] | None = None,
    seeds: Iterable[int] = range(1),
    executor: Executor | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    jobs: int | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Run every scenario at every grid point with every seed; one row per run, in plan order.

    ``out``: a directory where each run's row is stored as soon as it finishes (default: a temporary one); it
    must be an rmasim report, empty or missing (:func:`rmasim.outputs.open_report`).
    ``resume``: skip the runs whose row is already stored there (otherwise they are run again).
    ``executor``: any ``concurrent.futures.Executor`` (not shut down here); else ``jobs`` worker processes,
    or this process when ``jobs == 1``.
    """
    import tempfile

    specs = plan_runs(scenarios, grid, seeds)
    with tempfile.TemporaryDirectory(prefix="rmasim-sweep-") as scratch:
        store = RunStore(open_report(out, "sweep") if out is not None else scratch)
        ids = [s.run_id for s in specs]
        if resume:
            done = store.finished()
            todo = [s for s in specs if s.run_id not in done]
        else:
            store.remove(ids)
            todo = specs
        if progress:
            progress(len(specs) - len(todo), len(specs), None)
        execute(todo, store, run_row, executor=executor, jobs=jobs, done=len(specs) - len(todo), total=len(specs),
                on_row=(lambda d, t, spec, _row: progress(d, t, spec)) if progress else None)  # fmt: skip
        return store.read(ids, ["run", "run_id", "scenario", *dict(grid or {}), "seed"])
