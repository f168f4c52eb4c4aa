"""Load balancers: how the proxy picks one provider among the candidates it found.

A balancer is a small class registered by name (``@register_balancer("name")``; the policy knob ``balancer``
selects it, and the engine refuses unknown names with the scenario's line). The proxy keeps one instance per edge
in the edge's :class:`~.isolate.Isolate`, so what a balancer remembers (a round-robin position, the requests in
flight, latency averages) is that edge's alone, as in a Worker isolate. ``pick`` is a generator: it may yield
operations (a random draw, a live-load reading) and returns one of ``candidates`` (a non-empty list of worker
records). A balancer that sets ``tracks`` is told when a forward starts and ends (``started``/``finished``), which
is how it counts its own requests in flight and measures latencies.

The load figure a load-aware balancer compares comes from ``load_info``: ``reported`` (the worker record's
``current_load`` as this edge read it: as old as the heartbeat plus the KV cache), ``live`` (the machine's true
current figure, a simulation-only reference point) or ``local`` (this edge's own requests in flight to the
worker) or ``header`` (the load report on the worker's answers: the last ``x-in-flight`` figure this edge read
from a response of the worker, plus this edge's own forwards to it started since that response came back; see
:meth:`Balancer.header_loads`). Ties are broken uniformly at random.

``p2c-probe`` needs no ``load_info``: it asks both of its candidates at pick time (:class:`ProbedTwoChoices`).
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
from collections.abc import Generator
from typing import Any, ClassVar

from ...registry import Registry
from ..ops import IN_FLIGHT, LOAD_PATH, Concurrently, HttpCall, KVFailure, LiveLoad, Random, Response, StrongUpdate
from .isolate import Isolate

__all__ = ["BALANCERS", "Balancer", "edge_balancer", "register_balancer"]

Record = dict[str, Any]
Pick = Generator[Any, Any, Record]

BALANCERS: Registry[type[Balancer]] = Registry("balancer")
#: Decorator: ``@register_balancer("name")`` registers a :class:`Balancer` subclass.
register_balancer = BALANCERS.register

_RANDOM = Random()  # an immutable operation: one instance serves every draw


class Balancer:
    """Base of the balancers: the policy's load settings, this edge's requests in flight, the helpers."""

    uses_load: ClassVar[bool] = False
    """True when ``pick`` compares load figures (so ``load_info: local`` makes it track requests)."""
    tracks_requests: ClassVar[bool] = False
    """True when the balancer needs ``started``/``finished`` whatever ``load_info`` says."""

    def __init__(self, policy: Any) -> None:
        self.load_info: str = getattr(policy, "load_info", "reported")
        self.load_signal: str = getattr(policy, "load_signal", "cpu")
        self.reads_header = self.load_info == "header" and (self.uses_load or self.tracks_requests)
        """True when the balancer weighs the load reports of answers (``load_info: header``): the proxy then asks
        for them and tells it of each answer (:meth:`answered`)."""
        self.tracks = self.tracks_requests or (self.uses_load and self.load_info in ("local", "header"))
        self.in_flight: dict[str, int] = {}
        """Worker id -> this edge's forwards to it not yet answered (kept when ``tracks``)."""
        self.reported: dict[str, tuple[float, float]] = {}
        """Worker id -> (the last ``x-in-flight`` figure read from its answers, when that answer came back)."""
        self.open: dict[str, list[float]] = {}
        """Worker id -> start times of this edge's forwards to it not yet answered (kept when ``reads_header``)."""

    def pick(self, service: str, candidates: list[Record]) -> Pick:
        """Choose one of ``candidates`` for a request for ``service``."""
        raise NotImplementedError

    def started(self, worker_id: str, now: float) -> None:
        """A forward to the worker leaves (``now``: the edge's monotonic clock)."""
        self.in_flight[worker_id] = self.in_flight.get(worker_id, 0) + 1
        if self.reads_header:
            self.open.setdefault(worker_id, []).append(now)

    def answered(self, worker_id: str, start: float, end: float, response: Response) -> None:
        """The forward to the worker that left at ``start`` ended at ``end`` with ``response`` (called after
        :meth:`finished` when ``reads_header``; a failure without a load report leaves the last figure)."""
        self.open[worker_id].remove(start)
        figure = response.header(IN_FLIGHT)
        if figure is not None:
            self.reported[worker_id] = (float(figure), end)

    def header_loads(self, candidates: list[Record]) -> list[float]:
        """``load_info: header``: per candidate, the last figure its answers reported (0 before any) plus this
        edge's forwards to it started since that answer came back. Why not plus all of this edge's own in flight:
        those that left before the answer were at the machine when it answered, so the figure counts them already
        (those that left in the answer's last hop are missed; those that ended since are still counted, until the
        next answer)."""
        reported, opened = self.reported, self.open
        loads = []
        for record in candidates:
            worker_id = record["id"]
            figure, at = reported.get(worker_id, (0.0, -math.inf))
            loads.append(figure + sum(1 for start in opened.get(worker_id, ()) if start >= at))
        return loads

    def finished(self, worker_id: str, now: float, elapsed: float) -> None:
        """The forward to the worker ended after ``elapsed`` seconds (answered, failed or timed out)."""
        self.in_flight[worker_id] -= 1

    shares_counts: ClassVar[bool] = False
    """True when the balancer keeps its counts outside the isolate and must be told, with operations, when a
    forward ends (:meth:`release`)."""

    def release(self, service: str, worker_id: str) -> Generator[Any, Any, None]:
        """A forward to the worker picked for ``service`` ended (only called when ``shares_counts``)."""
        return
        yield

    def loads(self, candidates: list[Record]) -> Generator[Any, Any, list[float]]:
        """The load figure of each candidate, per ``load_info``."""
        if self.load_info == "reported":
            return [float(r.get("current_load") or 0.0) for r in candidates]
        if self.load_info == "local":
            counts = self.in_flight
            return [float(counts.get(r["id"], 0)) for r in candidates]
        if self.load_info == "header":
            return self.header_loads(candidates)
        return list((yield LiveLoad(tuple(r["tunnel_url"] for r in candidates), self.load_signal)))

    @staticmethod
    def lowest(candidates: list[Record], costs: list[float]) -> Pick:
        """The candidate of lowest cost; among equal lowest costs, one uniformly at random."""
        best = min(costs)
        tied = [c for c, cost in zip(candidates, costs, strict=True) if cost == best]
        if len(tied) == 1:
            return tied[0]
        return tied[int((yield _RANDOM) * len(tied))]

    @staticmethod
    def two_distinct(candidates: list[Record]) -> Generator[Any, Any, tuple[Record, Record]]:
        """Two different candidates drawn uniformly at random (``candidates`` has at least two)."""
        n = len(candidates)
        i = int((yield _RANDOM) * n)
        j = int((yield _RANDOM) * (n - 1))
        return candidates[i], candidates[j + 1 if j >= i else j]


@register_balancer("random")
class UniformRandom(Balancer):
    """The seed's ``healthyWorkers[Math.floor(Math.random() * healthyWorkers.length)]`` (flaw #8)."""

    def pick(self, service: str, candidates: list[Record]) -> Pick:
        return candidates[int((yield _RANDOM) * len(candidates))]


@register_balancer("round-robin")
class RoundRobin(Balancer):
    """Each edge walks the candidate list in turn, per service (the list as the index gives it)."""

    def __init__(self, policy: Any) -> None:
        super().__init__(policy)
        self.next: dict[str, int] = {}

    def pick(self, service: str, candidates: list[Record]) -> Pick:
        position = self.next.get(service, 0)
        self.next[service] = position + 1
        return candidates[position % len(candidates)]
        yield  # a generator that needs no operation


@register_balancer("inverse-load")
class InverseLoad(Balancer):
    """Fix #4 as the review writes it: weighted random with weight 1 / (load + 0.1), where a reported load is
    ``w.current_load || 0.5`` -- 0 is falsy in JavaScript, so an idle worker (or one whose record carries no
    load) weighs 1 / 0.6, not 1 / 0.1. Found by ``rmasim conformance`` (docs/conformance.md). Counted loads
    (``load_info: local`` or ``live``) are used as they are: an idle count of 0 is a measurement, not a gap.

    A reported figure is the record's value as a heartbeat stored it, trusted as the review's JavaScript trusts it,
    with JavaScript's arithmetic (:func:`js_inverse_weight`): a forged ``current_load`` of -0.1 weighs
    1 / 0 = Infinity, not a ZeroDivisionError. Weights that are all finite and positive are drawn from as always;
    any other set is drawn by the review's own loop (``random -= weights[i]; if (random <= 0)``), where an
    Infinity or NaN makes every test fail and the last candidate is chosen."""

    uses_load = True

    def pick(self, service: str, candidates: list[Record]) -> Pick:
        if self.load_info == "reported":
            weights = [js_inverse_weight(r.get("current_load")) for r in candidates]
        else:
            weights = [1.0 / (load + 0.1) for load in (yield from self.loads(candidates))]
        draw = yield _RANDOM
        if not all(0.0 < weight < math.inf for weight in weights):
            return js_weighted_pick(candidates, weights, draw)
        threshold = draw * math.fsum(weights)
        total = 0.0
        for record, weight in zip(candidates, weights, strict=True):
            total += weight
            if threshold < total:
                return record
        return candidates[-1]  # rounding: the threshold fell on the very end


_JS_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def js_string(value: Any) -> str:
    """JavaScript's ``String(value)`` for the values a JSON body can carry (an exponent spelt as Python does)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        number = js_number(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return str(int(number)) if number.is_integer() and abs(number) < 1e21 else repr(number)
    if isinstance(value, list):
        return ",".join("" if v is None else js_string(v) for v in value)
    return "[object Object]"


def js_number(value: Any) -> float:
    """JavaScript's ``Number(value)`` for a JSON value: a string by JavaScript's decimal grammar, NaN otherwise."""
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # JSON.parse reads such a literal as +-Infinity
            return math.inf if value > 0 else -math.inf
    if isinstance(value, float):
        return value
    if isinstance(value, list):
        value = js_string(value)
    if isinstance(value, str):
        text = value.strip(" \t\n\r\v\f\u00a0\ufeff\u2028\u2029")
        if not text:
            return 0.0
        if _JS_DECIMAL.fullmatch(text):
            return float(text)
        return {"Infinity": math.inf, "+Infinity": math.inf, "-Infinity": -math.inf}.get(text, math.nan)
    return math.nan


def js_inverse_weight(value: Any) -> float:
    """``1 / ((w.current_load || 0.5) + 0.1)`` evaluated as JavaScript does: a falsy load (absent, 0, NaN, "",
    false) is 0.5; ``+ 0.1`` concatenates to a string load (``"1" + 0.1`` is ``"10.1"``) and the division reads it
    back as a number; dividing by zero is an Infinity of the zero's sign."""
    if value.__class__ is float or value.__class__ is int:  # what agents send
        load = js_number(value) or 0.5
    elif value is None or value is False or value == "":
        load = 0.5
    elif isinstance(value, (str, list, dict)):
        denominator = js_number(js_string(value) + "0.1") if not isinstance(value, dict) else math.nan
        return _js_divide(1.0, denominator)
    else:
        load = js_number(value)
    if load != load:  # NaN is falsy
        load = 0.5
    return _js_divide(1.0, load + 0.1)


def _js_divide(numerator: float, denominator: float) -> float:
    if denominator == 0.0:
        return math.copysign(math.inf, denominator) if numerator > 0 else math.nan
    return numerator / denominator


def js_weighted_pick(candidates: list[Record], weights: list[float], draw: float) -> Record:
    """The review's draw, statement by statement: ``totalWeight = weights.reduce((a, b) => a + b, 0)``, ``random =
    Math.random() * totalWeight``, then the first candidate after which ``random -= weights[i]`` is ``<= 0``, else
    the last (IEEE arithmetic: Infinity - Infinity and 0 * Infinity are NaN, and NaN <= 0 is false)."""
    total = 0.0
    for weight in weights:
        total += weight
    remaining = draw * total
    for record, weight in zip(candidates, weights, strict=True):
        remaining -= weight
        if remaining <= 0:
            return record
    return candidates[-1]


@register_balancer("least-loaded")
class LeastLoaded(Balancer):
    """The candidate with the lowest load figure."""

    uses_load = True

    def pick(self, service: str, candidates: list[Record]) -> Pick:
        return (yield from self.lowest(candidates, (yield from self.loads(candidates))))


@register_balancer("p2c")
class PowerOfTwoChoices(Balancer):
    """Two distinct candidates at random; the lower load wins (Mitzenmacher's power of two choices)."""

    uses_load = True

    def pick(self, service: str, candidates: list[Record]) -> Pick:
        if len(candidates) == 1:
            return candidates[0]
        pair = list((yield from self.two_distinct(candidates)))
        return (yield from self.lowest(pair, (yield from self.loads(pair))))


@register_balancer("least-outstanding")
class LeastOutstanding(Balancer):
    """The candidate to which this edge has the fewest requests in flight (its own count: always fresh). With
    ``load_info: header``, the fewest requests in flight at the machine as its answers report them, plus this edge's
    own since (:meth:`Balancer.header_loads`): every edge's requests, as last seen."""

    tracks_requests = True

    def pick(self, service: str, candidates: list[Record]) -> Pick:
        if self.reads_header:
            return (yield from self.lowest(candidates, self.header_loads(candidates)))
        counts = self.in_flight
        return (yield from self.lowest(candidates, [float(counts.get(r["id"], 0)) for r in candidates]))


def _acquire(counts: Any, arg: tuple[tuple[str, ...], float]) -> tuple[dict[str, int], str]:
    """Inside the Durable Object: the candidate with the fewest requests in flight (ties: the ``draw`` share of
    the way along them), counted one more."""
    ids, draw = arg
    counts = counts or {}
    best = min(counts.get(i, 0) for i in ids)
    tied = [i for i in ids if counts.get(i, 0) == best]
    chosen = tied[int(draw * len(tied))]
    return {**counts, chosen: best + 1}, chosen


def _release(counts: Any, worker_id: str) -> tuple[dict[str, int] | None, None]:
    """Inside the Durable Object: one request fewer in flight to ``worker_id``."""
    counts = dict(counts or {})
    left = counts.get(worker_id, 0) - 1
    if left > 0:
        counts[worker_id] = left
    else:
        counts.pop(worker_id, None)
    return counts or None, None


#: The Durable Object key of a service's requests in flight (``least-outstanding-global``).
IN_FLIGHT_PREFIX = "inflight:"


@register_balancer("least-outstanding-global")
class GlobalLeastOutstanding(Balancer):
    """The candidate with the fewest requests in flight from *every* isolate and location: a Durable Object per
    service counts them, the pick and its increment are one request to it, the end of each forward another (a
    strongly consistent view for one extra round trip; the Durable Object pattern for coordination). Should the
    object be unreachable, the pick falls back to this edge's own counts, as ``least-outstanding``."""

    tracks_requests = True
    shares_counts = True

    def __init__(self, policy: Any) -> None:
        super().__init__(policy)
        self.counted: dict[tuple[str, str], int] = {}
        """(service, worker id) -> this edge's picks counted in the object and not yet released."""

    def pick(self, service: str, candidates: list[Record]) -> Pick:
        ids = tuple(r["id"] for r in candidates)
        try:
            chosen = yield StrongUpdate(IN_FLIGHT_PREFIX + service, _acquire, (ids, (yield _RANDOM)))
        except KVFailure:
            counts = self.in_flight
            return (yield from self.lowest(candidates, [float(counts.get(i, 0)) for i in ids]))
        self.counted[service, chosen] = self.counted.get((service, chosen), 0) + 1
        return candidates[ids.index(chosen)]

    def release(self, service: str, worker_id: str) -> Generator[Any, Any, None]:
        pending = self.counted.get((service, worker_id), 0)
        if pending <= 0:
            return  # picked from local counts while the object was unreachable
        self.counted[service, worker_id] = pending - 1
        with contextlib.suppress(KVFailure):  # else the object keeps one stale count: a bias, not a failure
            yield StrongUpdate(IN_FLIGHT_PREFIX + service, _release, worker_id)


#: p2c-probe: how long a load probe may take (a round trip is 40 ms at the median, 160 ms at the 99th percentile
#: with the default network) before it counts as infinitely loaded.
PROBE_TIMEOUT = 0.25


@functools.lru_cache(maxsize=4096)
def load_probe(url: str, service: str) -> HttpCall:
    """The probe of a worker's load endpoint for ``service`` (``GET /_load/{service}``)."""
    return HttpCall(url, "GET", LOAD_PATH + service, None, PROBE_TIMEOUT)


def probed_load(answer: Any) -> float:
    """The requests in flight a probe's answer gives; a failed probe (no answer in time, refused, not a 200 with a
    figure) is infinitely loaded."""
    if isinstance(answer, Response) and answer.status == 200 and isinstance(answer.body, dict):
        figure = answer.body.get("in_flight")
        if isinstance(figure, (int, float)):
            return float(figure)
    return math.inf


@register_balancer("p2c-probe")
class ProbedTwoChoices(Balancer):
    """Two distinct candidates at random, both machines asked for their requests in flight at once (two probes
    sent concurrently, :class:`~rmasim.system.ops.Concurrently`, each with ``PROBE_TIMEOUT``); the lower answer
    wins, a failed probe loses, two failed probes tie (broken at random). The probed figure counts every edge's
    requests as the machine holds them, at the cost of one round trip (the slower probe's) before every forward
    and two probe requests at the machines per pick.

    Prequal (Wydrowski et al., "Load is not what you should balance", NSDI 2024) keeps an asynchronous pool of
    recent probes per client, refreshed at a rate tied to the client's own requests, so a pick costs no round trip.
    Here a client is one isolate: with 128 isolates sharing 90 requests/s, each sees about 0.7 requests/s, so a pool
    refreshed at that rate holds figures seconds old for machines whose queues turn over every second - as stale as
    the reported load. This is the synchronous form, which pays the round trip and is never stale."""

    def pick(self, service: str, candidates: list[Record]) -> Pick:
        if len(candidates) == 1:
            return candidates[0]
        pair = list((yield from self.two_distinct(candidates)))
        answers = yield Concurrently(tuple(load_probe(r["tunnel_url"], service) for r in pair))
        return (yield from self.lowest(pair, [probed_load(a) for a in answers]))


#: p2c-ewma (Finagle's and Linkerd's peak-EWMA): decay time and the cost of a worker never measured.
EWMA_DECAY = 10.0
EWMA_INITIAL = 0.030


@register_balancer("p2c-ewma")
class PeakEwma(Balancer):
    """Two distinct candidates at random; the lower cost wins, cost = peak-EWMA latency x (in flight + 1).

    The latency estimate of a worker jumps up to a slower observation at once (the peak) and decays towards faster
    ones with time constant ``EWMA_DECAY``, weighting each observation by the time since the previous one; a
    worker not yet measured costs ``EWMA_INITIAL``.
    """

    tracks_requests = True

    def __init__(self, policy: Any) -> None:
        super().__init__(policy)
        self.ewma: dict[str, tuple[float, float]] = {}
        """Worker id -> (latency estimate, time of its last update)."""

    def finished(self, worker_id: str, now: float, elapsed: float) -> None:
        super().finished(worker_id, now, elapsed)
        cost, stamp = self.ewma.get(worker_id, (EWMA_INITIAL, now))
        if elapsed > cost:
            cost = elapsed
        else:
            weight = math.exp(-max(now - stamp, 0.0) / EWMA_DECAY)
            cost = cost * weight + elapsed * (1.0 - weight)
        self.ewma[worker_id] = (cost, now)

    def cost(self, worker_id: str) -> float:
        estimate = self.ewma.get(worker_id, (EWMA_INITIAL, 0.0))[0]
        return estimate * (self.in_flight.get(worker_id, 0) + 1)

    def pick(self, service: str, candidates: list[Record]) -> Pick:
        if len(candidates) == 1:
            return candidates[0]
        pair = list((yield from self.two_distinct(candidates)))
        return (yield from self.lowest(pair, [self.cost(r["id"]) for r in pair]))


def edge_balancer(isolate: Isolate, policy: Any) -> Balancer:
    """This edge's balancer for the policy (created on the edge's first request)."""
    balancer = isolate.state.get("balancer")  # Isolate.kept, inline: every routed request asks
    if balancer is None:
        balancer = isolate.state["balancer"] = BALANCERS[policy.balancer](policy)
    return balancer  # type: ignore[no-any-return]
