"""Benchmark (not a test): an M/M/c queue through the full harness, side by side with ciw on the same queue.

    .venv/bin/python benchmarks/mmc.py                 # c = 5, offered load 2.5, 40,000 s, seed 1
    .venv/bin/python benchmarks/mmc.py --repeat 3

One machine with c slots of exponential service (mean 1 s), Poisson arrivals at rate a, zero network and KV
latency (the scenario of tests/test_validation.py), so rmasim simulates exactly the queue ciw does. Each round
runs both in this process, back to back, and prints customers per wall second and P(wait) against Erlang C;
then the ratio of the medians (rmasim / ciw). The ratio is what to compare between machines and commits.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import rmasim
from rmasim.scenario import load_scenario_text


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load a (Erlang C)."""
    head = sum(a**k / math.factorial(k) for k in range(c))
    tail = a**c / math.factorial(c) * c / (c - a)
    return tail / (head + tail)


def harness(c: int, load: float, duration: float, seed: int) -> tuple[int, float, float]:
    """(customers, P(wait), wall seconds) of the queue through rmasim.run."""
    scenario = load_scenario_text(
        f"""
name: mmc
duration: {duration}s
warmup: 0s
sample_every: 1h
coordinator: {{preset: baseline, balancer: random, identity: fingerprint, registry_layout: strong, request_timeout: 1h}}
kv: {{read_latency: 0s, write_latency: 0s, strong: {{read_latency: 0s, write_latency: 0s}}}}
network: {{latency: 0s}}
fleet:
  m:
    count: 1
    start_within: 0s
    services: {{upload: {{capacity: {c}, service_time: {{dist: exponential, mean: 1s}}}}}}
workload:
  - {{service: upload, rate: {load}/s}}
"""
    )
    start = time.perf_counter()
    result = rmasim.run(scenario, seed=seed)
    wall = time.perf_counter() - start
    return int(result.summary["routing.requests"]), float(result.summary["load.wait.share"]), wall


def with_ciw(c: int, load: float, duration: float, seed: int) -> tuple[int, float, float]:
    """(customers, P(wait), wall seconds) of the same queue in ciw."""
    import ciw

    start = time.perf_counter()
    ciw.seed(seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=load)],
        service_distributions=[ciw.dists.Exponential(rate=1.0)],
        number_of_servers=[c],
    )
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(duration)
    records = simulation.get_all_records()
    wall = time.perf_counter() - start
    waited = sum(1 for r in records if r.waiting_time > 0)
    return len(records), waited / len(records), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=5)
    parser.add_argument("--load", type=float, default=2.5)
    parser.add_argument("--duration", type=float, default=40_000.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    theory = erlang_c(args.servers, args.load)
    print(f"M/M/{args.servers}, offered load {args.load}, {args.duration:.0f} s: Erlang C P(wait) = {theory:.4f}")
    rates: dict[str, list[float]] = {"rmasim": [], "ciw": []}
    for round_ in range(args.repeat):
        for name, simulate in (("rmasim", harness), ("ciw", with_ciw)):
            customers, waits, wall = simulate(args.servers, args.load, args.duration, args.seed)
            rates[name].append(customers / wall)
            print(
                f"round {round_ + 1} {name:>6}: {customers} customers in {wall:.2f} s = {customers / wall:,.0f}/s; "
                f"P(wait) {waits:.4f} ({(waits - theory) / theory:+.1%} against Erlang C)",
                flush=True,
            )
    ratio = statistics.median(rates["rmasim"]) / statistics.median(rates["ciw"])
    print(f"rmasim / ciw customers per second (medians): {ratio:.2f}x")


if __name__ == "__main__":
    main()
