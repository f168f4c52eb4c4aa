"""What the per-request checkers read: the totals of the client requests that arrived in a window of time.

A run keeps its requests one of two ways (the scenario's ``request_records``):

* **rows** (:class:`~rmasim.observe.recorder.RequestLog`, the default): one row per request, about 33 bytes, so a
  fleet day of 1.7 M requests holds some 57 MB, and any window can be cut afterwards. Its :meth:`totals` are
  exact: percentiles are numpy's (linear interpolation between order statistics).
* **totals** (:class:`RequestTotals`): running sums per window, updated as each request finishes, and nothing
  per request, so memory does not grow with the simulated duration. The windows must be known before the run:
  the measured one, ``[warmup, end)``, and each scenario phase. Counts, rates, shares and the broken-container
  times are the same numbers as the rows give; a latency mean is a running sum (its last bits may differ from
  numpy's pairwise sum); latency percentiles come from a :class:`LatencyHistogram` and are within
  ``2**-9`` (0.2%) of the exact ones, relative.

Both produce a :class:`WindowTotals`, so each per-request checker has one code path.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Protocol

import numpy as np

from .outcomes import OUTCOME_CODES, OUTCOMES

__all__ = ["ExactLatencies", "Latencies", "LatencyHistogram", "RequestTotals", "ServiceTotals", "WindowTotals"]

_OK = OUTCOME_CODES["ok"]


class Latencies(Protocol):
    """The latencies of a set of requests, as far as the checkers ask about them."""

    @property
    def size(self) -> int: ...

    def mean(self) -> float: ...

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0-100), linearly interpolated between order statistics as numpy's default."""
        ...


class ExactLatencies:
    """Every latency, as a numpy array (the rows' answer)."""

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    @property
    def size(self) -> int:
        return int(self.values.size)

    def mean(self) -> float:
        return float(self.values.mean())

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.values, q))


class LatencyHistogram:
    """Counts of latencies in log-linear bins: :data:`SUB` bins per power of two, so a bin is at most ``1/SUB`` of
    its lower edge wide and its midpoint is within ``2**-9`` of any value in it (relative), whatever the range; an
    order statistic is estimated by its bin's midpoint, a percentile by interpolating two of them as numpy does.
    Memory: one counter per occupied bin (16 binary orders of magnitude of latency are 4,096 bins at most)."""

    SUB = 256

    __slots__ = ("_bins", "_sum", "size", "zeros")

    def __init__(self) -> None:
        self._bins: dict[int, int] = {}
        self._sum = 0.0
        self.size = 0
        self.zeros = 0
        """Latencies of 0 (or below: none in a run), kept apart: a log bin cannot hold them."""

    def add(self, value: float) -> None:
        self.size += 1
        self._sum += value
        if value <= 0.0:
            self.zeros += 1
            return
        mantissa, exponent = math.frexp(value)  # value = mantissa * 2**exponent, 0.5 <= mantissa < 1
        key = exponent * self.SUB + int((mantissa - 0.5) * 2 * self.SUB)
        bins = self._bins
        bins[key] = bins.get(key, 0) + 1

    def mean(self) -> float:
        return self._sum / self.size

    @classmethod
    def merged(cls, parts: list[Latencies]) -> LatencyHistogram:
        """One histogram of the latencies of all ``parts`` (histograms)."""
        whole = cls()
        for part in parts:
            if not isinstance(part, LatencyHistogram):
                raise TypeError(f"only histograms merge, not {type(part).__name__}")
            whole.size += part.size
            whole.zeros += part.zeros
            whole._sum += part._sum
            for key, n in part._bins.items():
                whole._bins[key] = whole._bins.get(key, 0) + n
        return whole

    def _midpoint(self, key: int) -> float:
        exponent, k = divmod(key, self.SUB)
        return math.ldexp(0.5 + (k + 0.5) / (2 * self.SUB), exponent)

    def percentile(self, q: float) -> float:
        if not self.size:
            raise ValueError("no latencies")
        keys = sorted(self._bins)
        ends = list(accumulate((self._bins[k] for k in keys), initial=self.zeros))  # ends[i]: ranks below keys[i]

        def order_statistic(i: int) -> float:  # the i-th smallest (from 0)
            if i < self.zeros:
                return 0.0
            return self._midpoint(keys[bisect_right(ends, i) - 1])

        rank = (self.size - 1) * q / 100.0
        low = math.floor(rank)
        value = order_statistic(low)
        if rank > low:
            value += (rank - low) * (order_statistic(low + 1) - value)
        return value


@dataclass
class ServiceTotals:
    """One service's requests in a window."""

    requests: int = 0
    ok: int = 0
    latency: Latencies = field(default_factory=LatencyHistogram)
    """Of its requests served ok."""
    served_by: dict[str, int] = field(default_factory=dict)
    """Version -> requests served ok by a container of that version."""


@dataclass
class WindowTotals:
    """The client requests that arrived in one window: what the per-request checkers summarise."""

    outcomes: list[int] = field(default_factory=lambda: [0] * len(OUTCOMES))
    """Requests per outcome, by code (:data:`~rmasim.observe.outcomes.OUTCOME_CODES`)."""
    attempts: int = 0
    """Forwards, every attempt of every request (stored capped at 255 a request, as the rows store it)."""
    retries: int = 0
    """Forwards beyond each request's first."""
    refused: int = 0
    """Forwards refused by a container of another version (412)."""
    latency: Latencies = field(default_factory=LatencyHistogram)
    """Of the requests served ok."""
    services: dict[str, ServiceTotals] = field(default_factory=dict)
    """Service -> its totals, for each service with a request in the window."""
    versions: list[str] = field(default_factory=list)
    """Every version that served a request in the run, in the order first seen (the shares' columns)."""
    to_broken: int = 0
    """Requests with a forward to a live machine whose container was broken."""
    first_broken: float | None = None
    last_broken: float | None = None
    """Earliest and latest arrival of those requests (None: none)."""

    @property
    def requests(self) -> int:
        return sum(self.outcomes)

    @property
    def ok(self) -> int:
        return self.outcomes[_OK]


class _Window:
    __slots__ = ("end", "start", "totals")

    def __init__(self, start: float, end: float) -> None:
        self.start = start
        self.end = end
        self.totals = WindowTotals()


class RequestTotals:
    """Running totals of the finished client requests, per window given up front (``(start, end)``, arrivals in
    ``[start, end)``), and over the whole run the clients' 400 answers and each last forward's target. Stands where
    the :class:`~rmasim.observe.recorder.RequestLog` stands (``append``, ``services``, ``len``) and keeps nothing
    per request."""

    rows = False

    def __init__(self, windows: list[tuple[float, float]]) -> None:
        self._windows = [_Window(start, end) for start, end in dict.fromkeys(windows)]
        self.services: dict[str, int] = {}
        """Service -> code, in the order first seen (as the rows keep it)."""
        self.versions: list[str] = []
        self.bad_requests = 0
        """Requests the coordinator answered 400, arrived at any time."""
        self.target_counts: dict[str, int] = {}
        """Target of the last forward -> requests, arrived at any time."""
        self.down_forwards: list[tuple[float, str]] = []
        """(arrival, target) of each request whose last forward went to a machine that was down: one entry per
        such request (it grows with the failures, not with the duration)."""
        self._n = 0

    def add_window(self, start: float, end: float) -> None:
        """Keep the totals of ``[start, end)`` too (before the first request only)."""
        if self._n:
            raise RuntimeError("request windows are fixed once requests are counted")
        if not any(w.start == start and w.end == end for w in self._windows):
            self._windows.append(_Window(start, end))

    def forwards_to_down(self) -> list[tuple[float, str]]:
        """(arrival, target) of each request whose last forward went to a machine that was down."""
        return list(self.down_forwards)

    def __len__(self) -> int:
        return self._n

    def append(self, record: Any, outcome: str) -> None:
        """One finished request (a :class:`~rmasim.runtime.RequestRecord`) and its outcome."""
        self._n += 1
        service = record.service
        if service not in self.services:
            self.services[service] = len(self.services)
        version = record.version
        if version is not None and version not in self.versions:
            self.versions.append(version)
        if record.status == 400:
            self.bad_requests += 1
        target = record.target
        if target is not None:
            self.target_counts[target] = self.target_counts.get(target, 0) + 1
            if record.target_up is False:
                self.down_forwards.append((record.t_arrival, target))
        t = record.t_arrival
        code = OUTCOME_CODES[outcome]
        attempts = record.attempts if record.attempts < 255 else 255
        refused = record.refused if record.refused < 255 else 255
        for window in self._windows:
            if window.start <= t < window.end:
                self._add(window.totals, record, service, code, attempts, refused)

    def _add(self, totals: WindowTotals, record: Any, service: str, code: int, attempts: int, refused: int) -> None:
        totals.outcomes[code] += 1
        totals.attempts += attempts
        totals.retries += attempts - 1 if attempts > 1 else 0
        totals.refused += refused
        mine = totals.services.get(service)
        if mine is None:
            mine = totals.services[service] = ServiceTotals()
        mine.requests += 1
        if code == _OK:
            latency = record.t_done - record.t_arrival  # the window's histogram is its services' (see totals())
            mine.ok += 1
            mine.latency.add(latency)  # type: ignore[attr-defined]
            if record.version is not None:
                mine.served_by[record.version] = mine.served_by.get(record.version, 0) + 1
        if record.target_broken:
            t = record.t_arrival
            totals.to_broken += 1
            if totals.first_broken is None or t < totals.first_broken:
                totals.first_broken = t
            if totals.last_broken is None or t > totals.last_broken:
                totals.last_broken = t

    def totals(self, start: float, end: float) -> WindowTotals:
        """The totals of the requests that arrived in ``[start, end)``: one of the windows given up front."""
        for window in self._windows:
            if window.start == start and window.end == end:
                totals = window.totals
                totals.versions = list(self.versions)
                totals.latency = LatencyHistogram.merged([s.latency for s in totals.services.values()])
                return totals
        kept = ", ".join(f"[{w.start:g}, {w.end:g})" for w in self._windows)
        raise ValueError(f"no request totals for [{start:g}, {end:g}): this run kept totals for {kept} only")
