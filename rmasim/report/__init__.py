"""Artifacts of runs: JSON, CSV, parquet and PNG files, written atomically."""

from .artifacts import atomic_directory, summary_json, write_run
from .timeline import plot_timeline

__all__ = ["atomic_directory", "plot_timeline", "summary_json", "write_run"]
