"""Running a fuzz case in its own world, and judging what it did.

A case passes when the command

- exits 0 or 1 (a valid run; 1: an expectation failed), or 2 with every line of stderr located: a scenario
  problem as ``FILE:LINE:COL: ...`` (FILE as typed, or a file of the --suite), an option problem starting with
  the option (``--out X: ...``, ``--set K=V: ...``, ``--grid ...``, ``--seed ...``), a baseline problem starting
  with the baseline's path, or click's usage error (``Usage: rmasim ...`` and a box naming the option);
- prints no traceback and exits within the time bound (20 s; compare 60 s: it draws 15 plots);
- leaves every file of the world as it was (sha256 of each before and after), and creates nothing but report
  directories: on exit 2 nothing at all, and never a file or a hidden entry (a temporary sibling left behind)
  in a non-empty directory that existed before, nor anything outside the working directory (an empty
  directory may become a report, as ``rmasim/outputs.py`` allows).

:func:`run_case` runs a case in a subprocess (the installed console script, as a user's terminal sees it) with
2 GB of address space and, when run as root where mount namespaces work, the whole file system read-only except
the case's directory: a writer that follows a hostile path fails instead of deleting. ``in_process=True`` uses
typer's CliRunner instead (fast; for cases that cannot exhaust memory), bounded by SIGALRM.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .cases import WORLD_DIRS, WORLD_LINKS, Case, world_files

__all__ = ["TIME_BOUND", "Outcome", "Tally", "changes", "describe", "run_case", "unlocated"]

TIME_BOUND = 20.0
"""Seconds a case may take (compare: :data:`COMPARE_BOUND`)."""
COMPARE_BOUND = 60.0
MEMORY = 2 * 2**30
"""Address space of a subprocess case: an alias bomb ends in MemoryError (a traceback), not in swapping."""
FILE_SIZE = 256 * 2**20

RMASIM = Path(sys.executable).with_name("rmasim")
_VALUE_OPTIONS = {"--seed", "--set", "--out", "--grid", "--seeds", "--jobs", "--scheduler", "--keys", "--suite"}
_VALUE_OPTIONS |= {"--baseline"}
_NAMED_OPTIONS = ("--set", "--grid", "--out", "--seed", "--seeds", "--baseline", "--suite", "--keys", "--jobs")
_NAMED_OPTIONS += ("--scheduler",)
_AT = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?P<col>\d+): \S")
_SANDBOX = r"""
set -e
mount --make-rprivate /
mount -o remount,bind,ro /
for dir in "$FUZZ_ROOT" "$MPLCONFIGDIR"; do mount --bind "$dir" "$dir"; mount -o remount,bind,rw "$dir"; done
cd "$FUZZ_WORK"
exec "$@"
"""


@dataclass(frozen=True)
class Outcome:
    """What one case did: its exit status (None: killed at the time bound) and what was wrong with it."""

    case: Case
    argv: tuple[str, ...]
    exit: int | None
    seconds: float
    stdout: str
    stderr: str
    failures: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.failures

    def record(self) -> dict[str, object]:
        """A JSON-able record: the command, its files (head), the verdict and the end of its output."""
        files = [
            {"path": p, "bytes": len(d), "head": d[:300].decode("utf-8", "backslashreplace")}
            for p, d in self.case.files
        ]
        return {
            "argv": list(self.case.argv),
            "files": files,
            "exit": self.exit,
            "seconds": round(self.seconds, 2),
            "failures": list(self.failures),
            "stderr": self.stderr[-2000:],
            "stdout": self.stdout[-500:],
        }


@dataclass
class Tally:
    """Counts over many outcomes: by exit status, and by kind of failure."""

    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def count(self, kind: str) -> int:
        return sum(any(f.split(":")[0] == kind for f in o.failures) for o in self.outcomes)

    def table(self) -> str:
        """A Markdown table to paste into a closing note."""
        exits = Counter("timeout" if o.exit is None else str(o.exit) for o in self.outcomes)
        other = sum(n for code, n in exits.items() if code not in {"0", "1", "2", "timeout"})
        head = ["cases", "exit 0", "exit 1", "exit 2", "other exit", "tracebacks", "past the bound", "unlocated"]
        head += ["files touched", "stray files"]
        row = [len(self.outcomes), exits["0"], exits["1"], exits["2"], other, self.count("traceback")]
        row += [self.count("timeout"), self.count("unlocated"), self.count("touched"), self.count("stray")]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), "| " + " | ".join(map(str, row)) + " |"]
        slowest = max((o.seconds for o in self.outcomes), default=0.0)
        total = sum(o.seconds for o in self.outcomes)
        distinct = len({(o.case.argv, o.case.files) for o in self.outcomes})
        lines.append(f"\n{len(self.outcomes)} cases ({distinct} distinct) in {total:.0f} s (slowest {slowest:.1f} s)")
        return "\n".join(lines)

    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def write(self, path: Path) -> None:
        """Every failing case as one JSON line, and the table, next to it."""
        path.write_text("".join(json.dumps(o.record()) + "\n" for o in self.failed()))
        path.with_suffix(".md").write_text(self.table() + "\n")


# --- the world --------------------------------------------------------------------------------------------


def _fill(text: str, root: Path) -> str:
    return text.replace("{root}", str(root))


def build_world(root: Path, case: Case) -> Path:
    """Lay out the world and the case's files under ``root``; return the working directory."""
    work = root / "box" / "work"
    for rel, data in [*world_files().items(), *case.files]:
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.replace(b"{root}", str(root).encode()))
    for rel in WORLD_DIRS:
        (work / rel).mkdir(parents=True, exist_ok=True)
    for rel, target in WORLD_LINKS.items():
        (work / rel).symlink_to(target)
    (root / "tmp").mkdir()
    return work


def snapshot(root: Path) -> dict[str, tuple[str, str]]:
    """Every entry under ``root`` but tmp/: (kind, sha256 of a file | a link's target)."""
    entries: dict[str, tuple[str, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == root:
            dirnames[:] = [d for d in dirnames if d != "tmp"]
        for name in dirnames + filenames:
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                entries[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                entries[rel] = ("dir", "")
            else:
                try:
                    entries[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
                except OSError as error:
                    entries[rel] = ("file", f"unreadable: {error}")
    return entries


def changes(
    before: dict[str, tuple[str, str]], after: dict[str, tuple[str, str]], case: Case, exit: int | None, usage: bool
) -> list[str]:
    """``touched: PATH`` for a world entry changed or gone, ``stray: PATH`` for an entry that should not exist."""
    writable = {f"box/work/{PurePosixPath(w)}" for w in case.writable}
    found = [f"touched: {p}" for p, v in before.items() if p not in writable and after.get(p) != v]
    if exit is None:
        return found
    for rel, (kind, _) in after.items():
        if rel in before or rel in writable:
            continue
        parent = str(PurePosixPath(rel).parent)
        empty = parent in before and not any(p.startswith(parent + "/") for p in before)  # may become a report
        existed = (parent in before and not empty) or parent == "."
        if exit == 2 or usage:
            found.append(f"stray: {rel} (written on exit {exit})")
        elif existed and (kind != "dir" or PurePosixPath(rel).name.startswith(".")):
            found.append(f"stray: {rel} (a {kind} left in a directory that existed before)")
        elif existed and not rel.startswith("box/work/"):
            found.append(f"stray: {rel} (outside the working directory)")
    return found


# --- judging ----------------------------------------------------------------------------------------------


def _inputs(argv: tuple[str, ...]) -> tuple[set[str], set[str], set[str]]:
    """(scenario and baseline files as typed, paths named by --baseline/--suite, suite directories)."""
    files: set[str] = set()
    named: set[str] = set()
    options: dict[str, list[str]] = {}
    tokens = list(argv[1:])
    while tokens:
        token = tokens.pop(0)
        name, eq, value = token.partition("=")
        if token.startswith("--") and name in _VALUE_OPTIONS:
            if not eq:
                value = tokens.pop(0) if tokens else ""
            options.setdefault(name, []).append(value)
        elif not token.startswith("-") or token in ("-", ""):
            files |= {token, str(Path(token))}  # typer makes a Path of it: '' is printed as '.'

    verb = argv[0] if argv else ""
    suites = set(options.get("--suite", ["scenarios"] if verb == "check" else []))
    baselines = options.get("--baseline", ["reports/baseline.json"] if verb == "check" else [])
    files |= set(baselines)
    named |= {str(Path(v)) for v in [*baselines, *suites]} | set(baselines) | suites
    return files, named, suites


def _located(line: str, files: set[str], named: set[str], suites: set[str]) -> bool:
    if (match := _AT.match(line)) is not None:
        path = match["file"]
        if path in files:
            return True
        prefixes = {"" if s in ("", ".") else s.rstrip("/") + "/" for s in suites}
        if path.endswith(".yaml") and any(path.startswith(p) and "/" not in path[len(p) :] for p in prefixes):
            return True
    if any(
        line.startswith(option) and line[len(option) : len(option) + 1] in (" ", "=", ":") for option in _NAMED_OPTIONS
    ):
        return True
    return any(path and line.startswith(f"{path}:") for path in named)


def is_usage_error(stdout: str, stderr: str) -> bool:
    """click's own usage error (``Usage: rmasim ...`` and/or an ``Error`` box), or the help of a bare ``rmasim``."""
    lines = [line.strip() for line in (stdout + "\n" + stderr).splitlines()]
    return any(line.startswith(("Usage: rmasim", "╭─ Error")) for line in lines)


def unlocated(argv: tuple[str, ...], stdout: str, stderr: str) -> list[str]:
    """The lines of an exit-2 stderr that say nowhere what they are about (``["(no message)"]`` if none)."""
    if is_usage_error(stdout, stderr):
        return []
    lines = [line for line in stderr.splitlines() if line.strip()]
    if not lines:
        return ["(no message)"]
    files, named, suites = _inputs(argv)
    return [line for line in lines if not _located(line, files, named, suites)]


def _verdict(
    argv: tuple[str, ...], exit: int | None, stdout: str, stderr: str, bound: float, found: list[str]
) -> tuple[str, ...]:
    """Every failure of one outcome: traceback, timeout, an exit status not 0/1/2, unlocated, touched, stray."""
    failures: list[str] = []
    if "Traceback (most recent call last)" in stdout + stderr:
        last = [line for line in stderr.splitlines() if line.strip()][-1:] or ["?"]
        failures.append(f"traceback: {last[0][:200]}")
    if exit is None:
        failures.append(f"timeout: killed after {bound:.0f} s")
    elif exit not in (0, 1, 2):
        failures.append(f"exit: {exit}")
    elif exit == 2 and (lines := unlocated(argv, stdout, stderr)):
        failures.append(f"unlocated: {lines[0][:200]}")
    return (*failures, *found)


# --- running ----------------------------------------------------------------------------------------------


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE, FILE_SIZE))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


_sandbox_works: bool | None = None


def sandboxed() -> bool:
    """Whether subprocess cases run with everything but their directory read-only (root, mount namespaces)."""
    global _sandbox_works
    if _sandbox_works is None:
        probe = ["unshare", "--mount", "sh", "-c", "mount --make-rprivate / && mount -o remount,bind,ro /"]
        try:
            ok = os.geteuid() == 0 and shutil.which("unshare") is not None
            _sandbox_works = ok and subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.SubprocessError):
            _sandbox_works = False
    return _sandbox_works


def _environment(root: Path, work: Path, mpl: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "HYPOTHESIS", "COV_"))}
    env |= {"FUZZ_ROOT": str(root), "FUZZ_WORK": str(work), "MPLCONFIGDIR": str(mpl), "TMPDIR": str(root / "tmp")}
    env |= {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}
    return env


def _subprocess(argv: tuple[str, ...], root: Path, work: Path, bound: float, mpl: Path) -> tuple[int | None, str, str]:
    command = [str(RMASIM)] if RMASIM.exists() else [sys.executable, "-m", "rmasim"]
    command += list(argv)
    if sandboxed():
        command = ["unshare", "--mount", "sh", "-c", _SANDBOX, "sh", *command]
    proc = subprocess.Popen(
        command,
        cwd=work,
        env=_environment(root, work, mpl),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_limits,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=bound)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


class _Deadline(BaseException):
    """Raised by SIGALRM in an in-process case; a BaseException, so CliRunner does not swallow it."""


def _in_process(argv: tuple[str, ...], work: Path, bound: float) -> tuple[int | None, str, str]:
    from typer.testing import CliRunner

    from rmasim.cli import app

    def alarm(signum: int, frame: object) -> None:
        raise _Deadline

    previous = signal.signal(signal.SIGALRM, alarm)
    cwd = os.getcwd()
    os.chdir(work)
    signal.setitimer(signal.ITIMER_REAL, bound)
    try:
        result = CliRunner().invoke(app, list(argv))
    except _Deadline:
        return None, "", ""
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(cwd)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return result.exit_code, result.stdout, stderr


def run_case(case: Case, root: Path, *, in_process: bool = False, mpl: Path | None = None) -> Outcome:
    """Build the world in ``root`` (an empty directory), run the case there and judge it."""
    assert not (in_process and case.hazard), "a hazard runs only in a subprocess, with its memory bounded"
    work = build_world(root, case)
    argv = tuple(_fill(arg, root) for arg in case.argv)
    bound = COMPARE_BOUND if case.verb == "compare" else TIME_BOUND
    before = snapshot(root)
    start = time.perf_counter()
    if in_process:
        exit, stdout, stderr = _in_process(argv, work, bound)
    else:
        mpl = mpl or root / "tmp"
        exit, stdout, stderr = _subprocess(argv, root, work, bound, mpl)
    seconds = time.perf_counter() - start
    usage = exit == 2 and is_usage_error(stdout, stderr)
    found = changes(before, snapshot(root), case, exit, usage)
    failures = _verdict(argv, exit, stdout, stderr, bound, found)
    return Outcome(case, argv, exit, seconds, stdout[-20_000:], stderr[-20_000:], failures)


def describe(outcomes: Iterable[Outcome]) -> str:
    """The failing outcomes, one paragraph each: the command, the verdict, the end of stderr."""
    parts = []
    for o in outcomes:
        if o.ok:
            continue
        files = ", ".join(f"{p} ({len(d)} bytes)" for p, d in o.case.files)
        tail = "\n    ".join(o.stderr.strip().splitlines()[-3:])
        parts.append(
            f"rmasim {' '.join(map(repr, o.argv))}  [{files}]\n  exit {o.exit}, {o.seconds:.1f} s: "
            f"{'; '.join(o.failures)}\n    {tail}"
        )
    return "\n".join(parts)
