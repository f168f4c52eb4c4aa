"""Locations and isolates (DESIGN.md section 11): who lands where, what an eviction loses, what defaults keep."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

import rmasim
from rmasim.runtime import Edge, UniformSource
from rmasim.scenario import load_scenario_text
from rmasim.system.coordinator import Isolate
from rmasim.world import Clock

SMALL = """\
name: topology
duration: 20m
coordinator: {preset: reference, edges: 2, isolates_per_location: 4, isolate_lifetime: 5m}
fleet:
  m: {count: 3, services: {rag: {port: 8102, capacity: 2}}}
workload:
  - {service: rag, rate: 4/s}
"""


def edge(n: int) -> Edge:
    platform = UniformSource(np.random.default_rng(1)) if n > 1 else None
    return Edge(0, Clock(), UniformSource(np.random.default_rng(0)), [Isolate() for _ in range(n)], platform)


def test_invocations_land_on_every_isolate_uniformly():
    """8000 landings on 4 isolates: each count within 4 sigma of 2000 (binomial, p = 1/4)."""
    location = edge(4)
    counts = Counter(id(location.landing()) for _ in range(8000))
    sigma = math.sqrt(8000 * 0.25 * 0.75)
    assert len(counts) == 4 and all(abs(n - 2000) < 4 * sigma for n in counts.values())


def test_one_isolate_draws_nothing_and_several_need_a_platform_stream():
    location = edge(1)
    assert location.landing() is location.isolate and location.platform is None
    with pytest.raises(ValueError, match="platform stream"):
        Edge(0, Clock(), UniformSource(np.random.default_rng(0)), [Isolate(), Isolate()])


def test_an_evicted_isolate_comes_back_cold():
    location = edge(2)
    location.isolates[1].kept("balancer", lambda: "warm state")
    location.evict(1)
    assert location.isolates[1].kept("balancer", lambda: "cold") == "cold"
    assert location.isolates[0] is not location.isolates[1] and location.evictions == 1


def test_evictions_come_at_the_rate_the_lifetime_gives(simulations):
    """2 locations x 4 isolates with a 5 m mean lifetime over 20 m: Poisson with mean 2 x 4 x 20 / 5 = 32."""
    total = 0
    for seed in range(5):
        rmasim.run(load_scenario_text(SMALL), seed=seed)
        total += sum(e.evictions for e in simulations[-1].edges)
    assert abs(total - 5 * 32) < 4 * math.sqrt(5 * 32)


def test_the_default_topology_gives_the_same_bytes_as_naming_it():
    """edges 1 and isolates_per_location 1 are the defaults: spelled out, the run is the same, bit for bit."""
    from rmasim.report import summary_json

    text = SMALL.replace("edges: 2, isolates_per_location: 4, isolate_lifetime: 5m", "edges: 1")
    plain = rmasim.run(load_scenario_text(text.replace(", edges: 1", "")), seed=2)
    named = rmasim.run(load_scenario_text(text.replace("edges: 1", "edges: 1, isolates_per_location: 1")), seed=2)
    assert summary_json(plain.summary) == summary_json(named.summary)


def test_clients_land_on_locations_by_their_weights():
    """Weights 1:3 over 2 locations: about a quarter of the requests arrive at the first (binomial, 4 sigma)."""
    text = SMALL.replace("edges: 2,", "edges: 2, location_weights: [1, 3],")
    log = rmasim.run(load_scenario_text(text), seed=1).requests
    n, first = len(log), int((log.edge == 0).sum())
    assert abs(first - n / 4) < 4 * math.sqrt(n * 0.25 * 0.75)
