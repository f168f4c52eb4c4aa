"""Sweeps: grids x seeds over an Executor, results stored run by run (DESIGN.md section 3, ``sweep``)."""

from .execute import Progress, run_row, sweep
from .plan import RunSpec, plan_runs
from .store import RunStore

__all__ = ["Progress", "RunSpec", "RunStore", "plan_runs", "run_row", "sweep"]
