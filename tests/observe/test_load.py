"""Load spread: the containers' accounting and the checker's figures, on small cases worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rmasim.observe import CHECKERS, MachineEvent, Observations, RequestLog, declaration_of
from rmasim.observe.load import percentile_of_counts, time_up
from rmasim.world.rng import Constant
from rmasim.world.service import ContainerStats, ServiceContainer


def container(capacity: int = 1, service: float = 1.0, measure_from: float = 0.0) -> ServiceContainer:
    c = ServiceContainer("upload", capacity=capacity, service_time=Constant(service))
    c.measure_from = measure_from
    return c


def submit(c: ServiceContainer, *arrivals: float) -> None:
    for t in arrivals:
        assert c.submit(t) is not None


# --- the container's accounting -----------------------------------------------------------------------------


def test_waits_and_in_flight_seen_by_arrivals() -> None:
    """Capacity 2, 1 s each, arrivals 0, 0, 0, 0.5: schedules (0,1) (0,1) (1,2) (1,2); the arrivals find 0, 1, 2
    and 3 in flight; the third waits 1 s and the fourth 0.5 s."""
    c = container(capacity=2)
    submit(c, 0.0, 0.0, 0.0, 0.5)
    assert c.stats(10.0) == ContainerStats(
        capacity=2, busy=4.0, arrivals=4, waited=2, wait=1.5, in_flight_seen=(1, 1, 1, 1)
    )


def test_finished_work_is_not_in_flight() -> None:
    """Arrivals at 0 and 1.5 (1 s each): the second finds the first finished, so nothing in flight."""
    c = container()
    submit(c, 0.0, 1.5)
    assert c.stats(10.0).in_flight_seen == (2,)


def test_window_starts_at_measure_from_and_ends_at_end() -> None:
    """Measured from 0.5: arrivals 0, 0 (before) and 2.5 (after), 1 s each: (0,1) (1,2) (2.5,3.5). Busy in
    [0.5, 3]: 0.5 + 1 + 0.5 = 2; only the arrival at 2.5 counts, and it found nothing in flight."""
    c = container(measure_from=0.5)
    submit(c, 0.0, 0.0, 2.5)
    assert c.stats(3.0) == ContainerStats(capacity=1, busy=2.0, arrivals=1, waited=0, wait=0.0, in_flight_seen=(1,))
    assert c.stats(5.0).busy == 2.5


def test_crash_stops_running_work_and_drops_queued_work() -> None:
    """10 s jobs at 0 and 0: (0,10) runs, (10,20) queues; a crash at 4 leaves 4 busy slot-seconds. After a
    restart at 5, a job at 6 runs (6,16): by 12, 6 more."""
    c = container(service=10.0)
    submit(c, 0.0, 0.0)
    c.crash(4.0)
    assert c.stats(30.0).busy == 4.0
    c.restart(5.0)
    submit(c, 6.0)
    assert c.stats(12.0).busy == 10.0
    assert c.stats(12.0).arrivals == 3


def test_crash_before_the_window_leaves_nothing_in_it() -> None:
    """A 10 s job at 0 in a window from 5 counts 5 s at admission; a crash at 3 takes them back."""
    c = container(service=10.0, measure_from=5.0)
    submit(c, 0.0)
    assert c.stats(20.0).busy == 5.0
    c.crash(3.0)
    assert c.stats(20.0).busy == 0.0


def test_hung_admissions_are_not_accounted() -> None:
    c = container()
    c.hung = True
    submit(c, 1.0)
    assert c.stats(10.0) == ContainerStats(capacity=1, busy=0.0, arrivals=0, waited=0, wait=0.0, in_flight_seen=())


# --- the checker's parts ------------------------------------------------------------------------------------


def event(t: float, kind: str, machine: str) -> MachineEvent:
    return MachineEvent(t, kind, machine, 1, ())


def test_time_up_in_window() -> None:
    """Window [60, 400]. a: up 0-100 and from 200 on: 40 + 200. b: up 50-300 (stopped; the exit is later): 240.
    c: up only before the window. A register event changes nothing."""
    events = [
        event(0.0, "start", "a"),
        event(10.0, "start", "c"),
        event(20.0, "crash", "c"),
        event(50.0, "start", "b"),
        event(50.0, "register", "b"),
        event(100.0, "crash", "a"),
        event(200.0, "start", "a"),
        event(300.0, "stop", "b"),
        event(310.0, "exit", "b"),
    ]
    assert time_up(events, 60.0, 400.0) == {"a": 240.0, "b": 240.0, "c": 0.0}


def test_percentile_of_counts() -> None:
    """The smallest count with at least q% of the observations at or below it; exactly 99% is enough."""
    assert percentile_of_counts(np.array([99, 1]), 99.0) == 0
    assert percentile_of_counts(np.array([98, 1, 1]), 99.0) == 1
    assert percentile_of_counts(np.array([50, 0, 0, 50]), 50.0) == 0
    assert percentile_of_counts(np.array([50, 0, 0, 50]), 51.0) == 3
    assert percentile_of_counts(np.array([], dtype=int), 99.0) is None


def stats(capacity: int, busy: float, seen: tuple[int, ...], waited: int = 0, wait: float = 0.0) -> ContainerStats:
    return ContainerStats(capacity, busy, sum(seen), waited, wait, seen)


def observations(containers: dict, events: list[MachineEvent], warmup: float = 0.0) -> Observations:
    return Observations(
        duration=100.0,
        warmup=warmup,
        samples=[],
        requests=RequestLog(),
        events=events,
        index_changes=[],
        kv_stats=None,
        containers=containers,
    )


def test_load_summary_by_hand() -> None:
    """Window [0, 100]. a: one slot, 80 s busy, up throughout: 0.8. b: 1 + 3 slots, 20 + 60 busy, up
    throughout: 80 / 400 = 0.2. c: 2 slots, 75 busy, down 50-75: 75 / (2 x 75) = 0.5. d never boots: left out.
    u = (0.8, 0.2, 0.5): mean 0.5, std sqrt(0.06), CV^2 = 0.24, Jain 1.5^2 / (3 x 0.93) = 1 / 1.24.
    In flight found: a (90, 9, 1): p99 1; b (100,) + (0, 100): p99 1; c (0, 0, 0, 10): p99 3; pooled
    (190, 109, 1, 10) of 310: 99% of 310 = 306.9 are at or below 3, mean (109 + 2 + 30) / 310."""
    containers = {
        "a": {"upload": stats(1, 80.0, (90, 9, 1), waited=10, wait=5.0)},
        "b": {"upload": stats(1, 20.0, (100,)), "rag": stats(3, 60.0, (0, 100), waited=50, wait=25.0)},
        "c": {"upload": stats(2, 75.0, (0, 0, 0, 10), waited=10, wait=20.0)},
        "d": {"upload": stats(1, 0.0, ())},
    }
    events = [event(0.0, "start", m) for m in "abc"] + [event(50.0, "crash", "c"), event(75.0, "start", "c")]
    summary = CHECKERS["load"].summarize(observations(containers, events))
    assert summary == {
        "load.workers": 3,
        "load.utilization.mean": pytest.approx(0.5),
        "load.utilization.max": pytest.approx(0.8),
        "load.cv": pytest.approx(math.sqrt(0.24)),
        "load.max_over_mean": pytest.approx(1.6),
        "load.jain": pytest.approx(1 / 1.24),
        "load.in_flight.mean": pytest.approx(141 / 310),
        "load.in_flight.p99": 3,
        "load.in_flight.p99_max": 3,
        "load.wait.share": pytest.approx(70 / 310),
        "load.wait.mean": pytest.approx(50 / 310),
    }
    assert summary["load.jain"] == pytest.approx(1 / (1 + summary["load.cv"] ** 2), abs=1e-12)


def test_idle_or_empty_fleet() -> None:
    """Machines up but idle: utilization 0 and no spread figure (0 / 0); no machines: nothing at all."""
    idle = CHECKERS["load"].summarize(observations({"a": {"upload": stats(1, 0.0, ())}}, [event(0.0, "start", "a")]))
    assert idle["load.workers"] == 1 and idle["load.utilization.mean"] == 0.0
    assert idle["load.cv"] is idle["load.jain"] is idle["load.max_over_mean"] is idle["load.in_flight.p99"] is None
    empty = CHECKERS["load"].summarize(observations({}, []))
    assert empty["load.workers"] == 0
    assert all(v is None for k, v in empty.items() if k != "load.workers")


def test_keys_are_declared() -> None:
    summary = CHECKERS["load"].summarize(observations({}, []))
    assert all(declaration_of(k) is not None for k in summary)
    assert {k.name for k in CHECKERS["load"].keys} == set(summary)
