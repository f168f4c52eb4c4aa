"""Service containers: FIFO schedules computed at arrival, crashes, busy fraction and in-flight counts."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmasim.world.rng import Constant
from rmasim.world.service import Admission, ServiceContainer


def container(capacity: int = 2, service: float = 1.0, speed: float = 1.0) -> ServiceContainer:
    return ServiceContainer("rag", capacity=capacity, service_time=Constant(service), speed=speed)


def schedule(c: ServiceContainer, arrivals: list[float]) -> list[tuple[float, float]]:
    out = []
    for t in arrivals:
        a = c.submit(t)
        assert a is not None
        out.append((a.start, a.finish))
    return out


def test_fifo_schedule_capacity_two() -> None:
    """Capacity 2, arrivals at 0, 0, 0 with service 1 s: starts 0, 0, 1 and finishes 1, 1, 2."""
    assert schedule(container(), [0.0, 0.0, 0.0]) == [(0.0, 1.0), (0.0, 1.0), (1.0, 2.0)]


def test_fifo_schedule_with_varying_service_times(script: type) -> None:
    """start = max(arrival, earliest free slot); finish = start + service time (hand-computed)."""
    c = ServiceContainer("rag", capacity=2, service_time=script([3.0, 1.0, 2.0, 1.0, 0.5]))
    got = schedule(c, [0.0, 0.5, 1.0, 2.0, 10.0])
    # slots free at: [3.0, 1.5] -> 3rd starts 1.5 ends 3.5 -> 4th starts 3.0 ends 4.0 -> 5th idle, starts at 10.
    assert got == [(0.0, 3.0), (0.5, 1.5), (1.5, 3.5), (3.0, 4.0), (10.0, 10.5)]


def test_speed_divides_service_time() -> None:
    """A container with speed 2 serves in half the time."""
    assert schedule(container(capacity=1, service=1.0, speed=2.0), [0.0, 0.0]) == [(0.0, 0.5), (0.5, 1.0)]


def test_crash_fails_unfinished_admissions() -> None:
    """crash(now) fails every admission with finish > now (running or queued); finished ones stay ok."""
    c = container(capacity=1)
    a1, a2, a3 = c.submit(0.0), c.submit(0.0), c.submit(0.0)  # (0,1) (1,2) (2,3)
    assert a1 and a2 and a3
    assert c.crash(1.5) == 2
    assert [c.completed_ok(a) for a in (a1, a2, a3)] == [True, False, False]
    assert c.submit(2.0) is None
    assert c.crash(2.0) == 0  # already down


def test_restart_comes_back_empty() -> None:
    """restart(now): up again with every slot free; new admissions complete in the new epoch."""
    c = container(capacity=1)
    c.submit(0.0)
    c.crash(0.5)
    c.restart(5.0)
    a = c.submit(5.0)
    assert a == Admission(5.0, 6.0, 1)
    assert c.completed_ok(a)
    assert c.in_flight(5.0) == 1


def test_restart_of_running_container_crashes_it_first() -> None:
    """Restarting a container that is up fails its in-flight work (a restart is a crash plus a start)."""
    c = container(capacity=1)
    a = c.submit(0.0)
    assert a is not None
    c.restart(0.5)
    assert not c.completed_ok(a)
    assert c.epoch == 1 and c.up


def test_in_flight_counts_running_and_queued() -> None:
    """in_flight(now): admitted and not finished (running plus queued)."""
    c = container(capacity=2)
    schedule(c, [0.0, 0.0, 0.0, 0.0])  # finishes 1, 1, 2, 2
    assert [c.in_flight(t) for t in (0.0, 0.99, 1.0, 1.5, 2.0)] == [4, 4, 2, 2, 0]


def test_busy_fraction_hand_computed() -> None:
    """busy_fraction = busy slot-seconds in [t0, t1] / (capacity x (t1 - t0))."""
    c = container(capacity=2)
    schedule(c, [0.0, 0.5])  # slot 1 busy [0, 1], slot 2 busy [0.5, 1.5]
    assert c.busy_fraction(0.0, 1.0) == 0.75
    assert c.busy_fraction(1.0, 2.0) == 0.25
    assert c.busy_fraction(2.0, 3.0) == 0.0
    with pytest.raises(ValueError):
        c.busy_fraction(1.0, 1.0)


def test_cpu_saturates_at_one() -> None:
    """The cpu signal (busy fraction over the last second) saturates at 1.0 however long the queue."""
    c = container(capacity=2)
    schedule(c, [0.0] * 10)
    assert c.cpu(1.0) == 1.0
    assert c.cpu(4.5) == 1.0
    assert c.in_flight(1.0) / c.capacity == 4.0  # the queue signal does not saturate


def test_busy_fraction_stops_at_crash() -> None:
    """Work stops at a crash: the busy fraction counts running work only up to the crash time."""
    c = container(capacity=1, service=10.0)
    c.submit(0.0)
    c.submit(0.0)
    c.crash(0.5)
    assert c.busy_fraction(0.0, 1.0) == 0.5


def test_invalid_and_from_config() -> None:
    """from_config reads ServiceConfig's capacity, service_time (a dist) and version."""
    with pytest.raises(ValueError):
        container(capacity=0)
    with pytest.raises(ValueError):
        container(speed=0.0)
    cfg = SimpleNamespace(capacity=3, service_time=Constant(0.2), version="2.1")
    c = ServiceContainer.from_config(cfg, "upload", np.random.default_rng(0), speed=2.0)
    assert (c.name, c.capacity, c.version, c.speed) == ("upload", 3, "2.1", 2.0)
    assert schedule(c, [0.0]) == [(0.0, 0.1)]


@given(
    capacity=st.integers(1, 4),
    jobs=st.lists(st.tuples(st.floats(0.0, 2.0), st.floats(0.01, 3.0)), max_size=40),
)
def test_fifo_schedule_properties(capacity: int, jobs: list[tuple[float, float]]) -> None:
    """On random arrivals: FIFO (starts in arrival order), never more than `capacity` in service, and
    work-conserving (a request waits only while every slot is taken by earlier requests)."""
    services = [s for _, s in jobs]
    c = ServiceContainer("x", capacity=capacity, service_time=iter(services).__next__)
    arrivals, t = [], 0.0
    for gap, _ in jobs:
        t += gap
        arrivals.append(t)
    adm = [c.submit(a) for a in arrivals]
    starts = [a.start for a in adm if a]
    assert starts == sorted(starts)
    for i, (a, arrival, service) in enumerate(zip(adm, arrivals, services, strict=True)):
        assert a is not None and a.start >= arrival and a.finish == a.start + service
        earlier = adm[:i]
        assert sum(1 for o in earlier if o and o.finish > a.start) < capacity
        if a.start > arrival:
            assert sum(1 for o in earlier if o and o.finish >= a.start) >= capacity


def test_a_request_whose_turn_comes_after_its_deadline_is_refused_at_once_and_takes_no_slot_time():
    """One slot, 1 s each, arrivals at 0: the third would start at 2 s, after its 1.5 s deadline, so it is refused
    on arrival; the fourth (no deadline) then starts at 2 s, not 3 s, and the refused one was never in flight."""
    c = ServiceContainer("rag", capacity=1, service_time=lambda: 1.0)
    first, second = c.submit(0.0, 1.5), c.submit(0.0, 1.5)
    third = c.submit(0.0, 1.5)
    fourth = c.submit(0.0)
    assert [(a.start, a.finish, a.refused) for a in (first, second, third, fourth)] == [
        (0.0, 1.0, False),
        (1.0, 2.0, False),
        (0.0, 0.0, True),
        (2.0, 3.0, False),
    ]
    assert c.refused == 1 and c.in_flight(0.0) == 3
    assert c.stats(10.0).busy == 3.0  # three seconds of work, none for the refused request


def test_admission_wait_refuses_what_would_queue_longer_than_the_bound():
    """capacity 2, 1 s each, at most 1 s of waiting: arrivals 1-2 start at once, 3-4 wait 1 s, the fifth would
    wait 2 s and is refused; after the first two finish a newcomer waits 1 s again and is let in."""
    c = ServiceContainer("rag", capacity=2, service_time=lambda: 1.0)
    c.admission_wait = 1.0
    starts = [(a.start, a.refused) for a in (c.submit(0.0) for _ in range(5))]
    assert starts == [(0.0, False), (0.0, False), (1.0, False), (1.0, False), (0.0, True)]
    assert (c.submit(1.0).start, c.refused) == (2.0, 1)


def test_a_request_that_could_not_be_done_by_its_deadline_is_refused():
    """The agent expects 1 s of service: with a 1.5 s deadline the second arrival (turn at 1 s, done at 2 s by the
    expectation) is refused, though its turn comes before the deadline."""
    c = ServiceContainer("rag", capacity=1, service_time=lambda: 1.0)
    c.expected_service = 1.0
    assert [c.submit(0.0, 1.5).refused for _ in range(2)] == [False, True]
