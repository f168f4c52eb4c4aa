"""The fuzz tier is deselected unless ``-m`` names it; its tally is printed at the end of the session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TALLIES = pytest.StashKey[list[str]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ``-m`` mentioning fuzz, the 500-case tier (many minutes) is deselected."""
    if "fuzz" in (config.getoption("markexpr") or ""):
        return
    fuzz = [item for item in items if item.get_closest_marker("fuzz")]
    if fuzz:
        config.hook.pytest_deselected(items=fuzz)
        items[:] = [item for item in items if not item.get_closest_marker("fuzz")]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for text in config.stash.get(TALLIES, []):
        terminalreporter.write_sep("=", "fuzz tally")
        terminalreporter.write_line(text)


@pytest.fixture
def record_tally(request: pytest.FixtureRequest):
    """Call with a text to print it in the terminal summary, even when the test fails."""

    def record(text: str) -> None:
        request.config.stash.setdefault(TALLIES, []).append(text)

    return record


@pytest.fixture(scope="session")
def mpl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A matplotlib config directory shared by subprocess cases, its font cache built once."""
    path = tmp_path_factory.mktemp("mpl")
    code = "import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot"
    subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "MPLCONFIGDIR": str(path)}, check=False, timeout=120
    )
    return path
