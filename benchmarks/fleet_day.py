"""Benchmark (not a test): the fleet-day scenario's wall time, throughput and peak memory on one core.

    .venv/bin/python benchmarks/fleet_day.py                 # the full simulated day
    .venv/bin/python benchmarks/fleet_day.py --duration 2h   # a shorter slice
    /usr/bin/time -v .venv/bin/rmasim run scenarios/fleet/fleet_day.yaml --quiet --out /tmp/fleet_day

Prints one line per figure. Peak memory is this process's maximum resident set size (as /usr/bin/time -v's
"Maximum resident set size").
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from slices import slice_of

import rmasim

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", help="override the simulated duration, e.g. 2h")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    scenario = rmasim.load_scenario(HERE.parent / "scenarios" / "fleet" / "fleet_day.yaml")
    if args.duration:
        scenario = slice_of(scenario, args.duration)
    start = time.perf_counter()
    result = rmasim.run(scenario, seed=args.seed)
    wall = time.perf_counter() - start
    requests = result.summary["routing.requests"]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"simulated       {scenario.duration / 3600:.1f} h, {len(scenario.fleet['gpu'].services)} services, "
        f"{scenario.fleet['gpu'].count} machines"
    )
    print(f"wall time       {wall:.1f} s")
    print(f"requests        {requests} ({requests / wall:,.0f} per wall second, {wall / requests * 1e6:.1f} us each)")
    print(f"kv operations   reads {result.summary['kv.reads']}, writes {result.summary['kv.writes']}")
    print(f"peak memory     {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
