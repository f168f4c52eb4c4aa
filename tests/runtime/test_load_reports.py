"""The world's side of the load information: the ``x-in-flight`` report on answers, the agent's load endpoint, and
:class:`~rmasim.system.ops.Concurrently` (see rmasim/runtime/runtime.py), on a real runtime driven by hand."""

from __future__ import annotations

import pytest

from rmasim.engine import _Simulation
from rmasim.runtime import Driver
from rmasim.scenario import load_scenario_text
from rmasim.system.ops import IN_FLIGHT, LOAD_PATH, LOAD_REPORT, Concurrently, HttpCall, RequestTimeout

TWO_BOXES = """
name: load_reports
duration: 10m
network: {latency: 10ms}
kv: {read_latency: 0s, write_latency: 0s}
fleet:
  box:
    count: 2
    start_within: 0s
    services:
      rag: {port: 8102, capacity: 1, service_time: 1s}
"""


def simulation() -> _Simulation:
    sim = _Simulation(load_scenario_text(TWO_BOXES, "load_reports.yaml"), 0)
    sim.env.run(until=5.0)
    return sim


def run(sim: _Simulation, op, arrivals: tuple[float, ...] = ()) -> tuple[object, float]:
    """Drive one operation from the first edge, with jobs of other callers arriving at box 0's ``rag`` at the
    given offsets; returns (result or exception, simulated seconds it took)."""
    out: list = []
    container = sim.machines[("box", 0)].containers["rag"]

    def one():
        return (yield op)

    start = sim.env.now
    for offset in arrivals:
        sim.env.timeout(offset).callbacks.append(lambda _e: container.submit(sim.env.now))
    Driver(sim.runtime, one(), sim.edges[0].ctx, lambda value, exc: out.append((exc or value, sim.env.now))).start()
    sim.env.run(until=start + 60.0)
    value, end = out[0]
    return value, end - start


def test_a_forward_that_asks_gets_the_machines_in_flight_when_it_answers():
    """The forward reaches the box after 10 ms and is served for 1 s. Two jobs that arrive behind it are both still
    there when the box answers (one running, one queued): 2. Three jobs ahead of it are done by then: 0."""
    sim = simulation()
    box = sim.machines[("box", 0)]
    forward = HttpCall(box.tunnel_url, "POST", "/rag/x", None, 50.0, ((LOAD_REPORT, "in-flight"),))
    response, took = run(sim, forward, (0.5, 0.6))
    assert response.status == 200 and response.header(IN_FLIGHT) == "2"
    assert took == pytest.approx(1.02)
    sim.env.run(until=sim.env.now + 10.0)  # the box drains
    response, took = run(sim, forward, (0.0, 0.0, 0.0))
    assert response.header(IN_FLIGHT) == "0"
    assert took == pytest.approx(3.0 + 1.01)  # its turn after the three, then the way back


def test_a_forward_that_does_not_ask_gets_the_shared_answer_without_a_header():
    sim = simulation()
    box = sim.machines[("box", 0)]
    first, _ = run(sim, HttpCall(box.tunnel_url, "POST", "/rag/x", None, 50.0))
    second, _ = run(sim, HttpCall(box.tunnel_url, "POST", "/rag/x", None, 50.0))
    assert first.headers == () and first is second  # the cached answer: nothing built per request


def test_the_load_endpoint_answers_at_once_with_the_queue_and_queues_nothing():
    sim = simulation()
    box = sim.machines[("box", 0)]
    for _ in range(4):
        box.containers["rag"].submit(sim.env.now)
    admitted = box.containers["rag"].admitted
    response, took = run(sim, HttpCall(box.tunnel_url, "GET", LOAD_PATH + "rag", None, 0.25))
    assert response.body == {"in_flight": 4} and took == pytest.approx(0.02)
    assert box.containers["rag"].admitted == admitted


def test_concurrently_lasts_as_long_as_the_slower_call_and_gives_failures_as_values():
    sim = simulation()
    a, b = sim.machines[("box", 0)], sim.machines[("box", 1)]
    b.containers["rag"].submit(sim.env.now)
    probes = tuple(HttpCall(m.tunnel_url, "GET", LOAD_PATH + "rag", None, 0.25) for m in (a, b))
    answers, took = run(sim, Concurrently(probes))
    assert [r.body for r in answers] == [{"in_flight": 0}, {"in_flight": 1}]
    assert took == pytest.approx(0.02)  # one round trip, not two
    slow = HttpCall(a.tunnel_url, "POST", "/rag/x", None, 0.5)  # a 1 s job cannot answer within 0.5 s
    b.containers["rag"].submit(sim.env.now)
    answers, took = run(sim, Concurrently((probes[1], slow)))
    assert answers[0].body == {"in_flight": 1} and isinstance(answers[1], RequestTimeout)
    assert took == pytest.approx(0.5)
