"""The callback driver: timing of sync and timed operations, kill, throw, park and stale wake-ups."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from rmasim.runtime import PARK, Driver, Loop


@dataclass(frozen=True)
class Wait:
    seconds: float


@dataclass(frozen=True)
class Echo:
    value: object


@dataclass(frozen=True)
class Fail:
    delay: float


@dataclass(frozen=True)
class Twice:
    value: object


def fake_runtime(env: Loop) -> SimpleNamespace:
    def two_steps(ctx, op, driver):
        yield 1.0
        yield 2.0
        return (op.value, op.value)

    return SimpleNamespace(
        env=env,
        sync_ops={
            Wait: lambda ctx, op: (None, op.seconds),
            Echo: lambda ctx, op: (op.value, 0.0),
            Fail: lambda ctx, op: (ValueError("boom"), op.delay),
        },
        timed_ops={Twice: two_steps},
    )


def test_trace_of_sync_and_timed_operations():
    env = Loop()
    log = []

    def gen():
        log.append(("start", env.now, (yield Echo("a"))))
        yield Wait(5.0)
        log.append(("waited", env.now))
        pair = yield Twice("b")
        log.append(("twice", env.now, pair))
        try:
            yield Fail(0.5)
        except ValueError as e:
            log.append(("failed", env.now, str(e)))
        return "done"

    results = []
    Driver(fake_runtime(env), gen(), None, lambda v, e: results.append((env.now, v, e))).start()
    env.run()
    assert log == [("start", 0, "a"), ("waited", 5.0), ("twice", 8.0, ("b", "b")), ("failed", 8.5, "boom")]
    assert results == [(8.5, "done", None)]


def test_zero_delay_operations_do_not_touch_the_event_queue():
    env = Loop()

    def gen():
        for _ in range(1000):
            yield Echo(1)
        return env.now

    results = []
    Driver(fake_runtime(env), gen(), None, lambda v, e: results.append(v)).start()
    assert results == [0] and not env._queue  # finished synchronously, nothing scheduled


def test_kill_stops_without_calling_on_done():
    env = Loop()
    log = []

    def gen():
        try:
            while True:
                yield Wait(1.0)
                log.append(env.now)
        finally:
            log.append("closed")

    driver = Driver(fake_runtime(env), gen(), None, lambda v, e: log.append("done")).start()
    env.run(until=2.5)
    driver.kill()
    env.run(until=10)
    assert log == [1.0, 2.0, "closed"]


def test_throw_is_raised_at_the_current_wait_and_cancels_it():
    env = Loop()
    log = []

    def gen():
        try:
            yield Twice("x")
        except KeyError:
            log.append(("stopped", env.now))
            yield Wait(1.0)
        return "cleaned"

    driver = Driver(fake_runtime(env), gen(), None, lambda v, e: log.append((env.now, v))).start()
    env.run(until=0.5)
    driver.throw(KeyError("stop"))
    env.run()
    assert log == [("stopped", 0.5), (1.5, "cleaned")]


def test_park_is_resumed_by_wake_and_stale_tokens_are_ignored():
    env = Loop()
    rt = fake_runtime(env)
    holder = {}

    def parked(ctx, op, driver):
        holder["token"] = driver.token
        return (yield PARK)

    rt.timed_ops[Echo] = parked
    rt.sync_ops.pop(Echo)
    got = []

    def gen():
        got.append((yield Echo(None)))

    driver = Driver(rt, gen(), None, lambda v, e: None).start()
    token = holder["token"]
    driver.wake(token, "first")
    driver.wake(token, "second")  # stale: the driver already moved on
    assert got == ["first"]
