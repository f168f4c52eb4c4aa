"""The circuit breaker (resilience4j's count-based one), driven by hand: when it opens, how long it stays open,
the half-open trials and their verdict."""

from __future__ import annotations

import pytest

from rmasim.scenario import Policy
from rmasim.system.coordinator.breaker import Breakers

W0 = [{"id": "w0"}]


def breakers(**knobs: object) -> Breakers:
    return Breakers(Policy.model_validate(knobs))


def feed(b: Breakers, results: str, now: float = 0.0) -> list[tuple[int, int] | None]:
    """Report a string of results ('x' failed, '.' ok) for w0/upload; what each report returned."""
    return [b.report("w0", "upload", r == ".", now) for r in results]


def test_it_opens_at_half_failures_once_20_calls_were_seen():
    b = breakers()
    assert feed(b, "x" * 19) == [None] * 19  # 19 failures of 19: too few calls to judge
    assert feed(b, "x") == [(20, 20)]
    assert b.state("w0", "upload") == "open"


def test_below_the_threshold_it_stays_closed_and_the_window_slides():
    b = breakers()
    results = feed(b, "." * 51 + "x" * 49)  # 49% failed over the full window of 100
    assert set(results) == {None} and b.state("w0", "upload") == "closed"
    # the window keeps the last 100: one more failure pushes out the oldest success -> 50 of 100 failed
    assert feed(b, "x") == [(50, 100)]


def test_exactly_half_opens():
    b = breakers()
    assert feed(b, ".x" * 9 + ".") == [None] * 19
    assert feed(b, "x") == [(10, 20)]  # 10 of 20: >= 50%


def test_open_refuses_for_60_s_then_lets_10_trials_through():
    b = breakers()
    feed(b, "x" * 20, now=100.0)
    assert b.permitted("upload", W0, 159.9) == []
    for _ in range(10):
        assert b.permitted("upload", W0, 160.0) == W0
        b.acquire("w0", "upload")
    assert b.state("w0", "upload") == "half_open"
    assert b.permitted("upload", W0, 160.0) == []  # the 11th waits for the trials' verdict


@pytest.mark.parametrize(("trials", "state"), [("....x.x.x.", "closed"), ("x.x.x.x.x.", "open")])
def test_the_trials_close_it_or_open_it_again(trials: str, state: str):
    b = breakers()
    feed(b, "x" * 20, now=0.0)
    b.permitted("upload", W0, 60.0)
    reported = feed(b, trials, now=61.0)
    assert b.state("w0", "upload") == state
    if state == "open":  # 5 of 10 trials failed
        assert reported[-1] == (5, 10) and b.permitted("upload", W0, 120.9) == [] and b.permitted("upload", W0, 121.0)
    else:  # closed with an empty window: 19 failures do not open it again
        assert feed(b, "x" * 19) == [None] * 19


def test_results_arriving_while_open_are_dropped():
    b = breakers()
    feed(b, "x" * 20)
    assert feed(b, "." * 50) == [None] * 50
    assert b.permitted("upload", W0, 59.0) == []


def test_breakers_are_per_worker_and_service_and_follow_the_knobs():
    b = breakers(breaker_min_calls=4, breaker_window=4, breaker_failure_rate=0.75, breaker_open_for="5s")
    assert [b.report("w0", "rag", False, 0.0) for _ in range(3)] + [b.report("w0", "rag", True, 0.0)] == [None] * 3 + [
        (3, 4)
    ]
    assert b.state("w0", "upload") == "closed" and b.state("w1", "rag") == "closed"
    assert b.permitted("rag", [{"id": "w0"}, {"id": "w1"}], 4.9) == [{"id": "w1"}]
    assert len(b.permitted("rag", [{"id": "w0"}, {"id": "w1"}], 5.0)) == 2
