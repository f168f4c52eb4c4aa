"""A lean SimPy event loop: the same event queue and order as :class:`simpy.Environment`, with less per event.

:class:`Loop` is a :class:`simpy.Environment`: one heap of ``(time, priority, eid, event)`` keys, one eid counter
shared by every event, SimPy's priorities (``URGENT`` 0 before ``NORMAL`` 1 at the same time, then the order of
scheduling), so a run visits the same events in the same order and follows the same trajectory, bit for bit.
Ordinary SimPy events (timeouts, processes, conditions: faults, user code) live in the same queue, unchanged.
What differs is the cost:

- :meth:`Loop.run` pops and runs callbacks in one inlined loop (no :meth:`~simpy.Environment.step` call per
  event), with SimPy's semantics: an ``until`` time or event, a failed event that no callback defused raised
  again (a copy whose ``__cause__`` is the original), :class:`~simpy.core.StopSimulation` from any callback
  ending the run with the event's remaining callbacks rescheduled, and the queue running dry.
- :meth:`Loop.call_later` schedules "call ``callback(handle)`` after ``delay``" as a :class:`Call`: a slotted
  object of one field in place of a :class:`~simpy.events.Timeout` and its callback list. It takes its eid and
  priority (``NORMAL``) exactly as a timeout created at that moment would, so using it instead of
  ``env.timeout(delay).callbacks.append(callback)`` changes nothing in the order of events. (A
  ``StopSimulation`` raised by a call's callback stops the run as from any callback; a call has no callback
  after it to keep, so nothing is rescheduled, where SimPy would requeue the emptied event.)
- ``now`` is a plain attribute (SimPy's is a property), kept equal to SimPy's ``_now``.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import BoundClass, EmptySchedule, StopSimulation
from simpy.events import NORMAL, URGENT, Event, EventPriority

__all__ = ["Call", "Loop"]


class Call:
    """A callback scheduled by :meth:`Loop.call_later`; the handle it is called with (compare it by identity to
    tell a current wait from a stale one). It never fails, and nothing can wait on it as on a SimPy event."""

    __slots__ = ("callback",)

    callback: Callable[[Call], object]
    """What the loop calls, with this handle, when the call is due (set by :meth:`Loop.call_later`)."""


class Loop(simpy.Environment):
    """A :class:`simpy.Environment` with an inlined :meth:`run`, :meth:`call_later` and a plain ``now``."""

    now: float = 0.0  # type: ignore[assignment]  # shadows SimPy's read-only property with an attribute
    """The current simulated time (a plain attribute: reading it calls nothing)."""

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.now = initial_time
        self._next_eid = self._eid.__next__  # SimPy's own counter, shared with every other event
        for name, obj in simpy.Environment.__dict__.items():  # bind_early binds only this class's own
            if type(obj) is BoundClass:
                setattr(self, name, getattr(self, name))

    def call_later(self, delay: float, callback: Callable[[Call], object]) -> Call:
        """Call ``callback(call)`` ``delay`` seconds from now, in the queue's order as a timeout created now."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        call = Call()  # no __init__ call: the one field set here
        call.callback = callback
        queue: list[Any] = self._queue  # SimPy's keys, with a Call where an event would be
        heappush(queue, (self.now + delay, NORMAL, self._next_eid(), call))
        return call

    def step(self) -> None:
        """Process the next event: a :class:`Call` here, any other event by SimPy's own
        :meth:`~simpy.Environment.step` (what :meth:`run` does inline)."""
        queue: list[Any] = self._queue
        if not queue:
            raise EmptySchedule()
        self.now, _, _, event = queue[0]  # the time first: the event's callbacks read it
        if event.__class__ is Call:
            self._now = heappop(queue)[0]
            event.callback(event)
            return
        super().step()  # pops the same event

    def run(self, until: float | Event | None = None) -> Any:
        """Run until ``until`` (a time, an event, or None: until no event is left), as
        :meth:`simpy.Environment.run`, stepping in one loop."""
        if until is not None:
            if not isinstance(until, Event):
                at = until if isinstance(until, int) else float(until)
                if at <= self.now:
                    raise ValueError(f"until ({at}) must be greater than the current simulation time")
                until = Event(self)
                until._ok = True
                until._value = None
                self.schedule(until, URGENT, at - self.now)
            elif until.callbacks is None:
                return until.value
            until.callbacks.append(StopSimulation.callback)
        queue: list[Any] = self._queue
        call_class = Call
        event: Any
        try:
            while True:
                try:
                    now, _, _, event = heappop(queue)
                except IndexError:
                    break
                self._now = self.now = now
                if event.__class__ is call_class:
                    event.callback(event)
                    continue
                callbacks, event.callbacks = event.callbacks, None
                try:
                    for callback in callbacks:
                        callback(event)
                except StopSimulation:  # the event keeps the callbacks after this one, for when the run resumes
                    event.callbacks = callbacks[callbacks.index(callback) + 1 :]
                    self.schedule(event, EventPriority(-1))
                    raise
                if not event._ok and not hasattr(event, "_defused"):  # failed, and no callback defused it
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    raise exc
        except StopSimulation as stop:
            return stop.args[0]  # the until event's value
        if until is not None:
            assert not until.triggered
            raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}')
        return None
