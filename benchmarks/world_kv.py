"""Micro-benchmark of the Workers KV model's hot paths (run: ``.venv/bin/python benchmarks/world_kv.py``).

Measures the cost per call of a cache-hit ``get``, a memoized ``get_many`` of 100 keys (the coordinator's
per-request read of every worker record), a write at that edge of one of the keys followed by the ``get_many``
(the write patches the memo in place), a ``get_many`` that finds one of its entries expired (one refetch, which
patches the memo), and a FIFO ``ServiceContainer.submit``. Not a timed test: figures depend on the machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from rmasim.world import Constant, ServiceContainer, WorkersKV


def per_call(fn: Callable[[int], object], n: int, runs: int = 3) -> float:
    """Best of ``runs`` runs of ``fn(i)`` for i in range(k * n, (k + 1) * n), in nanoseconds per call.

    ``i`` keeps increasing across runs so that simulated time, derived from it, never goes backwards.
    """
    best = float("inf")
    for k in range(runs):
        t0 = time.perf_counter()
        for i in range(k * n, (k + 1) * n):
            fn(i)
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e9


KEYS = tuple(f"worker:{i:03d}" for i in range(100))
DT = 50.0 / 600_000  # 3 runs x 200k calls stay inside the entries' 60 s TTL


def warmed_store() -> WorkersKV:
    """A store whose edge 0 caches 100 worker records (until t = 61) and memoizes their bulk get."""
    kv = WorkersKV(n_edges=4, read_latency=0.01, write_latency=0.05, rng=np.random.default_rng(0))
    for key in KEYS:
        kv.put(0, key, {"id": key, "load": 0.5}, 0.0)
    kv.get_many(0, KEYS, 1.0)
    return kv


def main() -> None:
    kv = warmed_store()
    hit = per_call(lambda i: kv.get(0, "worker:007", 1.0 + i * DT), 200_000)
    kv = warmed_store()
    memo = per_call(lambda i: kv.get_many(0, KEYS, 1.0 + i * DT), 200_000)
    kv, equal = warmed_store(), tuple(list(KEYS))
    copy = per_call(lambda i: kv.get_many(0, equal if i % 2 else KEYS, 1.0 + i * DT), 200_000)
    kv = warmed_store()

    def write_then_bulk(i: int) -> None:
        t = 2.0 + i * 1.01  # > 1 s apart: no 429; entries expire and are refetched along the way
        kv.put(0, KEYS[i % 100], {"id": i}, t)
        kv.get_many(0, KEYS, t)

    cold = per_call(write_then_bulk, 2_000)
    kv = WorkersKV(n_edges=4, read_latency=0.01, write_latency=0.05, rng=np.random.default_rng(0))
    for j, key in enumerate(KEYS):  # entries expire 0.6 s apart (at 60.0, 60.6, ...)
        kv.put(0, key, {"id": key, "load": 0.5}, j * 0.6)
    kv.get_many(0, KEYS, 59.9)
    expired_one = per_call(lambda i: kv.get_many(0, KEYS, 60.0 + i * 0.6), 2_000)  # one expired key a call
    box = ServiceContainer("rag", capacity=4, service_time=Constant(0.05))
    submit = per_call(lambda i: box.submit(i * 0.01), 200_000)
    print(f"get (cache hit)                                {hit:8.0f} ns/call")
    print(f"get_many 100 keys, memoized, same tuple object {memo:8.0f} ns/call")
    print(f"get_many 100 keys, memoized, equal tuples      {copy:8.0f} ns/call")
    print(f"put + get_many 100 keys, memo patched          {cold:8.0f} ns/call")
    print(f"get_many 100 keys, one entry expired a call    {expired_one:8.0f} ns/call")
    print(f"ServiceContainer.submit                        {submit:8.0f} ns/call")


if __name__ == "__main__":
    main()
