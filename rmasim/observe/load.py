"""Load spread: how evenly the work fell on the machines, and the queues requests found.

The unit is the **machine** (a worker box), not the incarnation: a restart does not make a new box, and the
question is whether the balancer spread the work over the boxes. A machine's utilization over the measurement
window ``[warmup, duration]`` is its containers' busy slot-seconds divided by its slots times the time it was up
in the window (from each ``start`` event to the next ``crash`` or ``stop``: a crashed or stopping machine serves
nothing, and a down container on an up machine is capacity the machine had and did not use). Machines never up
in the window are left out. Over the n machines' utilizations u:

- ``load.cv`` = std(u) / mean(u), the population std, so that Jain's index
  ``load.jain`` = (sum u)^2 / (n sum u^2) = 1 / (1 + cv^2) exactly: 1 when even, 1/n when one machine does all;
- ``load.max_over_mean`` = max(u) / mean(u).

Queue figures come from the containers' admissions that arrived after warmup (client requests' forwards,
retries included), as accounted by :mod:`rmasim.world.service`: the requests in flight (running plus queued)
each arrival found at its container (on a machine with one service, the worker's count), and whether and how
long it queued for a slot (Erlang C's probability of waiting and mean wait). Percentiles of the in-flight counts
are the smallest count with at least that share of arrivals at or below it (a count that occurred, not an
interpolation); ``load.in_flight.p99_max`` takes each machine's own (its containers' arrivals together).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .base import Checker, MachineEvent, Observations, SummaryKey, register_checker

__all__ = ["Load", "percentile_of_counts", "time_up", "utilizations"]


def time_up(events: Iterable[MachineEvent], t0: float, t1: float) -> dict[str, float]:
    """Machine name -> seconds it was up within ``[t0, t1]``, from its ``start``/``crash``/``stop`` events (in
    time order); a machine still up at the end counts up to ``t1``."""
    since: dict[str, float] = {}
    up: dict[str, float] = {}
    for event in events:
        if event.kind == "start":
            since[event.machine] = event.t
        elif event.kind in ("crash", "stop") and event.machine in since:
            start = since.pop(event.machine)
            up[event.machine] = up.get(event.machine, 0.0) + max(0.0, min(event.t, t1) - max(start, t0))
    for machine, start in since.items():
        up[machine] = up.get(machine, 0.0) + max(0.0, t1 - max(start, t0))
    return up


def utilizations(containers: Mapping[str, Mapping[str, Any]], up: Mapping[str, float]) -> dict[str, float]:
    """Machine name -> busy slot-seconds / (slots x time up), for the machines up for some time."""
    result = {}
    for machine, stats in containers.items():
        alive = up.get(machine, 0.0)
        slots = sum(s.capacity for s in stats.values())
        if alive > 0.0 and slots > 0:
            result[machine] = sum(s.busy for s in stats.values()) / (slots * alive)
    return result


def percentile_of_counts(histogram: np.ndarray, q: float) -> int | None:
    """The smallest k with at least ``q`` percent of the observations at or below it (``histogram[k]``: how many
    observed k); None when there are none."""
    total = histogram.sum()
    if total == 0:
        return None
    return int(np.searchsorted(np.cumsum(histogram) * 100, q * total))


def _histogram(seen: Iterable[tuple[int, ...]]) -> np.ndarray:
    rows = list(seen)
    out = np.zeros(max((len(r) for r in rows), default=0), dtype=np.int64)
    for row in rows:
        out[: len(row)] += np.asarray(row, dtype=np.int64)
    return out


@register_checker
class Load(Checker):
    name = "load"
    keys = (
        SummaryKey(
            "load.workers", "machines up at some time after warmup (those the load figures compare)", "count", "none"
        ),
        SummaryKey(
            "load.utilization.mean",
            "mean over machines of busy slot-seconds / (slots x time up), after warmup",
            "ratio",
            "none",
        ),
        SummaryKey("load.utilization.max", "utilization of the busiest machine", "ratio"),
        SummaryKey("load.cv", "coefficient of variation of machine utilizations (population std / mean)", "ratio"),
        SummaryKey("load.max_over_mean", "busiest machine's utilization / mean utilization", "ratio"),
        SummaryKey(
            "load.jain",
            "Jain's fairness index of machine utilizations: 1 even, 1/n all on one machine",
            "ratio",
            "higher",
        ),
        SummaryKey(
            "load.in_flight.mean",
            "requests in flight (running plus queued) that an arrival after warmup found at its container, mean",
            "count",
        ),
        SummaryKey("load.in_flight.p99", "99th percentile of the requests in flight arrivals found", "count"),
        SummaryKey(
            "load.in_flight.p99_max",
            "largest per-machine 99th percentile of the requests in flight arrivals found (the worst queue)",
            "count",
        ),
        SummaryKey("load.wait.share", "share of arrivals after warmup that queued for a free slot", "ratio"),
        SummaryKey("load.wait.mean", "mean time arrivals after warmup queued for a slot (0 when none)", "s"),
    )

    def summarize(self, obs: Observations) -> dict[str, Any]:
        up = time_up(obs.events, obs.warmup, obs.duration)
        u = np.array(list(utilizations(obs.containers, up).values()))
        mean = float(u.mean()) if u.size else None
        out: dict[str, Any] = {
            "load.workers": int(u.size),
            "load.utilization.mean": mean,
            "load.utilization.max": float(u.max()) if u.size else None,
        }
        spread = mean is not None and mean > 0.0  # all idle: 0 / 0
        out["load.cv"] = float(u.std() / u.mean()) if spread else None
        out["load.max_over_mean"] = float(u.max() / u.mean()) if spread else None
        out["load.jain"] = float(u.sum() ** 2 / (u.size * (u**2).sum())) if spread else None

        stats = [s for per_machine in obs.containers.values() for s in per_machine.values()]
        seen = _histogram(s.in_flight_seen for s in stats)
        arrivals = int(seen.sum())
        out["load.in_flight.mean"] = float(np.arange(seen.size) @ seen / arrivals) if arrivals else None
        out["load.in_flight.p99"] = percentile_of_counts(seen, 99.0)
        per_machine = [
            percentile_of_counts(_histogram(s.in_flight_seen for s in m.values()), 99.0)
            for m in obs.containers.values()
        ]
        out["load.in_flight.p99_max"] = max((p for p in per_machine if p is not None), default=None)
        out["load.wait.share"] = sum(s.waited for s in stats) / arrivals if arrivals else None
        out["load.wait.mean"] = sum(s.wait for s in stats) / arrivals if arrivals else None
        return out
