"""Sweeps: grids x seeds over an Executor, results stored run by run (DESIGN.md section 3, ``sweep``)."""

from .execute import OnRow, Progress, execute, run_row, sweep
from .plan import RunSpec, plan_runs
from .store import RunStore

__all__ = ["OnRow", "Progress", "RunSpec", "RunStore", "execute", "plan_runs", "run_row", "sweep"]
