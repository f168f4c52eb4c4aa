"""A TypeScript entry point, bundled to one JavaScript module with esbuild (as wrangler does before a deploy).

esbuild is found as ``$RMASIM_ESBUILD``, else ``node_modules/.bin/esbuild`` in the Worker's directory or one of
its parents (a wrangler project's own install), else ``esbuild`` on ``PATH``. Without it a ``.ts`` Worker is one
line saying how to install it. The bundle goes to a temporary directory of this process (removed at exit; the
Worker's own directory is never written), once per entry file and version. esbuild's errors become located
lines ``file:line:col: esbuild: message``.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ...scenario import Problem, ScenarioError
from ._paths import shown_path

__all__ = ["bundle_typescript", "find_esbuild"]

INSTALL_HINT = "npm install --save-dev esbuild (in the Worker's project), or set RMASIM_ESBUILD"
_ERROR = re.compile(r"\[ERROR\] (.+)")
_WHERE = re.compile(r"^\s+(\S.*?):(\d+):(\d+):\s*$")
_bundles: dict[tuple[Path, int, int], Path] = {}


def find_esbuild(entry: Path) -> str | None:
    """The esbuild executable for ``entry`` (see the module docstring), or None."""
    given = os.environ.get("RMASIM_ESBUILD")
    if given:
        return given
    for folder in entry.parents:
        local = folder / "node_modules" / ".bin" / "esbuild"
        if local.is_file():
            return str(local)
    return shutil.which("esbuild")


def bundle_typescript(entry: Path, shown: str) -> Path:
    """The bundled module of the TypeScript file ``entry`` (``shown``: how the user named it, for errors)."""
    stat = entry.stat()
    key = (entry, stat.st_mtime_ns, stat.st_size)
    if key in _bundles:
        return _bundles[key]
    esbuild = find_esbuild(entry)
    if esbuild is None:
        raise _problem(shown, f"a .ts Worker is bundled with esbuild, which is not installed: {INSTALL_HINT}")
    folder = Path(tempfile.mkdtemp(prefix="rmasim-worker-"))
    atexit.register(shutil.rmtree, folder, True)
    out = folder / f"{entry.stem}.mjs"
    command = [esbuild, str(entry), "--bundle", "--format=esm", "--platform=browser", f"--outfile={out}",
               "--conditions=workerd,worker,browser", "--log-level=error", "--color=false"]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=entry.parent)
    except (OSError, subprocess.SubprocessError) as error:
        raise _problem(shown, f"cannot run {esbuild}: {error}") from None
    if done.returncode != 0:
        raise ScenarioError(_problems(done.stderr, entry, shown))
    _bundles[key] = out
    return out


def _problem(shown: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(shown, None, None, "coordinator.worker", message)])


def _problems(report: str, entry: Path, shown: str) -> list[Problem]:
    """esbuild's error report as located lines (its paths are relative to the entry's directory)."""
    problems: list[Problem] = []
    message: str | None = None
    for line in report.splitlines():
        found = _ERROR.search(line)
        if found:
            if message is not None:
                problems.append(Problem(shown, None, None, "", f"esbuild: {message}"))
            message = found[1].strip()
            continue
        where = _WHERE.match(line)
        if where and message is not None:
            file = shown_path((entry.parent / where[1]).resolve())
            problems.append(Problem(file, int(where[2]), int(where[3]) + 1, "", f"esbuild: {message}"))
            message = None
    if message is not None:
        problems.append(Problem(shown, None, None, "", f"esbuild: {message}"))
    return problems or [Problem(shown, None, None, "", f"esbuild failed: {report.strip()[:300]}")]
