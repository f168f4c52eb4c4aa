"""Benchmark (not a test): the cost of running the coordinator as a JavaScript Worker instead of Python.

    .venv/bin/python benchmarks/worker_bridge.py                                   # crash.yaml, 30 min simulated
    .venv/bin/python benchmarks/worker_bridge.py --scenario scenarios/fleet/fleet_day.yaml --duration 2h

Runs the scenario with the Python ``baseline`` preset and with ``workers/baseline`` (same seed), checks that the
two summaries are equal, and prints the wall time of each, their ratio (issue 12's target: within 3x), the
lockstep messages exchanged with the Node.js host, and the cost per message in microseconds. Wall times move with
the machine's load: compare figures taken on one quiet machine. The CPU seconds of the Worker run (this process,
the host) and whether the host polled its stdin (it blocks on a busy machine: ``host_polls``) tell a busy
machine's figures apart; this process's CPU includes its polling of the host's answers (up to 200 us each, so it
moves with the host's speed and the machine's load), the host's includes its own polling only when it polled.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from slices import slice_of

import rmasim
from rmasim.system.worker import NodeHost

ROOT = Path(__file__).parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "crash.yaml")
    parser.add_argument("--worker", type=Path, default=ROOT / "workers" / "baseline" / "wrangler.toml")
    parser.add_argument("--duration", help="override the simulated duration, e.g. 2h")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    scenario = rmasim.load_scenario(args.scenario)
    if args.duration:
        scenario = slice_of(scenario, args.duration)

    messages = []
    polled = []
    close = NodeHost.close

    def counting_close(host: NodeHost) -> None:
        messages.append(host.messages)
        polled.append(host.polls)
        close(host)

    NodeHost.close = counting_close  # type: ignore[method-assign]

    start = time.perf_counter()
    python = rmasim.run(scenario, seed=args.seed)
    python_wall = time.perf_counter() - start
    start, cpu = time.perf_counter(), os.times()
    worker = rmasim.run(scenario.with_overrides({"coordinator.worker": str(args.worker)}), seed=args.seed)
    worker_wall = time.perf_counter() - start
    after = os.times()
    own_cpu = after.user - cpu.user + after.system - cpu.system
    host_cpu = after.children_user - cpu.children_user + after.children_system - cpu.children_system

    differ = sorted(k for k in python.summary if python.summary[k] != worker.summary.get(k))
    n = messages[-1] if messages else 0
    print(f"scenario        {scenario.name}, {scenario.duration / 60:.0f} min simulated, seed {python.seed}")
    print(f"python          {python_wall:6.2f} s")
    print(f"worker          {worker_wall:6.2f} s   ({worker_wall / python_wall:.1f}x)")
    print(f"messages        {n}   ({(worker_wall - python_wall) / max(n, 1) * 1e6:.0f} us per message over Python)")
    print(
        f"worker cpu      python {own_cpu:.2f} s, host {host_cpu:.2f} s   (host polled its stdin: "
        f"{'yes' if polled and polled[-1] else 'no'})"
    )
    print(f"summaries       {'equal' if not differ else 'differ: ' + ', '.join(differ)}")


if __name__ == "__main__":
    main()
