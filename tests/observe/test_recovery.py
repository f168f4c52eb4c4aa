"""Goodput and recovery time, on small hand-made histories with whole expected results."""

from __future__ import annotations

import numpy as np
import pytest

from rmasim.observe.recovery import STEP, WINDOW, recovery_time

TRIGGER = (100.0, 200.0)


def history(spans: list[tuple[float, float, bool]], rate: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Arrivals every 1/rate seconds over each (start, end) span, all ok or all failed."""
    times, oks = [], []
    for start, end, ok in spans:
        t = np.arange(start, end, 1.0 / rate)
        times.append(t)
        oks.append(np.full(t.size, ok))
    return np.concatenate(times), np.concatenate(oks)


def test_no_harm_after_the_trigger_is_a_recovery_time_of_zero():
    t, ok = history([(0, 100, True), (100, 200, False), (200, 600, True)])
    assert recovery_time(t, ok, TRIGGER, 0.0, 600.0) == (0.0, 1.0)


def test_recovery_is_the_start_of_the_first_window_served_at_the_level():
    """Failures go on 60 s after the trigger: the first all-ok 30 s window starts at 260 s."""
    t, ok = history([(0, 100, True), (100, 260, False), (260, 600, True)])
    assert recovery_time(t, ok, TRIGGER, 0.0, 600.0) == (60.0, 1.0)


def test_a_system_that_never_recovers_has_no_recovery_time():
    t, ok = history([(0, 100, True), (100, 600, False)])
    assert recovery_time(t, ok, TRIGGER, 0.0, 600.0) == (None, 1.0)


def test_a_cold_start_recovers_to_a_level_of_one():
    """No request before the trigger (traffic starts with it): the level is 1.0."""
    t, ok = history([(100, 230, False), (230, 600, True)])
    assert recovery_time(t, ok, TRIGGER, 0.0, 600.0) == (30.0, 1.0)


def test_the_level_is_the_pre_trigger_rate_and_the_tolerance_is_one_point():
    """Before: 9 in 10 ok (level 0.9). After: nothing ok until 300 s, then 0.895 of them ok (within 1% of
    0.9, evenly spread): the first window that recovers starts at 300 s, 100 s after the trigger's end."""
    t = np.arange(0.0, 600.0, 0.1)
    k = np.arange(t.size)
    spread = np.floor((k + 1) * 0.895) > np.floor(k * 0.895)  # 0.895 of them, evenly spread
    ok = np.where(t < 200, k % 10 != 0, (t >= 300) & spread)
    time, level = recovery_time(t, ok, TRIGGER, 0.0, 600.0)
    assert level == pytest.approx(0.9)
    assert time == 100.0


def test_windows_that_would_end_after_the_judged_end_are_not_judged():
    t, ok = history([(0, 100, True), (100, 580, False), (580, 600, True)])
    assert recovery_time(t, ok, TRIGGER, 0.0, 600.0)[0] is None  # the only good window would end at 610
    assert (WINDOW, STEP) == (30.0, 1.0)


def test_goodput_and_recovery_of_a_whole_run():
    """An overload: 4 machines x 1 slot at 1 s each (capacity 4/s), 2/s offered, 12/s for 60 s. With deadlines
    propagated the reference recovers within seconds of the burst's end, and its goodput is what capacity allows:
    2/s outside the burst and 4/s during it, (8 min x 2/s + 1 min x 4/s) / 9 min = 2.22/s at most. Without them,
    requests time out in the backlog, breakers and ejection take providers away, and recovery takes minutes."""
    import rmasim
    from rmasim.scenario import load_scenario_text

    text = """\
name: overload_small
duration: 10m
warmup: 1m
coordinator: {preset: reference}
kv: {model: strong}
fleet:
  m: {count: 4, services: {rag: {port: 8102, capacity: 1, service_time: {dist: exponential, mean: 1s}}}}
workload:
  - {service: rag, rate: 2/s, start: 1m}
faults:
  - {at: 4m, action: hot_service, service: rag, factor: 6, duration: 1m}
phases:
  trigger: {start: 4m, end: 5m}
"""
    result = rmasim.run(load_scenario_text(text), seed=3)
    s = result.summary
    assert s["recovery.never"] == 0 and 0.0 <= s["recovery.time"] <= 30.0
    assert s["recovery.level"] > 0.99
    assert 2.0 < s["goodput"] <= (8 * 60 * 2 + 60 * 4) / 540 * 1.05  # Poisson noise: a few percent
    assert 3.0 < s["phase.trigger.goodput"] <= 4.0 * 1.05  # at capacity during the burst, never above
    off = rmasim.run(load_scenario_text(text).with_overrides({"coordinator.deadline_propagation": False}), seed=3)
    off = off.summary
    assert off["recovery.time"] is None or off["recovery.time"] > 60.0
    assert off["breaker.opened"] > 0 and s["breaker.opened"] == 0
    assert off["goodput"] < s["goodput"]
