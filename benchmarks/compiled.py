"""Benchmark (not a test): what the optional mypyc build buys (issue 17, build 2), and that it changes nothing.

    .venv/bin/python benchmarks/compiled.py                          # fleet-day, first hour, 3 pairs
    .venv/bin/python benchmarks/compiled.py --duration 24h --pairs 1  # the whole day, its faults too
    .venv/bin/python benchmarks/compiled.py --duration 10m --pairs 1 --check-seeds 1  # and `rmasim check`

Builds this tree's wheel with ``RMASIM_MYPYC=1`` (``setup.py``: the modules of ``COMPILED`` as C extensions; mypy
and a C compiler needed, about a minute) into a temporary directory, then runs the fleet-day slice in fresh
processes, pure Python (this tree) and compiled (the unpacked wheel) alternately, back to back so the machine's
load moves both alike. Prints each pair's wall times, the median ratio, and whether every run's summary has the
same sha256 (it must: the compiled modules are the same code; exit 1 otherwise, so `.ci/run` can run it). With
``--check-seeds N`` it then runs ``rmasim check`` on the compiled build: every shipped scenario under every preset,
every summary key against the committed baseline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: One run in a fresh process: wall seconds of rmasim.run and the sha256 of the summary's JSON.
CHILD = """
import hashlib, json, sys, time
import rmasim
from rmasim.runtime import driver
sys.path.insert(0, sys.argv[3])
from slices import slice_of
scenario = slice_of(rmasim.load_scenario(sys.argv[1]), sys.argv[2])
start = time.perf_counter()
result = rmasim.run(scenario)
wall = time.perf_counter() - start
digest = hashlib.sha256(json.dumps(result.summary, sort_keys=True, default=str).encode()).hexdigest()
print(wall, digest, driver.__file__.endswith(".so"))
"""


def build_compiled(into: Path) -> Path:
    """This tree's wheel built with RMASIM_MYPYC=1 (from a copy of its tracked files, so the build writes nothing
    here), unpacked under ``into``; returns the directory to import from. Exits when the wheel came out pure
    (mypyc or the compiler failed: setup.py said why)."""
    source, dist = into / "src", into / "dist"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q", "-w", str(dist), str(source)],
        capture_output=True,
        text=True,
        env={**os.environ, "RMASIM_MYPYC": "1"},
    )
    said = [line.strip() for line in build.stderr.splitlines() if line.strip().startswith("rmasim:")]
    if build.returncode != 0 or said:
        sys.exit(f"the compiled build failed: {' '.join(said) or build.stderr[-2000:]}")
    wheel = next(dist.glob("rmasim-*.whl"))
    if wheel.name.endswith("-none-any.whl"):
        sys.exit(f"the wheel was built pure ({wheel.name})")
    target = into / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def one_run(path: Path, scenario: Path, duration: str, cwd: Path) -> tuple[float, str, bool]:
    """One run importing rmasim from ``path`` (the child's working directory ``cwd`` holds no rmasim: ``python -c``
    puts it first on sys.path)."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(scenario.resolve()), duration, str(Path(__file__).parent)],
        check=True,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(path)},
    ).stdout.split()
    return float(out[0]), out[1], out[2] == "True"


def check_compiled(path: Path, seeds: int, scratch: Path) -> subprocess.CompletedProcess[str]:
    """``rmasim check`` (the shipped suite, the committed baseline) with rmasim imported from ``path``."""
    command = [sys.executable, "-m", "rmasim", "check", "--seeds", str(seeds), "--jobs", "2",
               "--baseline", str(ROOT / "reports" / "baseline.json"), "--out", str(scratch / "check")]  # fmt: skip
    return subprocess.run(
        command, capture_output=True, text=True, cwd=scratch, env={**os.environ, "PYTHONPATH": str(path)}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "fleet" / "fleet_day.yaml")
    parser.add_argument("--duration", default="1h", help="the first part of the run to time (its faults in it kept)")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument(
        "--check-seeds", type=int, default=0, metavar="N",
        help="then run `rmasim check --seeds N` on the compiled build against reports/baseline.json (every shipped "
        "scenario and preset; it must find every key identical)",
    )  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rmasim-compiled-") as scratch:
        compiled = build_compiled(Path(scratch))
        ratios, digests = [], set()
        for pair in range(args.pairs):
            pure_wall, pure_digest, pure_native = one_run(ROOT, args.scenario, args.duration, Path(scratch))
            fast_wall, fast_digest, fast_native = one_run(compiled, args.scenario, args.duration, Path(scratch))
            assert not pure_native and fast_native, "the two trees did not import as expected"
            digests |= {pure_digest, fast_digest}
            ratios.append(pure_wall / fast_wall)
            print(f"pair {pair + 1}   pure {pure_wall:6.2f} s   compiled {fast_wall:6.2f} s   {ratios[-1]:.2f}x")
        print(f"scenario    {args.scenario.name}, first {args.duration}")
        print(f"speedup     {statistics.median(ratios):.2f}x (median of {len(ratios)} pairs)")
        print(f"summaries   {'identical' if len(digests) == 1 else 'DIFFER'} (sha256 {sorted(digests)[0][:16]}...)")
        checked_ok = True
        if args.check_seeds:
            checked = check_compiled(compiled, args.check_seeds, Path(scratch))
            said = (checked.stdout + checked.stderr).strip().splitlines()
            verdict = [line for line in said if line.startswith("check:")] or said[-1:] or [str(checked.returncode)]
            print(f"check       {verdict[-1]}")
            checked_ok = checked.returncode == 0
    if len(digests) != 1 or not checked_ok:
        sys.exit(1)  # .ci/run runs this: the compiled build must give the same bytes


if __name__ == "__main__":
    main()
