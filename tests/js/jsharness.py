"""The by-hand driver of Worker invocations the tests in this directory share (imported as ``jsharness``)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from rmasim.system import ops


class Harness:
    """Answers operations: ``kv`` (one dict), ``now`` (seconds; each KV read or write advances it by
    ``io_time``, a Sleep by its duration), ``randoms`` (consumed in order), ``http`` (a function of the call)."""

    def __init__(self, kv: dict[str, Any] | None = None, now: float = 1000.0, io_time: float = 0.0) -> None:
        self.kv: dict[str, Any] = dict(kv or {})
        self.now = now
        self.io_time = io_time
        self.randoms = iter([i / 1000 for i in range(1, 100_000)])
        self.http: Callable[[ops.HttpCall], Any] = lambda call: ops.Response(200, {"served_by": "gpu/0"})
        self.fail: dict[str, Exception] = {}
        self.log: list[Any] = []

    def answer(self, op: Any) -> Any:
        if not isinstance(op, (ops.Now, ops.Random)):
            self.log.append(op)
        if isinstance(op, ops.Now):
            return self.now
        if isinstance(op, ops.Random):
            return next(self.randoms)
        if isinstance(op, (ops.Trace, ops.Respond)):
            return None
        if isinstance(op, ops.Sleep):
            self.now += op.seconds
            return None
        if isinstance(op, ops.HttpCall):
            return self.http(op)
        self.now += self.io_time
        key = getattr(op, "key", None)
        if key in self.fail:
            raise self.fail[key]
        if isinstance(op, ops.KvGet):
            return self.kv.get(op.key)
        if isinstance(op, ops.KvGetMany):
            return tuple(self.kv.get(k) for k in op.keys)
        if isinstance(op, ops.KvPut):
            self.kv[op.key] = op.value
            return None
        if isinstance(op, ops.KvDelete):
            self.kv.pop(op.key, None)
            return None
        if isinstance(op, ops.KvList):
            keys = sorted(k for k in self.kv if k.startswith(op.prefix) and (op.cursor is None or k > op.cursor))
            return tuple(keys), None
        raise AssertionError(f"unexpected operation {op!r}")

    def run(self, gen: Generator[Any, Any, Any]) -> Any:
        """Drive ``gen`` to the end; its return value."""
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                op = gen.send(value) if error is None else gen.throw(error)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            try:
                value = self.answer(op)
            except Exception as exc:
                error = exc

    def ops(self, kind: type) -> list[Any]:
        return [op for op in self.log if isinstance(op, kind)]

    def traces(self, event: str) -> list[dict[str, Any]]:
        return [op.fields for op in self.log if isinstance(op, ops.Trace) and op.event == event]


def request(path: str, method: str = "GET", body: Any = None) -> ops.Request:
    return ops.Request(method, path, body)
