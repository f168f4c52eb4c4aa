"""Sweep results on disk: one small parquet file per finished run, written atomically.

``DIR/runs/<run_id>.parquet`` holds one row. A run counts as finished exactly when its file exists: a sweep that
is killed loses only the runs in flight, and ``--resume`` runs only the ids whose file is missing. Reading the
rows back through the same files makes the DataFrame identical however the runs were executed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..outputs import is_report, open_report, write_atomic

__all__ = ["RunStore"]


class RunStore:
    """The ``runs/`` directory of a sweep's output."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.root = Path(out)
        self.runs = self.root / "runs"

    def path(self, run_id: str) -> Path:
        return self.runs / f"{run_id}.parquet"

    def finished(self) -> set[str]:
        """Ids of the runs whose result is stored."""
        if not self.runs.is_dir():
            return set()
        return {p.stem for p in self.runs.glob("*.parquet")}

    def write(self, run_id: str, row: Mapping[str, Any]) -> None:
        """Store one run's row (temporary file, then rename: never half a file)."""
        if not self.runs.is_dir():
            open_report(self.root, "sweep")  # a store is a report: created with its marker, or refused
            self.runs.mkdir(exist_ok=True)
        table = pa.Table.from_pylist([dict(row)])
        write_atomic(self.path(run_id), lambda tmp: pq.write_table(table, tmp))

    def remove(self, run_ids: Iterable[str]) -> None:
        """Forget stored rows (to run them again); only in a store that is an rmasim report."""
        if not is_report(self.root):
            return
        for run_id in run_ids:
            self.path(run_id).unlink(missing_ok=True)

    def read(self, run_ids: Iterable[str], leading: Sequence[str] = ()) -> pd.DataFrame:
        """The stored rows of ``run_ids`` (those that exist), sorted by their ``run`` index; columns: ``leading``
        first, then the others (summary keys) sorted by name."""
        tables = [pq.read_table(self.path(r)) for r in run_ids if self.path(r).exists()]
        if not tables:
            return pd.DataFrame(columns=list(leading))
        frame = pa.concat_tables(tables, promote_options="default").to_pandas()
        frame = frame.sort_values("run", kind="stable").reset_index(drop=True)
        first = [c for c in leading if c in frame.columns]
        return frame[first + sorted(c for c in frame.columns if c not in first)]
