"""The by-hand driver of Worker invocations the tests in this directory share (imported as ``jsharness``)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from rmasim.system import ops
from rmasim.system.worker import WorkerCoordinator, load_worker_config


class Harness:
    """Answers operations: ``kv`` (one dict), ``now`` (seconds; each KV read or write advances it by
    ``io_time``, a Sleep by its duration), ``randoms`` (consumed in order), ``http`` (a function of the call).
    ``metadata`` and ``expirations`` (absolute seconds) record what puts gave; nothing expires here."""

    def __init__(self, kv: dict[str, Any] | None = None, now: float = 1000.0, io_time: float = 0.0) -> None:
        self.kv: dict[str, Any] = dict(kv or {})
        self.now = now
        self.io_time = io_time
        self.randoms = iter([i / 1000 for i in range(1, 100_000)])
        self.http: Callable[[ops.HttpCall], Any] = lambda call: ops.Response(200, {"served_by": "gpu/0"})
        self.fail: dict[str, Exception] = {}
        self.metadata: dict[str, Any] = {}
        self.expirations: dict[str, float] = {}
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
            return (self.kv.get(op.key), self.metadata.get(op.key)) if op.with_metadata else self.kv.get(op.key)
        if isinstance(op, ops.KvGetMany):
            values = tuple(self.kv.get(k) for k in op.keys)
            return (values, tuple(self.metadata.get(k) for k in op.keys)) if op.with_metadata else values
        if isinstance(op, ops.KvPut):
            self.kv[op.key] = op.value
            self.metadata.pop(op.key, None)
            self.expirations.pop(op.key, None)
            if op.metadata is not None:
                self.metadata[op.key] = op.metadata
            expiration = self.now + op.expiration_ttl if op.expiration_ttl is not None else op.expiration
            if expiration is not None:
                self.expirations[op.key] = expiration
            return None
        if isinstance(op, ops.KvDelete):
            self.kv.pop(op.key, None)
            return None
        if isinstance(op, ops.KvList):
            keys = sorted(k for k in self.kv if k.startswith(op.prefix) and (op.cursor is None or k > op.cursor))
            if op.with_info:
                return tuple((k, self.expirations.get(k), self.metadata.get(k)) for k in keys), None
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


def hosted(worker: Path) -> Generator[WorkerCoordinator, None, None]:
    """One host serving the Worker module at ``worker`` for as long as the generator runs (a module fixture's
    body: ``yield from hosted(path)``)."""
    coordinator = WorkerCoordinator.start(load_worker_config(worker))
    yield coordinator
    coordinator.close()
