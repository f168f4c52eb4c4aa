"""Benchmark (not a test): wall time per simulated request of scenarios/many_isolates.yaml (16 locations x 8
isolates) against the same fleet and traffic behind one isolate, run back to back, on one core.

    .venv/bin/python benchmarks/many_isolates.py                    # the reference preset, seed 23
    .venv/bin/python benchmarks/many_isolates.py --preset baseline --repeat 3

Prints one line per topology and round: wall seconds, requests, microseconds per request, the run's mean latency
(so a faster run that simulates something else is visible), then the ratio of the medians. The ratio is what to
compare between machines; the absolute times depend on the machine and on what else it is doing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import rmasim

SCENARIO = Path(__file__).parent.parent / "scenarios" / "many_isolates.yaml"
TOPOLOGIES = {
    "16 x 8 isolates": {},
    "1 isolate": {"coordinator.edges": 1, "coordinator.isolates_per_location": 1},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="reference")
    parser.add_argument("--seed", type=int, default=None, help="default: the scenario's seed")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of both runs, alternating")
    args = parser.parse_args()
    base = rmasim.load_scenario(SCENARIO).with_overrides({"coordinator.preset": args.preset, "expect": []})
    per_request: dict[str, list[float]] = {name: [] for name in TOPOLOGIES}
    for _ in range(args.repeat):
        for name, overrides in TOPOLOGIES.items():
            scenario = base.with_overrides(overrides)
            start = time.perf_counter()
            result = rmasim.run(scenario, seed=args.seed)
            wall = time.perf_counter() - start
            n = result.summary["routing.requests"]
            per_request[name].append(wall / n * 1e6)
            print(
                f"{name:16s} wall {wall:6.2f} s  requests {n}  {wall / n * 1e6:6.1f} us/request  "
                f"latency.mean {result.summary['latency.mean']:.3f} s",
                flush=True,
            )
    many, one = (statistics.median(per_request[name]) for name in TOPOLOGIES)
    print(f"many isolates / one isolate, per request: {many / one:.2f}x ({many:.1f} / {one:.1f} us)")


if __name__ == "__main__":
    main()
