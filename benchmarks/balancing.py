"""Benchmark (not a test): wall time of the 100-machine, 2000 s run at load 0.9, per balancer, on one core.

    .venv/bin/python benchmarks/balancing.py                       # random and p2c, heartbeat 30 s
    .venv/bin/python benchmarks/balancing.py --balancers random,least-outstanding,p2c-ewma

Prints one line per balancer: wall seconds, requests, microseconds per request, and the run's mean latency (so a
faster run that simulates something else is visible).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import rmasim

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--balancers", default="random,p2c", help="comma-separated balancer names")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    base = rmasim.load_scenario(HERE / "balancing_100.yaml")
    for balancer in args.balancers.split(","):
        scenario = base.with_overrides({"coordinator.balancer": balancer})
        start = time.perf_counter()
        result = rmasim.run(scenario, seed=args.seed)
        wall = time.perf_counter() - start
        n = result.summary["routing.requests"]
        print(
            f"{balancer:18s} wall {wall:6.1f} s  requests {n}  {wall / n * 1e6:5.1f} us/request  "
            f"latency.mean {result.summary['latency.mean']:.2f} s"
        )


if __name__ == "__main__":
    main()
