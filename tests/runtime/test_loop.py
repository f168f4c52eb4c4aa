"""The lean event loop follows SimPy's order and semantics: same trajectories, same errors, same stops."""

from __future__ import annotations

import random
from typing import Any

import pytest
import simpy

from rmasim.runtime import Call, Loop


def mixed_model(env: simpy.Environment, schedule: Any, seed: int = 7) -> list[tuple[Any, ...]]:
    """Timeouts (or calls), processes, interrupts, conditions and failed-then-defused events at the same times;
    ``schedule(delay, callback)`` is the hot path under test. Returns the log of what ran when."""
    rnd = random.Random(seed)
    log: list[tuple[Any, ...]] = []

    def tick(name: str, left: int) -> Any:
        def fire(_e: Any) -> None:
            log.append(("tick", name, env.now))
            if left:
                schedule(float(rnd.choice([0.0, 0.5, 1.0])), tick(name, left - 1))

        return fire

    for i in range(5):
        schedule(float(i % 2), tick(f"t{i}", 20))

    def worker(name: str) -> Any:
        try:
            while True:
                yield env.timeout(rnd.choice([0.5, 1.0]))
                log.append(("proc", name, env.now))
        except simpy.Interrupt as stop:
            log.append(("interrupted", name, env.now, stop.cause))

    procs = [env.process(worker(f"p{i}")) for i in range(3)]

    def boss() -> Any:
        yield env.timeout(3.0)
        procs[1].interrupt("stop")
        both = yield env.timeout(1.0, "a") & env.timeout(1.0, "b")
        log.append(("both", env.now, sorted(both.values())))
        failing = env.event()
        failing.fail(ValueError("defused"))
        failing.defused = True
        yield env.timeout(0.0)
        log.append(("boss", env.now))

    env.process(boss())
    return log


def timeout_schedule(env: simpy.Environment) -> Any:
    return lambda delay, callback: env.timeout(delay).callbacks.append(callback)


def test_same_trajectory_as_simpy_with_timeouts_and_with_calls():
    reference_env = simpy.Environment()
    reference = mixed_model(reference_env, timeout_schedule(reference_env))
    reference_env.run(until=12.0)
    loop = Loop()
    with_timeouts = mixed_model(loop, timeout_schedule(loop))
    loop.run(until=12.0)
    loop2 = Loop()
    with_calls = mixed_model(loop2, loop2.call_later)
    loop2.run(until=12.0)
    assert reference and with_timeouts == reference and with_calls == reference
    assert loop.now == loop2.now == reference_env.now == 12.0


def test_resumed_runs_and_step_follow_the_same_order():
    reference_env = simpy.Environment()
    reference = mixed_model(reference_env, timeout_schedule(reference_env))
    loop = Loop()
    log = mixed_model(loop, loop.call_later)
    for t in (1.0, 2.5, 2.6, 7.0):
        reference_env.run(until=t)
        loop.run(until=t)
        assert log == reference and loop.now == reference_env.now
    for _ in range(15):
        reference_env.step()
        loop.step()
        assert log == reference and loop.now == reference_env.now and loop.peek() == reference_env.peek()


def test_call_later_takes_the_place_of_a_timeout_created_at_that_moment():
    loop = Loop()
    order: list[str] = []
    loop.timeout(1.0).callbacks.append(lambda _e: order.append("timeout 1"))
    call = loop.call_later(1.0, lambda c: order.append(f"call {c is call}"))
    loop.timeout(1.0).callbacks.append(lambda _e: order.append("timeout 2"))
    loop.call_later(0.5, lambda _c: order.append("call 0.5"))
    loop.run()
    assert order == ["call 0.5", "timeout 1", "call True", "timeout 2"]
    assert isinstance(call, Call) and loop.now == 1.0
    with pytest.raises(ValueError, match="Negative delay"):
        loop.call_later(-1.0, lambda _c: None)


@pytest.mark.parametrize("env_class", [simpy.Environment, Loop])
def test_until_an_event_returns_its_value_and_a_dry_queue_without_it_is_an_error(env_class):
    env = env_class()
    done = env.timeout(2.0, "value")
    assert env.run(until=done) == "value"
    assert env.run(until=done) == "value"  # already processed
    never = env.event()
    with pytest.raises(RuntimeError, match="No scheduled events left"):
        env.run(until=never)
    with pytest.raises(ValueError, match="must be greater"):
        env.run(until=env.now)


@pytest.mark.parametrize("env_class", [simpy.Environment, Loop])
def test_a_failed_event_no_one_defused_fails_the_run_with_a_copy(env_class):
    env = env_class()
    original = KeyError("lost")
    env.event().fail(original)
    with pytest.raises(KeyError) as raised:
        env.run()
    assert raised.value is not original and raised.value.__cause__ is original


@pytest.mark.parametrize("env_class", [simpy.Environment, Loop])
def test_stop_simulation_from_a_callback_keeps_the_later_callbacks_for_the_next_run(env_class):
    env = env_class()
    log: list[tuple[str, float]] = []
    event = env.timeout(1.0)

    def stop(_e: Any) -> None:
        log.append(("stop", env.now))
        raise simpy.core.StopSimulation("stopped")

    event.callbacks += [lambda _e: log.append(("first", env.now)), stop, lambda _e: log.append(("after", env.now))]
    env.timeout(1.0).callbacks.append(lambda _e: log.append(("next", env.now)))
    assert env.run(until=5.0) == "stopped"
    assert log == [("first", 1.0), ("stop", 1.0)] and env.now == 1.0
    env.run(until=5.0)
    assert log == [("first", 1.0), ("stop", 1.0), ("after", 1.0), ("next", 1.0)] and env.now == 5.0


def test_an_error_in_a_call_propagates_and_the_loop_goes_on_after_it():
    loop = Loop()
    seen: list[float] = []

    def boom(_c: Call) -> None:
        raise IndexError("from a callback, not the empty queue")

    loop.call_later(1.0, boom)
    loop.call_later(2.0, lambda _c: seen.append(loop.now))
    with pytest.raises(IndexError, match="from a callback"):
        loop.run()
    loop.run()
    assert seen == [2.0]


def test_the_bound_event_classes_and_now():
    loop = Loop(initial_time=3)
    assert loop.now == 3 and "timeout" in vars(loop) and "process" in vars(loop)  # bound once, as SimPy's own
    loop.run(until=4.5)
    assert loop.now == 4.5 and loop._now == 4.5
