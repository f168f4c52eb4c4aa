"""Benchmark suite (not a test): each benchmark timed on this tree and on a base commit, back to back, as ratios.

    .venv/bin/python benchmarks/suite.py                       # against HEAD~1
    .venv/bin/python benchmarks/suite.py --base 8f8e28a --repeat 3 --only mmc,crash_sweep_jobs1
    .venv/bin/python benchmarks/suite.py --with-day            # also the 24 h fleet day (minutes)

Every measurement runs in a fresh interpreter whose ``sys.path`` starts at the tree measured (the base commit is
checked out into a temporary git worktree), alternating base and current so that noise from the rest of the
machine falls on both alike; the table shows the median of each and current / base (below 1: faster now). The
benchmarks: the fleet-day 2 h slice (``scenarios/fleet/fleet_day.yaml``, 100 machines, 20 requests/s), crash.yaml
x 100 seeds through ``sweep`` with 1 and 2 workers (``rmasim.sweep``, and ``rmasim sweep`` from the command line),
the 100-machine balancing run (``benchmarks/balancing_100.yaml`` with ``p2c``), and M/M/5 through the full harness
in customers per second, with ciw's on the same queue (ciw does not change between the trees: its figure shows
the machine's noise).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: name -> Python code printing one JSON object with "seconds" (and any other figures). ``{root}`` is this
#: checkout: both trees run the same scenario files and benchmark helpers, only rmasim's code differs.
BENCHMARKS = {
    "fleet_day_2h": """
import json, time, rmasim
s = rmasim.load_scenario("{root}/scenarios/fleet/fleet_day.yaml").with_overrides({"duration": "2h", "faults": []})
t = time.perf_counter(); r = rmasim.run(s); w = time.perf_counter() - t
print(json.dumps({"seconds": w, "requests": r.summary["routing.requests"]}))
""",
    "crash_sweep_jobs1": """
import json, time, rmasim
t = time.perf_counter(); f = rmasim.sweep(["{root}/scenarios/crash.yaml"], None, range(100), jobs=1)
w = time.perf_counter() - t
print(json.dumps({"seconds": w, "runs_per_minute": len(f) / w * 60}))
""",
    "crash_sweep_jobs2": """
import json, time, rmasim
t = time.perf_counter(); f = rmasim.sweep(["{root}/scenarios/crash.yaml"], None, range(100), jobs=2)
w = time.perf_counter() - t
print(json.dumps({"seconds": w, "runs_per_minute": len(f) / w * 60}))
""",
    "balancing_100": """
import json, time, rmasim
s = rmasim.load_scenario("{root}/benchmarks/balancing_100.yaml").with_overrides({"coordinator.balancer": "p2c"})
t = time.perf_counter(); r = rmasim.run(s); w = time.perf_counter() - t
print(json.dumps({"seconds": w, "requests": r.summary["routing.requests"]}))
""",
    "mmc": """
import json, sys
sys.path.insert(1, "{root}/benchmarks")
import mmc
n, p, w = mmc.harness(5, 2.5, 40000.0, 1)
m, q, v = mmc.with_ciw(5, 2.5, 40000.0, 1)
print(json.dumps({"seconds": w, "customers_per_second": n / w, "ciw_customers_per_second": m / v,
                  "p_wait": p, "ciw_p_wait": q, "erlang_c": mmc.erlang_c(5, 2.5)}))
""",
    "fleet_day": """
import json, time, rmasim
s = rmasim.load_scenario("{root}/scenarios/fleet/fleet_day.yaml")
t = time.perf_counter(); r = rmasim.run(s); w = time.perf_counter() - t
print(json.dumps({"seconds": w, "requests": r.summary["routing.requests"]}))
""",
}

#: The same sweep from the command line (the interpreter's start and imports, the plan, results.parquet included).
CLI_SWEEP = """
import json, subprocess, sys, tempfile, time
with tempfile.TemporaryDirectory() as scratch:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rmasim", "sweep", "{root}/scenarios/crash.yaml", "--seeds", "100",
                    "--jobs", "JOBS", "--out", scratch + "/out"], check=True, capture_output=True)
    w = time.perf_counter() - t
print(json.dumps({"seconds": w, "runs_per_minute": 100 / w * 60}))
"""
BENCHMARKS.update({f"cli_sweep_jobs{jobs}": CLI_SWEEP.replace("JOBS", str(jobs)) for jobs in (1, 2)})

DEFAULT = ["fleet_day_2h", "crash_sweep_jobs1", "crash_sweep_jobs2", "cli_sweep_jobs1", "cli_sweep_jobs2",
           "balancing_100", "mmc"]  # fmt: skip


def measure(tree: Path, name: str) -> dict[str, float]:
    """One run of benchmark ``name`` on ``tree`` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", BENCHMARKS[name].replace("{root}", str(ROOT))],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} on {tree}: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD~1", help="the commit to compare with (default HEAD~1)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--with-day", action="store_true", help="also the 24 h fleet day")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else [*DEFAULT, *(["fleet_day"] if args.with_day else [])]
    sha = subprocess.run(["git", "rev-parse", "--short", args.base], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="rmasim-bench-") as scratch:
        base = Path(scratch) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), sha], cwd=ROOT, check=True)
        try:
            rows = []
            for name in names:
                runs: dict[str, list[dict[str, float]]] = {"base": [], "now": []}
                for _ in range(args.repeat):
                    for label, tree in (("base", base), ("now", ROOT)):
                        runs[label].append(measure(tree, name))
                figures = sorted(set(runs["now"][0]) & set(runs["base"][0]))
                for figure in figures:
                    b = statistics.median(r[figure] for r in runs["base"])
                    n = statistics.median(r[figure] for r in runs["now"])
                    rows.append((name, figure, b, n, n / b if b else float("nan")))
                print(f"{name}: done", file=sys.stderr, flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    print(f"| benchmark | figure | {sha} | now | now / {sha} |")
    print("|---|---|---|---|---|")
    for name, figure, b, n, ratio in rows:
        print(f"| {name} | {figure} | {b:.6g} | {n:.6g} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
