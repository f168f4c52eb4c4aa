"""Run a sans-IO generator in simulated time, with scheduled callbacks instead of a SimPy process.

A :class:`Driver` holds a stack of generators. The bottom one is system code (the coordinator's handler, the
agent's loop): it yields :mod:`rmasim.system.ops` operations. The runtime answers a cheap operation (a KV read
that hits the edge cache, the clock, a random draw) with a ``(result, delay)`` pair: at once when the delay is 0,
without touching the event queue, else after one :meth:`~rmasim.runtime.loop.Loop.call_later` (a result that
is an exception instance is thrown instead of sent). An operation with several steps is a small *runtime*
generator pushed on the stack, which yields either a float (wait that many simulated seconds) or :data:`PARK`
(wait until someone calls :meth:`Driver.wake`). Its return value is sent to the generator below it, its
exception thrown into it.

Why not a SimPy process per request: a process costs an initialisation event and a resume per step; the hot
path of a fleet-day run is millions of routed requests, and a callback after a delay is the event loop's
cheapest primitive (DESIGN.md section 4, speed note; :mod:`rmasim.runtime.loop`: one slotted object, no
:class:`simpy.Timeout`). Crash and graceful stop are :meth:`kill` and :meth:`throw`;
a *token* invalidates any wake-up that was pending when the driver's state changed.

A system generator may answer its caller before it ends: it yields :class:`~rmasim.system.ops.Respond` (a
Worker's response, while its ``ctx.waitUntil()`` work goes on); ``on_done`` gets that response at once, and the
generator then runs detached.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from ..system.ops import Respond

if TYPE_CHECKING:
    from .runtime import Runtime

__all__ = ["PARK", "Driver"]


class _Park:
    def __repr__(self) -> str:
        return "PARK"


#: Yielded by a runtime generator to wait for an explicit :meth:`Driver.wake`.
PARK = _Park()

DoneCallback = Callable[[Any, BaseException | None], None]


class Driver:
    """One running system generator (a request being served, an agent process)."""

    __slots__ = ("ctx", "finished", "held", "on_done", "record", "rt", "stack", "token", "waiting")

    def __init__(
        self,
        rt: Runtime,
        gen: Generator[Any, Any, Any],
        ctx: Any,
        on_done: DoneCallback | None = None,
        record: Any = None,
    ):
        self.rt = rt
        self.ctx = ctx
        self.record = record
        """What this run is about, for the runtime's own bookkeeping (a client request's record)."""
        self.stack: list[Generator[Any, Any, Any]] = [gen]
        self.token = 0
        self.waiting: Any = None
        """The :class:`~rmasim.runtime.loop.Call` the generator waits on (None: it runs, is parked, or has ended)."""
        self.held: Any = None
        """The result :attr:`waiting` delivers (a sync operation's answer after its delay; None after a sleep)."""
        self.finished = False
        self.on_done = on_done

    # --- control ---------------------------------------------------------------------------------------

    def start(self) -> Driver:
        """Run until the first wait (at the current simulated time)."""
        self._run(None, None)
        return self

    def wake(self, token: int, value: Any = None, exc: BaseException | None = None) -> None:
        """Resume a parked or sleeping generator, unless ``token`` is stale (the driver moved on)."""
        if token == self.token and not self.finished:
            self.token += 1
            self.waiting = None
            self._run(value, exc)

    def kill(self) -> None:
        """Stop dead (a crash): the generators are closed, nothing else runs, ``on_done`` is not called."""
        if self.finished:
            return
        self.finished = True
        self.token += 1
        self.waiting = None
        while self.stack:
            self.stack.pop().close()

    def throw(self, exc: BaseException) -> None:
        """Raise ``exc`` at the current wait (a graceful stop); a pending wake-up is cancelled."""
        if not self.finished:
            self.token += 1
            self.waiting = None
            self._run(None, exc)

    # --- the loop --------------------------------------------------------------------------------------

    def _run(self, value: Any, exc: BaseException | None) -> None:
        # The hot loop of the whole simulator: sync operations first, then delays, then pushes.
        stack = self.stack
        rt = self.rt
        sync = rt.sync_ops
        ctx = self.ctx
        top = stack[-1]
        while True:
            try:
                yielded = top.send(value) if exc is None else top.throw(exc)
            except StopIteration as stop:
                stack.pop()
                if not stack:
                    self._finish(stop.value, None)
                    return
                top = stack[-1]
                value, exc = stop.value, None
                continue
            except Exception as error:
                stack.pop()
                if not stack:
                    self._finish(None, error)
                    return
                top = stack[-1]
                value, exc = None, error
                continue
            exc = None
            handler = sync.get(yielded.__class__)
            if handler is not None:
                value, delay = handler(ctx, yielded)
                if delay > 0:
                    self.held = value
                    self.waiting = rt.env.call_later(delay, self._on_timeout)
                    return
                if isinstance(value, BaseException):
                    value, exc = None, value
            elif yielded.__class__ is float or yielded.__class__ is int:
                if yielded > 0:
                    self.waiting = rt.env.call_later(yielded, self._on_timeout)
                    return
                value = None
            elif yielded is PARK:
                return
            elif yielded.__class__ is Respond:
                self._respond(yielded.response)
                value = None
            else:
                top = rt.timed_ops[yielded.__class__](ctx, yielded, self)
                stack.append(top)
                value = None

    def _on_timeout(self, call: Any) -> None:
        """A wait ended: unless the driver moved on meanwhile (:attr:`waiting` is another call or None), resume it
        with :attr:`held` (an exception instance is thrown)."""
        if call is self.waiting:
            self.token += 1
            self.waiting = None
            value, self.held = self.held, None
            if isinstance(value, BaseException):
                self._run(None, value)
            else:
                self._run(value, None)

    def _respond(self, response: Any) -> None:
        """:class:`~rmasim.system.ops.Respond`: the caller gets ``response`` now; the generator runs on detached
        (no request record any more; its own end only reports an error)."""
        on_done, self.on_done = self.on_done, _detached_end
        self.record = None
        if on_done is not None:
            on_done(response, None)

    def _finish(self, value: Any, exc: BaseException | None) -> None:
        self.finished = True
        if self.on_done is not None:
            self.on_done(value, exc)
        elif exc is not None:
            raise exc


def _detached_end(_value: Any, exc: BaseException | None) -> None:
    """How a generator ends after it responded: an error still fails the run, a return value goes nowhere."""
    if exc is not None:
        raise exc
