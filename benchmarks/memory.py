"""Benchmark (not a test): peak memory of fleet runs against their simulated duration, with and without rows.

    .venv/bin/python benchmarks/memory.py                          # 6 h and 24 h, request_records false and true
    .venv/bin/python benchmarks/memory.py --durations 1h,6h --records false

Each run is a fresh interpreter (`benchmarks/fleet_day.py`'s scenario, its first DURATION), so each peak resident
set size (``ru_maxrss``, as ``/usr/bin/time -v``'s "Maximum resident set size") is that run's alone. With
``request_records: false`` the run keeps running totals instead of a row per request; what still grows with the
duration is the time series (one row per ``sample_every``) and the machines' and system's events.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {here!r})
from slices import slice_of
import rmasim
scenario = slice_of(rmasim.load_scenario({scenario!r}), {duration!r}).with_overrides({{"request_records": {records}}})
start = time.perf_counter()
result = rmasim.run(scenario)
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"wall": wall, "peak_mib": peak, "requests": result.summary["routing.requests"],
                  "samples": len(result.timeseries)}}))
"""


def measure(duration: str, records: bool) -> dict[str, float]:
    code = CHILD.format(
        here=str(HERE), scenario=str(HERE.parent / "scenarios" / "fleet" / "fleet_day.yaml"), duration=duration,
        records=records,
    )  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--durations", default="6h,24h", help="comma-separated simulated durations")
    parser.add_argument("--records", default="false,true", help="request_records values to run: false,true")
    args = parser.parse_args()
    print(f"{'request_records':<16} {'duration':>8} {'requests':>10} {'peak RSS':>10} {'wall':>8}")
    for records in [r.strip() == "true" for r in args.records.split(",")]:
        for duration in args.durations.split(","):
            m = measure(duration, records)
            print(f"{str(records).lower():<16} {duration:>8} {m['requests']:>10,} {m['peak_mib']:>7.0f} MiB "
                  f"{m['wall']:>6.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
