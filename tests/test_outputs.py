"""rmasim.outputs: what a writer may replace, atomic swaps, and the cleaning of a killed writer's leftovers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rmasim.outputs import (
    MARKER,
    OutputError,
    check_target,
    clean_leftovers,
    is_report,
    open_report,
    replace_report,
    report_path,
    write_atomic,
)


def test_a_missing_path_an_empty_directory_and_a_report_may_be_written(tmp_path):
    assert check_target(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking creates nothing
    (tmp_path / "empty").mkdir()
    check_target(tmp_path / "empty")
    with replace_report(tmp_path / "report", "run") as tmp:
        (tmp / "a.txt").write_text("a")
    check_target(tmp_path / "report")
    assert is_report(tmp_path / "report") and (tmp_path / "report" / "a.txt").read_text() == "a"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("precious"), "exists and is not a directory"),
        (lambda p: os.mkfifo(p), "exists and is not a directory"),
        (lambda p: p.symlink_to(p.parent), "is a symbolic link"),
        (
            lambda p: (p.mkdir(), (p / "notes.txt").write_text("precious")),
            "is a directory that is not an rmasim report",
        ),
        (lambda p: (p.mkdir(), (p / MARKER).write_text("not json")), "is a directory that is not an rmasim report"),
    ],
    ids=["file", "fifo", "symlink", "directory", "forged-marker"],
)
def test_anything_else_is_refused_before_a_byte_is_written(tmp_path, make, message):
    target = tmp_path / "target"
    make(target)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(OutputError, match=message) as error, replace_report(target, "run") as tmp:
        (tmp / "x").write_text("x")
    assert str(error.value).startswith(f"{target}: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_the_current_directory_and_its_parents_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for path in (".", "", "..", str(tmp_path), "/"):
        with pytest.raises(OutputError, match=r"current directory|empty path"):
            check_target(path)


def test_a_path_below_a_file_or_in_proc_cannot_be_created(tmp_path):
    (tmp_path / "f").write_text("precious")
    with pytest.raises(OutputError, match="is not a directory"):
        check_target(tmp_path / "f" / "sub")
    if Path("/proc/self").exists():
        with pytest.raises(OutputError, match="cannot be created in /proc"):
            check_target("/proc/rmasim-test")
    assert (tmp_path / "f").read_text() == "precious"


def test_a_failed_write_leaves_the_previous_report_and_no_siblings(tmp_path):
    target = tmp_path / "out"
    with replace_report(target, "run") as tmp:
        (tmp / "summary.json").write_text("first")
    with pytest.raises(RuntimeError), replace_report(target, "run") as tmp:
        (tmp / "summary.json").write_text("second")
        raise RuntimeError("the run failed")
    assert (target / "summary.json").read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_report_replaced_is_replaced_whole(tmp_path):
    target = tmp_path / "out"
    with replace_report(target, "run") as tmp:
        (tmp / "old.txt").write_text("old")
    with replace_report(target, "run") as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_scenario_names_become_one_path_component_or_an_error(tmp_path):
    assert report_path(tmp_path, "crash") == tmp_path / "crash"
    for name in ("../scenarios", ".", "..", "a/b", "", ".hidden", "x" * 200):
        with pytest.raises(OutputError, match="not a safe directory name"):
            report_path(tmp_path, name)


def test_open_report_creates_a_marked_directory_or_keeps_adding_to_one(tmp_path):
    target = open_report(tmp_path / "sweep", "sweep")
    assert is_report(target)
    (target / "runs").mkdir()
    assert open_report(target, "sweep") == target and (target / "runs").is_dir()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(OutputError, match="not an rmasim report"):
        open_report(tmp_path / "mine", "sweep")


def test_write_atomic_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "results.csv"
    write_atomic(path, lambda tmp: Path(tmp).write_text("v1"))

    def fail(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise ValueError("disk full")

    with pytest.raises(ValueError, match="disk full"):
        write_atomic(path, fail)
    assert path.read_text() == "v1" and [p.name for p in tmp_path.iterdir()] == ["results.csv"]


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_only_a_dead_writers_marked_leftovers_are_cleaned(tmp_path):
    target = tmp_path / "out"
    dead, alive = _dead_pid(), os.getpid()
    leftovers = {}
    for label, pid, marked in [("dead", dead, True), ("alive", alive, True), ("unmarked", dead, False)]:
        path = tmp_path / f".out.rmasim-new-{pid}-{label}"
        path.mkdir()
        if marked:
            (path / MARKER).write_text('{"kind": "run"}')
        leftovers[label] = path
    (tmp_path / ".other.rmasim-new-1-x").mkdir()
    assert clean_leftovers(target) == [leftovers["dead"]]
    assert leftovers["alive"].exists() and leftovers["unmarked"].exists()
    assert (tmp_path / ".other.rmasim-new-1-x").exists()


def test_a_killed_writer_leaves_a_sibling_that_the_next_writer_removes(tmp_path):
    """A writer killed mid-report (os._exit inside the block) leaves its temporary sibling; the next writer of the
    same target removes it and writes its own report."""
    target = tmp_path / "out"
    code = (
        "import os, sys\nfrom rmasim.outputs import replace_report\n"
        f"with replace_report({str(target)!r}, 'run') as tmp:\n"
        "    (tmp / 'half.txt').write_text('half')\n    os._exit(9)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 9
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".out.rmasim-new-")
    with replace_report(target, "run") as tmp:
        (tmp / "summary.json").write_text("{}")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_files_put_into_a_target_after_its_last_check_stay(tmp_path):
    """The swap judges what it moved aside again: a target filled after its last check goes back untouched, the
    swap fails, and the new report's directory is left for the caller to remove (``replace_report`` does)."""
    from rmasim.outputs import _swap_in

    target, tmp = tmp_path / "out", tmp_path / ".out.rmasim-new-1-x"
    target.mkdir()
    (target / "thesis.tex").write_text("precious")
    tmp.mkdir()
    with pytest.raises(OutputError, match="changed while the report was written"):
        _swap_in(tmp, target)
    assert [p.name for p in target.iterdir()] == ["thesis.tex"] and (target / "thesis.tex").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.rmasim-new-1-x", "out"]


def test_reports_get_the_modes_of_ordinary_files_under_the_umask(tmp_path):
    """mkdtemp/mkstemp make private 0700/0600 entries; a report is created as mkdir/open would (issue 16)."""
    old = os.umask(0o027)
    try:
        with replace_report(tmp_path / "out", "run") as tmp:
            (tmp / "summary.json").write_text("{}")
        write_atomic(tmp_path / "out" / "extra.json", lambda name: Path(name).write_text("{}"))
    finally:
        os.umask(old)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "out" / "extra.json").stat().st_mode & 0o777 == 0o640
