"""Benchmark (not a test): the event loop alone, SimPy's Environment against rmasim's Loop, on the same events.

    .venv/bin/python benchmarks/loop.py                  # 300,000 events, 3 rounds
    .venv/bin/python benchmarks/loop.py --events 1000000 --rounds 5

Each round runs the same model three ways, back to back in this process: ``simpy.Environment`` with
``env.timeout(d).callbacks.append(cb)``, ``Loop`` with the same timeouts (its inlined ``run``), and ``Loop`` with
``call_later(d, cb)``. The model is the shape of the harness's hot path: 100 chains of callbacks, each
rescheduling itself after a random delay (about 100 pending events, as in a fleet-day run). Every way must end
at the same time having visited the same callbacks in the same order (checked); the figures are events per
second of each and the ratio to SimPy's (the medians over the rounds).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import simpy

from rmasim.runtime import Loop


def chains(env: Any, schedule: Callable[[Any, float, Callable[[Any], None]], None], events: int) -> list[int]:
    """Run ``events`` callbacks in 100 self-rescheduling chains; the order in which the chains fired."""
    rnd = random.Random(1).random
    order: list[int] = []

    def chain(i: int) -> Callable[[Any], None]:
        def fire(_event: Any) -> None:
            order.append(i)
            if len(order) < events:
                schedule(env, rnd(), fire)

        return fire

    for i in range(100):
        schedule(env, rnd(), chain(i))
    env.run()
    return order


def with_timeouts(env: Any, delay: float, callback: Callable[[Any], None]) -> None:
    env.timeout(delay).callbacks.append(callback)


def with_calls(env: Any, delay: float, callback: Callable[[Any], None]) -> None:
    env.call_later(delay, callback)


WAYS = {
    "simpy.Environment + timeout": (simpy.Environment, with_timeouts),
    "Loop + timeout": (Loop, with_timeouts),
    "Loop + call_later": (Loop, with_calls),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rates: dict[str, list[float]] = {name: [] for name in WAYS}
    for _ in range(args.rounds):
        orders = []
        for name, (make, schedule) in WAYS.items():
            env = make()
            start = time.perf_counter()
            orders.append((chains(env, schedule, args.events), env.now))
            rates[name].append(args.events / (time.perf_counter() - start))
        assert all(order == orders[0] for order in orders), "the ways visited different trajectories"
    base = statistics.median(rates["simpy.Environment + timeout"])
    for name, figures in rates.items():
        rate = statistics.median(figures)
        print(f"{name:30s} {rate:12,.0f} events/s   {rate / base:.2f}x")
    print("trajectories identical")


if __name__ == "__main__":
    main()
