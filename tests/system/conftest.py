"""Drive sans-IO handlers by hand: an in-memory, strongly consistent KV and scripted answers, no I/O."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest

from rmasim.system import ops


class Harness:
    """Answers a generator's operations from a dict KV (one dict for both stores, compare-and-set included), a
    fixed clock (the monotonic reading is the same number), scripted randoms and an HTTP stub.

    ``log`` records every operation in order, so a test can assert on the whole trace.
    """

    def __init__(self, kv: dict[str, Any] | None = None, now: float = 1000.0) -> None:
        self.kv: dict[str, Any] = dict(kv or {})
        self.now = now
        self.randoms: list[float] = []
        self.http: Callable[[ops.HttpCall], Any] = lambda call: ops.Response(200, {})
        self.fail: dict[str, Exception] = {}
        self.log: list[Any] = []

    def answer(self, op: Any) -> Any:
        self.log.append(op)
        if isinstance(op, ops.KvGet):
            return self.kv.get(op.key)
        if isinstance(op, ops.KvGetMany):
            return tuple(self.kv.get(k) for k in op.keys)
        if isinstance(op, (ops.KvPut, ops.KvDelete)) and op.key in self.fail:
            raise self.fail[op.key]
        if isinstance(op, ops.KvPut):
            self.kv[op.key] = op.value
            return None
        if isinstance(op, ops.KvDelete):
            self.kv.pop(op.key, None)
            return None
        if isinstance(op, ops.KvList):
            return sorted(k for k in self.kv if k.startswith(op.prefix)), None
        if isinstance(op, ops.KvCas):
            current = self.kv.get(op.key)
            if current != op.expected:
                return False, current
            if op.new is None:
                self.kv.pop(op.key, None)
            else:
                self.kv[op.key] = op.new
            return True, op.new
        if isinstance(op, ops.StrongUpdate):
            if op.key in self.fail:
                raise self.fail[op.key]
            new, result = op.update(self.kv.get(op.key), op.arg)
            if new is None:
                self.kv.pop(op.key, None)
            else:
                self.kv[op.key] = new
            return result
        if isinstance(op, ops.Now):
            return self.now
        if isinstance(op, ops.Random):
            return self.randoms.pop(0) if self.randoms else 0.0
        if isinstance(op, ops.HttpCall):
            result = self.http(op)
            if isinstance(result, Exception):
                raise result
            return result
        if isinstance(op, ops.Concurrently):  # every call through the HTTP stub; failures as values
            return tuple(self.http(call) for call in op.calls)
        if isinstance(op, ops.Sleep):
            self.now += op.seconds
            return None
        if isinstance(op, ops.ReadLoad):
            return ops.MachineStats(0.25, 7.5)
        if isinstance(op, (ops.Trace, ops.Respond)):
            return None
        raise AssertionError(f"unexpected op {op!r}")

    def run(
        self, gen: Generator[Any, Any, Any], before: Callable[[Any], None] | None = None, max_ops: int = 10_000
    ) -> Any:
        """Run ``gen`` to completion; failures of an op are thrown into it, as a runtime would. ``before(op)`` is
        called before each operation is answered (to land a racing write from elsewhere)."""
        value: Any = None
        exc: BaseException | None = None
        for _ in range(max_ops):
            try:
                op = gen.throw(exc) if exc is not None else gen.send(value)
            except StopIteration as stop:
                return stop.value
            exc = None
            if before is not None:
                before(op)
            try:
                value = self.answer(op)
            except Exception as error:  # thrown back into the generator
                value, exc = None, error
        raise AssertionError("generator did not finish")

    def step(self, gen: Generator[Any, Any, Any], n: int) -> Any:
        """Answer exactly ``n`` operations, deliver the last answer, and return the next (unanswered) operation.

        For generators that never finish, like the agent's loop.
        """
        value: Any = None
        exc: BaseException | None = None
        op = next(gen)
        for _ in range(n):
            try:
                value = self.answer(op)
            except Exception as error:  # thrown back into the generator
                value, exc = None, error
            op = gen.throw(exc) if exc is not None else gen.send(value)
            exc = None
        return op


@pytest.fixture
def harness() -> Harness:
    return Harness()
