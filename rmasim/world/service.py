"""Service containers: a FIFO queue in front of ``capacity`` slots, computed at arrival, with crashes.

Model (DESIGN.md section 4, "Service containers" and its "Speed note"): a container (``rag``, ``upload``,
...) runs on an agent with a version, ``capacity`` concurrent slots, a service-time distribution and a speed
factor. Requests queue FIFO behind the slots. Because the discipline is FIFO and arrivals come in time
order, each request's schedule is known the moment it arrives: ``start = max(arrival, earliest free slot)``
and ``finish = start + service_time() / speed``, kept in a heap of slot free times. No SimPy process per
request is needed; the runtime only waits until ``finish`` (or a timeout) for the caller.

Crashes: :meth:`ServiceContainer.crash` takes the container down at ``now``; every admission not finished by
then (``finish > now``, queued or running) fails. The container keeps an *epoch* that a crash bumps and
remembers when each epoch ended, so :meth:`ServiceContainer.completed_ok` tells whether an admission really
completed (call it at ``admission.finish``). A down container admits nothing (``submit`` returns None, the
caller sees a connection error); :meth:`ServiceContainer.restart` brings it back empty.

Service faults (set by the chaos layer, per container, whatever its agent does): ``slow`` multiplies the
service time of requests admitted while it is set; ``error_rate`` ends that share of admissions in an error (the
caller gets a 500 at ``finish``; one uniform draw per admission, only while the rate is positive); ``hung``
admits requests that never finish (their ``finish`` is infinite, so callers time out) and makes health checks
time out too.

Load signals the agent reports (DESIGN.md section 4): ``cpu`` = :meth:`busy_fraction` over the last second,
busy slot-seconds / (capacity x window), saturating at 1.0 like psutil; ``queue`` = :meth:`in_flight` /
capacity, where in-flight counts admitted and unfinished requests (running plus queued).

Accounting for the load figures (:mod:`rmasim.observe.load`), exact and kept at admission over the measurement
window from :attr:`ServiceContainer.measure_from` (the scenario's warmup) on; :meth:`ServiceContainer.stats`
closes it at the end of the run:

- *busy slot-seconds* in the window: each admission adds the part of ``[start, finish]`` after
  ``measure_from``; a crash takes back what it cancels (running work stops at the crash, queued work never runs)
  and ``stats(end)`` what would run after ``end``;
- per admission that arrives in the window: whether it *waited* (``start > arrival``) and how long, as
  scheduled at arrival (the Erlang C figures);
- the *in-flight count each such arrival finds* (admitted and unfinished, itself excluded), as a histogram.
  Sampling at arrivals is cheap (the unfinished finishes are already in a heap) and is what a request
  experiences; when arrivals are Poisson (the workload, thinned by a random balancer) it has the time-average
  distribution too (PASTA).

Hung and refused admissions (no slot) are left out of all three.

Admission control (the ``admission_wait`` knob, kept by the agent that fronts its containers): a request whose
wait for a slot would exceed the bound is refused on arrival, without queueing, and its caller gets a fast 503
(CoDel's queueing-delay target, Nichols and Jacobson 2012; the bounded queues of Facebook's Thrift servers).

Deadlines (the ``deadline_propagation`` knob): a request may carry the time its caller gives up. FIFO order
means its turn is known on arrival (the agent in front of the container knows the queue; the model knows the
turn exactly); when that turn plus the expected service time (the distribution's mean) comes at or after the
deadline, the request is refused at once, so work nobody will
wait for takes no capacity and its caller can try elsewhere - the cure for the retry-amplified queue that never
drains (a metastable failure: Bronson et al., HotOS 2021). Work already started runs to its end.

Example (capacity 2, three arrivals at t=0, 1 s each)::

    >>> c = ServiceContainer("rag", capacity=2, service_time=lambda: 1.0)
    >>> [(a.start, a.finish) for a in (c.submit(0.0), c.submit(0.0), c.submit(0.0))]
    [(0.0, 1.0), (0.0, 1.0), (1.0, 2.0)]
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from rmasim.world.rng import Sampler

__all__ = ["Admission", "ContainerStats", "ServiceContainer"]

_INF = math.inf


class Admission(NamedTuple):
    """The schedule of one admitted request: ``start`` and ``finish`` (true seconds), its epoch, and whether it
    ends in an error (``error_rate``). A named tuple: immutable, and built for every request at a third of a frozen
    dataclass's cost."""

    start: float
    finish: float
    epoch: int
    error: bool = False
    refused: bool = False
    """Refused at once (its turn would come after its caller's deadline, or after ``admission_wait``): ``start`` =
    ``finish`` = arrival, nothing queued."""


@dataclass(frozen=True, slots=True)
class ContainerStats:
    """A container's accounting over the measurement window ``[measure_from, end]`` (see the module docstring)."""

    capacity: int
    busy: float
    """Busy slot-seconds within the window."""
    arrivals: int
    """Admissions that arrived in the window."""
    waited: int
    """Of those, the ones that queued for a slot (``start > arrival``)."""
    wait: float
    """Their total wait, seconds."""
    in_flight_seen: tuple[int, ...]
    """``in_flight_seen[k]``: arrivals in the window that found ``k`` admissions in flight."""


class ServiceContainer:
    """A FIFO multi-slot server whose schedule is computed on arrival."""

    def __init__(
        self,
        name: str,
        capacity: int,
        service_time: Callable[[], float],
        speed: float = 1.0,
        version: str = "1.0",
        history: float = 10.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.name = name
        self.capacity = int(capacity)
        self.service_time = service_time
        self.speed = float(speed)
        self.version = version
        self.history = float(history)  # seconds of admissions kept for busy_fraction
        self.up = True
        self.slow = 1.0
        """Service-time multiplier (a ``service_slow`` fault)."""
        self.error_rate = 0.0
        """Share of admissions that end in an error (a ``service_errors`` fault)."""
        self.hung = False
        """Admits requests that never finish, and health checks time out (a ``service_hang`` fault)."""
        self._rng = rng if rng is not None else np.random.default_rng(0)
        self.epoch = 0
        self.admitted = 0
        self.expected_service = 0.0
        """The service time the agent expects at speed 1 (the distribution's mean; it does not know of a
        ``service_slow`` fault): a request whose turn plus this / speed would come after its deadline is refused."""
        self.admission_wait = math.inf
        """Admission control: a request that would wait longer than this for a slot is refused at once."""
        self.refused = 0
        """Requests refused on arrival (past their deadline at their turn, or beyond ``admission_wait``)."""
        self._free: list[float] = [0.0] * self.capacity  # heap of slot free times
        self._recent: deque[tuple[float, float]] = deque()  # (start, finish) by start time
        self._finishes: list[float] = []  # heap of unfinished admissions' finish times
        self._crashed_at: dict[int, float] = {}  # epoch -> true time it ended by a crash
        self.measure_from = 0.0
        """Start of the measurement window of :meth:`stats` (the observer sets the scenario's warmup)."""
        self._busy = 0.0  # busy slot-seconds from measure_from on, as scheduled (crashes take back what they cancel)
        self._waited = 0
        self._wait = 0.0
        self._seen: list[int] = []  # _seen[k]: arrivals from measure_from on that found k in flight

    @classmethod
    def from_config(cls, cfg: Any, name: str, rng: np.random.Generator, speed: float = 1.0) -> ServiceContainer:
        """Build from an object with ``capacity``, ``service_time`` (a dist), ``version`` (ServiceConfig)."""
        container = cls(
            name=name,
            capacity=getattr(cfg, "capacity", 1),
            service_time=Sampler(cfg.service_time, rng),
            speed=speed,
            version=getattr(cfg, "version", "1.0"),
            rng=rng,
        )
        container.expected_service = float(getattr(cfg.service_time, "mean", 0.0))
        return container

    def submit(self, now: float, deadline: float = math.inf) -> Admission | None:
        """Admit a request arriving at ``now`` and return its schedule, or None when the container is down.

        ``deadline``: when the caller gives up (a propagated timeout, as gRPC's ``grpc-timeout``). A request that
        could not be done by then (its turn plus :attr:`expected_service`), or that would wait longer than
        :attr:`admission_wait`, is refused
        at once (:attr:`Admission.refused`): it takes no slot time and its caller learns it without waiting.
        """
        if not self.up:
            return None
        if self.hung:
            self.admitted += 1
            return Admission(now, math.inf, self.epoch)
        free = self._free[0]
        start = now if now > free else free
        late = deadline < _INF and start + self.expected_service / self.speed >= deadline
        if late or start - now > self.admission_wait:
            self.refused += 1
            return Admission(now, now, self.epoch, refused=True)
        finish = start + self.service_time() / self.speed * self.slow
        heapq.heapreplace(self._free, finish)  # the slot taken (the earliest free) is free again at finish
        finishes = self._finishes
        while finishes and finishes[0] <= now:
            heapq.heappop(finishes)
        if now >= self.measure_from:
            n = len(finishes)
            try:
                self._seen[n] += 1
            except IndexError:  # the longest queue yet: grow the histogram
                self._seen.extend([0] * (n - len(self._seen)) + [1])
            if start > now:
                self._waited += 1
                self._wait += start - now
            self._busy += finish - start
        elif finish > self.measure_from:
            self._busy += finish - max(start, self.measure_from)
        heapq.heappush(finishes, finish)
        recent = self._recent
        recent.append((start, finish))
        cutoff = now - self.history
        while recent and recent[0][1] < cutoff:
            recent.popleft()
        self.admitted += 1
        if self.error_rate > 0.0 and self._rng.random() < self.error_rate:
            return Admission(start, finish, self.epoch, True)
        return Admission(start, finish, self.epoch)

    def completed_ok(self, admission: Admission) -> bool:
        """True unless a crash failed ``admission`` (its epoch ended before it finished); ask at finish."""
        crashed_at = self._crashed_at.get(admission.epoch)
        return crashed_at is None or admission.finish <= crashed_at

    def crash(self, now: float) -> int:
        """Go down at ``now``, failing every unfinished admission; returns how many (0 when already down)."""
        if not self.up:
            return 0
        failed = self.in_flight(now)
        self._busy -= self._busy_after(now)
        self.up = False
        self._crashed_at[self.epoch] = now
        self.epoch += 1
        self._free = [now] * self.capacity
        self._finishes = []
        # Work stops at the crash: truncate running admissions, drop queued ones.
        self._recent = deque((s, min(f, now)) for s, f in self._recent if s < now)
        return failed

    def restart(self, now: float) -> None:
        """Come back up at ``now`` with every slot free. Restarting a running container crashes it first."""
        if self.up:
            self.crash(now)
        self.up = True
        self._free = [now] * self.capacity

    def _busy_after(self, t: float) -> float:
        """Busy slot-seconds counted in the window that the schedule puts after ``t``."""
        cut = max(t, self.measure_from)
        return sum(f - max(s, cut) for s, f in self._recent if f > cut)

    def stats(self, end: float) -> ContainerStats:
        """The accounting over ``[measure_from, end]``, ``end`` at or after the latest arrival."""
        return ContainerStats(
            capacity=self.capacity,
            busy=self._busy - self._busy_after(end),
            arrivals=sum(self._seen),
            waited=self._waited,
            wait=self._wait,
            in_flight_seen=tuple(self._seen),
        )

    def in_flight(self, now: float) -> int:
        """Admitted requests not finished at ``now`` (running plus queued)."""
        finishes = self._finishes
        while finishes and finishes[0] <= now:
            heapq.heappop(finishes)
        return len(finishes)

    def busy_fraction(self, t0: float, t1: float) -> float:
        """Busy slot-seconds within [t0, t1] / (capacity x (t1 - t0)), at most 1.0.

        Exact for windows that start within ``history`` seconds of the latest arrival.
        """
        if t1 <= t0:
            raise ValueError(f"empty window [{t0}, {t1}]")
        busy = 0.0
        for start, finish in self._recent:
            if start >= t1:
                break  # FIFO: later admissions start later still
            lo = start if start > t0 else t0
            hi = finish if finish < t1 else t1
            if hi > lo:
                busy += hi - lo
        return min(1.0, busy / (self.capacity * (t1 - t0)))

    def cpu(self, now: float, window: float = 1.0) -> float:
        """The agent's ``cpu`` signal: busy fraction over the last ``window`` seconds."""
        return self.busy_fraction(now - window, now)

    def __repr__(self) -> str:
        state = "up" if self.up else "down"
        return f"ServiceContainer({self.name!r}, capacity={self.capacity}, speed={self.speed}, {state})"
