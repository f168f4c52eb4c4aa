"""Every writer refuses to replace what rmasim did not write: the reproducers of issue 11, each with a checksum of
the whole tree before and after (nothing outside the report directory changes)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rmasim.cli import app

TINY = """\
name: tiny
duration: 2m
fleet:
  box: {count: 2, services: {upload: {port: 8103, capacity: 4}}}
workload:
  - {service: upload, rate: 2/s}
faults:
  - {at: 1m, action: crash, target: box/1}
"""
runner = CliRunner()


def tree_digest(root: Path, skip: str | None = None) -> str:
    """sha256 over every path under ``root`` (but ``skip``): its name, type, mode and content."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if skip is not None and rel.parts[0] == skip:
            continue
        info = path.lstat()
        digest.update(f"{rel}\0{stat.S_IFMT(info.st_mode)}\0{stat.S_IMODE(info.st_mode)}\0".encode())
        if stat.S_ISREG(info.st_mode):
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A working directory holding precious things: a file, a fifo (a device node's stand-in), a directory of
    notes, a scenarios/ folder and a reports/ folder with a baseline, as in a checkout."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "precious.txt").write_text("do not touch")
    os.mkfifo(tmp_path / "device")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "thesis.tex").write_text("years of work")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "tiny.yaml").write_text(TINY)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "baseline.json").write_text('{"format": 1}')
    (tmp_path / "latin1.json").write_bytes(b'{"format": 1, "seeds": [0], "note": "caf\xe9"}')
    (tmp_path / "nan.json").write_text('{"format": 1, "variant_by": "coordinator.preset", "seeds": [0], '
                                       '"entries": [{"scenario": "tiny", "variant": "baseline", "key": "x", '
                                       '"mean": NaN, "half_width": 0, "n": 3, "better": "higher"}]}')  # fmt: skip
    return tmp_path


def invoke(*args: object):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


S = "scenarios/tiny.yaml"
REFUSED = [
    (["run", S, "--out", "precious.txt"], "--out precious.txt: exists and is not a directory"),
    (["run", S, "--out", "device"], "--out device: exists and is not a directory"),
    (["run", S, "--out", "notes"], "--out notes: is a directory that is not an rmasim report"),
    (["run", S, "--out", "reports"], "--out reports: is a directory that is not an rmasim report"),
    (["run", S, "--out", "precious.txt/sub"], "--out precious.txt/sub: cannot be created: "),
    (["run", S, "--out", "/proc/x"], "--out /proc/x: cannot be created in /proc"),
    (["run", S, "--out="], "--out .: is the current directory"),
    (["run", S, "--out", "."], "--out .: is the current directory"),
    (["sweep", S, "--out", "precious.txt"], "--out precious.txt: exists and is not a directory"),
    (["sweep", S, "--out", "notes"], "--out notes: is a directory that is not an rmasim report"),
    (["compare", S, "--seeds", "2", "--out", "notes"], "--out notes: is a directory that is not an rmasim report"),
    (["explore", S, "--runs", "1", "--out", "precious.txt"], "--out precious.txt: exists and is not a directory"),
    (["explore", S, "--runs", "1", "--out", "notes"], "--out notes: is a directory that is not an rmasim report"),
    (["explore", S, "--runs", "1", "--out", "."], "--out .: is the current directory"),
    (["shrink", S, "--property", "settles", "--out", "notes"], "--out notes: is a directory that is not an rmasim"),
    (["shrink", S, "--property", "settles", "--out", "precious.txt"], "--out precious.txt: exists and is not a"),
    (["check", "--suite", "scenarios", "--out", "precious.txt"], "--out precious.txt: exists and is not a"),
    (["check", "--suite", "scenarios", "--out", "notes"], "--out notes: is a directory that is not an rmasim"),
    (["check", "--suite", "scenarios", "--update-baseline", "--baseline", "precious.txt"],
     "--baseline precious.txt: exists and is not an rmasim baseline file"),
    (["check", "--suite", "scenarios", "--baseline", "latin1.json"], "latin1.json:1:41: not UTF-8 text (byte 0xe9)"),
    (["check", "--suite", "scenarios", "--baseline", "nan.json"], "nan.json: NaN is not a number a baseline may hold"),
    (["check", "--suite", "scenarios", "--baseline", "notes"], "notes: is a directory, not a baseline"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), REFUSED, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_a_refused_target_is_one_line_exit_2_and_nothing_changes(world, args, message):
    if "/proc/x" in args and not Path("/proc/self").exists():
        pytest.skip("no /proc here")
    before = tree_digest(world)
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(message), result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert tree_digest(world) == before


@pytest.mark.parametrize("name", ["../scenarios", ".", "..", "reports/../notes"])
def test_a_scenario_name_never_points_outside_the_report_root(world, name):
    (world / "scenarios" / "named.yaml").write_text(TINY.replace("name: tiny", f'name: "{name}"'))
    before = tree_digest(world)
    result = invoke("run", "scenarios/named.yaml")
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert tree_digest(world) == before


def test_a_bad_seed_is_a_usage_error(world):
    for seed in ("-1", str(2**63), "x"):
        result = invoke("run", S, "--seed", seed)
        assert result.exit_code == 2 and "Invalid value for '--seed'" in result.output, result.output
    assert not (world / "reports" / "tiny").exists()


def test_a_report_is_written_next_to_the_precious_files_and_replaced_on_a_rerun(world):
    before = tree_digest(world, skip="reports")
    assert invoke("run", S, "-q").exit_code == 0
    assert invoke("run", S, "-q", "--seed", "3").exit_code == 0
    report = world / "reports" / "tiny"
    assert (report / "summary.json").exists() and (report / ".rmasim-report").exists()
    assert sorted(p.name for p in (world / "reports").iterdir()) == ["baseline.json", "tiny"]
    assert tree_digest(world, skip="reports") == before
    assert (world / "reports" / "baseline.json").read_text() == '{"format": 1}'


def test_a_sweep_adds_to_its_own_report_and_resumes(world):
    before = tree_digest(world, skip="out")
    assert invoke("sweep", S, "--seeds", "2", "--out", "out").exit_code == 0
    assert invoke("sweep", S, "--seeds", "3", "--out", "out", "--resume").exit_code == 0
    assert len(list((world / "out" / "runs").glob("*.arrow"))) == 3
    assert (world / "out" / "results.parquet").exists() and (world / "out" / ".rmasim-report").exists()
    assert tree_digest(world, skip="out") == before
