"""How a path is shown in an error line: relative to the current directory when it is below it."""

from __future__ import annotations

from pathlib import Path

__all__ = ["shown_path"]


def shown_path(file: str | Path) -> str:
    """``file`` relative to the current directory when it is below it (error lines stay short), else as given."""
    try:
        return str(Path(file).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(file)
