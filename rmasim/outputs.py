"""Where rmasim writes: report directories that never destroy what rmasim did not write.

Every path a user names (``--out``, ``--baseline``) may hold something precious, so every writer goes through
this module and these rules hold for all of them:

* A **report** is a directory that carries a marker file, :data:`MARKER`, written first into every report.
  rmasim replaces or adds to an existing directory only when it is a report, or empty. Anything else at the
  target - a file, a device such as ``/dev/null``, a symbolic link, a directory of someone's files, the current
  directory or one of its ancestors - is refused with an :class:`OutputError` before anything is written.
* A whole report (``run``, ``check``) is written into a fresh temporary sibling and renamed into place
  (:func:`replace_report`): a crash or a bad input leaves the previous report as it was. A growing report
  (``sweep``, ``compare``: one file per finished run, for ``--resume``) is opened in place (:func:`open_report`)
  and each of its files is written to a temporary name and renamed (:func:`write_atomic`).
* The temporary siblings are named ``.NAME.rmasim-new-PID-*`` and ``.NAME.rmasim-old-PID-*``; the next writer of
  the same target removes those whose process is gone and that carry the marker, so a killed writer's leftovers
  do not pile up, and a live writer's are never touched.
* A scenario's ``name`` becomes a default path only as one safe path component under the report root
  (:func:`report_path`).

Nothing here imports the rest of rmasim: every layer that writes may use it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "MARKER",
    "OutputError",
    "check_target",
    "is_report",
    "open_report",
    "replace_report",
    "report_path",
    "write_atomic",
]

#: The file every report directory carries; its presence is what lets rmasim replace the directory.
MARKER = ".rmasim-report"

_SAFE_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class OutputError(Exception):
    """A target rmasim refuses to write, or could not write; ``str()`` is ``PATH: why``."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        super().__init__(os.fspath(path), message)
        self.path = os.fspath(path)
        self.message = message

    def __str__(self) -> str:
        return f"{self.path or repr(self.path)}: {self.message}"


def is_report(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a directory (not a link) holding a regular :data:`MARKER` file written by rmasim."""
    marker = Path(path) / MARKER
    try:
        if Path(path).is_symlink() or not stat.S_ISREG(marker.lstat().st_mode):
            return False
        return "kind" in json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def report_path(root: str | os.PathLike[str], name: str) -> Path:
    """``root/name`` for a default report location; ``name`` must be one safe path component (no ``/``, not
    ``.`` or ``..``, not hidden), so a scenario name can never point outside ``root``."""
    if not _SAFE_COMPONENT.fullmatch(name) or name in {".", ".."}:
        raise OutputError(Path(root) / name, f"the name {name!r} is not a safe directory name")
    return Path(root) / name


def check_target(path: str | os.PathLike[str]) -> Path:
    """Raise :class:`OutputError` unless a report may be written at ``path``; return it as given.

    Allowed: a path that does not exist under a writable directory, an empty directory, an rmasim report.
    """
    target = Path(path)
    if os.fspath(path) == "":
        raise OutputError(path, "an empty path; name a directory for the report")
    absolute = Path(os.path.abspath(target))
    cwd = Path.cwd()
    if absolute == cwd or absolute in cwd.parents:
        raise OutputError(path, "is the current directory or one of its parents; name a directory for the report")
    try:
        mode = target.lstat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        _check_creatable(target, absolute)
        return target
    except OSError as exc:
        raise OutputError(path, f"cannot be inspected: {exc.strerror or exc}") from None
    if stat.S_ISLNK(mode):
        raise OutputError(path, "is a symbolic link; rmasim writes a report directory, not through links")
    if not stat.S_ISDIR(mode):
        raise OutputError(path, "exists and is not a directory; rmasim writes a report directory here")
    if not is_report(target) and any(target.iterdir()):
        raise OutputError(
            path,
            f"is a directory that is not an rmasim report (it has no {MARKER} file); rmasim replaces only its "
            "own reports: choose another directory, or empty this one",
        )
    return target


def _check_creatable(target: Path, absolute: Path) -> None:
    """The nearest existing ancestor must be a directory in which this process can create a directory."""
    ancestor = absolute.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(target, f"cannot be created: {ancestor} is not a directory")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".rmasim-probe-", dir=ancestor))
    except OSError as exc:
        raise OutputError(target, f"cannot be created in {ancestor}: {exc.strerror or exc}") from None


def _write_marker(directory: Path, kind: str) -> None:
    (directory / MARKER).write_text(json.dumps({"kind": kind, "writer": "rmasim"}) + "\n", encoding="utf-8")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(target: Path) -> list[Path]:
    """Remove the temporary siblings of ``target`` left by killed writers (their process is gone and they carry
    the marker); return what was removed."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.rmasim-(?:new|old)-(\d+)-")
    removed: list[Path] = []
    parent = target.parent if str(target.parent) else Path(".")
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        leftover = match and entry.is_dir() and not entry.is_symlink() and (entry / MARKER).is_file()
        if leftover and not _pid_alive(int(match.group(1))):  # type: ignore[union-attr]
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _as_created(path: str | os.PathLike[str], mode: int) -> None:
    """Give a temporary file or directory (``mkstemp``/``mkdtemp`` make them private, 0600/0700) the mode an
    ordinary ``open``/``mkdir`` would: ``mode`` less the process umask, so a report reads like any other file."""
    os.chmod(path, mode & ~_umask())


def _failed(path: Path, exc: OSError) -> OutputError:
    return OutputError(path, f"cannot be written: {exc.strerror or exc}")


@contextmanager
def replace_report(path: str | os.PathLike[str], kind: str) -> Iterator[Path]:
    """``with replace_report(out, "run") as tmp:`` write the report's files into ``tmp``; on success it replaces
    ``out`` whole (which must pass :func:`check_target`), on an exception ``out`` is left as it was."""
    target = check_target(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.rmasim-new-{os.getpid()}-", dir=target.parent))
        _as_created(tmp, 0o777)
        _write_marker(tmp, kind)
    except OSError as exc:
        raise _failed(target, exc) from None
    try:
        yield tmp
        check_target(target)  # still safe to replace (nobody put a file there meanwhile)
        _swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_in(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; an existing report (or empty directory) there is moved aside first and
    removed after, and put back if the second rename fails. What was moved aside is judged again before anything
    is removed: should someone have put files into the target since it was checked, it goes back untouched and
    the write fails."""
    old = None
    try:
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.rmasim-old-{os.getpid()}-", dir=target.parent))
            os.rmdir(old)
            os.replace(target, old)
            if not (is_report(old) or not any(old.iterdir())):
                os.replace(old, target)
                raise OutputError(target, "changed while the report was written: left as it is")
        os.replace(tmp, target)
    except OSError as exc:
        if old is not None and old.exists() and not target.exists():
            os.replace(old, target)
        raise _failed(target, exc) from None
    if old is not None:
        if is_report(old):
            shutil.rmtree(old, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):  # the empty directory it was; never removed with anything in it
                os.rmdir(old)


def open_report(path: str | os.PathLike[str], kind: str) -> Path:
    """A report directory to add files to in place (a sweep's store): created with its marker when missing
    (atomically: nobody ever sees it without one), checked with :func:`check_target` when present."""
    target = check_target(path)
    if is_report(target):
        return target
    with replace_report(target, kind):
        pass
    return target


def write_atomic(path: str | os.PathLike[str], write: Callable[[str], object]) -> None:
    """Call ``write(tmp)`` to write a temporary file beside ``path``, then rename it to ``path``; ``path`` must
    lie in a report directory, or be a file rmasim wrote (the caller checks which)."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise _failed(target, exc) from None
    try:
        write(tmp)
        _as_created(tmp, 0o666)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _failed(target, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
