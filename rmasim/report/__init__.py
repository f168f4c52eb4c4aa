"""Artifacts of runs: JSON, CSV, parquet and PNG files, written atomically."""

from .artifacts import summary_json, write_run
from .timeline import plot_timeline

__all__ = ["plot_timeline", "summary_json", "write_run"]
