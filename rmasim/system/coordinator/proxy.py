"""The service proxy ``/api/service/{name}/...``: pick a worker for the service and forward to its tunnel.

Baseline, as reviewed: read ``service:{name}`` (other ``registry_layout`` values: their provider list); read each
listed worker's record; keep those whose record exists and whose *stored* status is healthy - no heartbeat age
check (flaw #2), no per-service health (flaw #5); choose uniformly at random (flaw #8); forward once with only the
platform's timeout (flaws #9, #10); no retry. When the index is empty or no candidate is left, answer 503 (the
seed's ``gracefulFallback``). A failed forward is answered 502 (connection failure) or 504 (timeout).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator
from typing import Any

from ...scenario.versions import PinRule
from ..ops import (
    BULK_GET_LIMIT,
    EXPECTED_VERSION,
    LOAD_REPORT,
    REQUEST_TIMEOUT,
    ConnectError,
    HttpCall,
    KvGet,
    KvGetMany,
    Now,
    Random,
    Request,
    RequestTimeout,
    Respond,
    Response,
    Sleep,
    Trace,
)
from .balancers import edge_balancer
from .breaker import Breakers
from .isolate import Isolate
from .keys import service_key, worker_key
from .layout import LAYOUTS, Layout
from .outlier import OutlierDetector
from .registry import Handler
from .retry import BACKOFF_MAX, BACKOFF_MIN, RetryBudget
from .tunnels import tunnel_problem
from .validation import MAX_ROUTE_TABLES

SHARED_LISTS = LAYOUTS["shared_lists"]
_MONOTONIC = Now(monotonic=True)


def healthy_candidates(records: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Records that exist and say ``status == 'healthy'`` (the baseline's only filter)."""
    return [r for r in records if r is not None and r.get("status") == "healthy" and r.get("tunnel_url")]


def serves(record: dict[str, Any], service: str) -> bool:
    """Fix #3: false only when the worker's last report says ``service`` is unhealthy."""
    return record.get("service_health", {}).get(service) != "unhealthy"


@functools.lru_cache(maxsize=1024)
def serving_candidates(service: str) -> Callable[[tuple[Any, ...]], list[dict[str, Any]]]:
    """Fix #3's filter for ``service``: the baseline's candidates less those whose last report says the service is
    unhealthy (a provider that never reported is kept)."""

    def candidates(records: tuple[Any, ...]) -> list[dict[str, Any]]:
        return [r for r in healthy_candidates(records) if serves(r, service)]

    return candidates


def unavailable(service: str, reason: str = "no_provider") -> Response:
    """The 503 of a request the proxy cannot forward (the seed's ``gracefulFallback``), with why."""
    return Response(503, {"error": f"service {service} unavailable", "reason": reason})


def record_reads(ids: list[str]) -> tuple[KvGetMany, ...]:
    """The bulk reads of the ``worker:{id}`` records an index value lists: one per 100 ids (Workers KV's limit)."""
    keys = tuple(worker_key(i) for i in ids)
    return tuple(KvGetMany(keys[i : i + BULK_GET_LIMIT]) for i in range(0, len(keys), BULK_GET_LIMIT))


# Operations are immutable values, so the proxy reuses equal ones instead of building them per request (a
# measurable share of a routed request's cost; see benchmarks/fleet_day.py).
@functools.lru_cache(maxsize=1024)
def index_read(service: str) -> KvGet:
    """The read of ``service:{name}``."""
    return KvGet(service_key(service))


@functools.lru_cache(maxsize=4096)
def forward(url: str, method: str, path: str, timeout: float, headers: tuple[tuple[str, str], ...] = ()) -> HttpCall:
    """A body-less forward to a tunnel."""
    return HttpCall(url, method, path, None, timeout, headers)


def clean_stale_entries(
    service: str, ids: list[str], records: tuple[Any, ...], offline_after: float, layout: Layout
) -> Generator[Any, Any, list[dict[str, Any]]]:
    """Fix #2: drop ids with no record or a heartbeat older than ``offline_after`` from the index; the rest with
    a tunnel URL are the candidates. (With the seed's lists, the filtered list as read is written back.)"""
    now = yield Now()
    healthy, stale = [], []
    for worker_id, record in zip(ids, records, strict=True):
        if record is None or now - record["last_heartbeat"] > offline_after:
            stale.append(worker_id)
        elif record.get("tunnel_url"):
            healthy.append(record)
    if stale:
        yield from layout.purge(set(stale), {service: ids})
    return healthy


def service_proxy(req: Request, policy: Any, isolate: Isolate, service: str, rest: str) -> Handler:
    """Route one request for ``service``; ``rest`` is the path after ``/api/service/{name}``."""
    layout = LAYOUTS[policy.registry_layout]
    if layout is SHARED_LISTS:  # the hot path of the seed's layout, inline
        ids = yield index_read(service)
        if not ids:
            return unavailable(service)
        reads = isolate.derived("keys:" + service, ids, record_reads)
        if len(reads) == 1:
            records = yield reads[0]
        else:
            records = ()
            for read in reads:
                records += yield read
    else:
        limit = MAX_ROUTE_TABLES if policy.validate_requests else None
        ids, records = yield from layout.route_table(service, isolate, policy.route_cache, limit)
        if not ids:
            return unavailable(service)
    if policy.stale_cleanup == "on_route":
        candidates = yield from clean_stale_entries(service, ids, records, policy.offline_after, layout)
        if len(candidates) < len(ids):
            layout.forget_route_table(service, isolate)
        if policy.service_health:
            candidates = [r for r in candidates if serves(r, service)]
    elif policy.service_health:
        candidates = isolate.derived("serving:" + service, records, serving_candidates(service))
    else:
        candidates = isolate.derived("healthy:" + service, records, healthy_candidates)
    expected = False
    others: list[dict[str, Any]] = []
    if policy.version_routing:
        rule = policy.versions.get(service, "any")
        if rule != "any":
            candidates, others = yield from versioned(rule, service, candidates)
            expected = True
    if not candidates:
        return unavailable(service)
    if not (policy.retries or policy.outlier_ejection or policy.circuit_breaker or expected):
        return (yield from forward_once(req, policy, isolate, service, rest, candidates))
    return (yield from forward_with_retries(req, policy, isolate, service, rest, candidates, expected, others))


def version_of(record: dict[str, Any], service: str) -> str | None:
    """The version the worker's record gives for ``service`` (None when it lists no such service)."""
    for entry in record.get("services", ()):
        if entry.get("name") == service:
            return str(entry.get("version"))
    return None


def versioned(
    rule: Any, service: str, candidates: list[dict[str, Any]]
) -> Generator[Any, Any, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """The candidates a version rule allows (:mod:`rmasim.scenario.versions`), and the fallback when none of them
    can serve. A pin allows its version's providers, with no fallback. A canary split with providers on both sides
    draws a side by weight, the other side being the fallback (a split shares traffic; it must not fail a request
    that the other side could serve); with one side empty, every candidate is allowed."""
    if isinstance(rule, PinRule):
        return [c for c in candidates if version_of(c, service) == rule.pin], []
    split = rule.canary
    canary = [c for c in candidates if version_of(c, service) == split.version]
    if not canary or len(canary) == len(candidates):
        return candidates, []
    rest = [c for c in candidates if version_of(c, service) != split.version]
    if (yield Random()) < split.weight:
        return canary, rest
    return rest, canary


#: Providers tried at once after refusals for load, per request, on top of its retries (each paid by the budget).
REFUSED_TRIES = 2


def refused_for_load(response: Response) -> bool:
    """A provider's admission control refused the forward (503 with ``retry_after``): it is busy, not sick, so
    breakers and outlier ejection leave it out, and the work was not done, so another provider may be tried."""
    return response.status == 503 and isinstance(response.body, dict) and "retry_after" in response.body


def forward_once(
    req: Request, policy: Any, isolate: Isolate, service: str, rest: str, candidates: list[dict[str, Any]]
) -> Handler:
    """Pick one provider and forward once (the seed)."""
    balancer = edge_balancer(isolate, policy)
    target = yield from balancer.pick(service, candidates)
    if not balancer.tracks:  # what forward_through does then, one generator fewer on the hot path
        return (yield from forward_to(target, req, policy, service, rest))
    return (yield from forward_through(balancer, target, req, policy, service, rest))


def forward_through(
    balancer: Any, target: dict[str, Any], req: Request, policy: Any, service: str, rest: str, expected: bool = False
) -> Handler:
    """``forward_to``; when the balancer tracks requests, telling it when the forward starts and ends (its
    in-flight counts, its latencies)."""
    if not balancer.tracks:
        return (yield from forward_to(target, req, policy, service, rest, expected))
    start = yield _MONOTONIC
    balancer.started(target["id"], start)
    report = balancer.reads_header
    response = yield from forward_to(target, req, policy, service, rest, expected, report)  # failures: answers
    end = yield _MONOTONIC
    balancer.finished(target["id"], end, end - start)
    if report:
        balancer.answered(target["id"], start, end, response)
    if balancer.shares_counts:
        if response.status < 500 and not (expected and response.status == 412):  # the answer the client gets
            yield Respond(response)  # first: the count is released after it, as ctx.waitUntil() work
        yield from balancer.release(service, target["id"])
    return response


def forward_to(
    target: dict[str, Any],
    req: Request,
    policy: Any,
    service: str,
    rest: str,
    expected: bool = False,
    report: bool = False,
) -> Handler:
    """Forward to ``target``'s tunnel within the service's timeout (``service_timeouts``, else ``request_timeout``):
    its answer, 502 on a connection failure, 504 on a timeout. ``expected``: name the version the target's record
    gives (a container of another version answers 412). ``report``: ask for the load report header
    (``load_info: header``)."""
    timeout = policy.service_timeouts.get(service, policy.request_timeout)
    headers: tuple[tuple[str, str], ...] = ((EXPECTED_VERSION, str(version_of(target, service))),) if expected else ()
    if policy.deadline_propagation:
        headers += ((REQUEST_TIMEOUT, f"{timeout:g}"),)
    if report:
        headers += ((LOAD_REPORT, "in-flight"),)
    if policy.tunnel_validation:  # again at every forward: the name may resolve elsewhere now (DNS rebinding)
        problem = yield from tunnel_problem(target.get("tunnel_url"), policy.tunnel_domains)
        if problem is not None:
            return Response(502, {"error": "tunnel refused", "reason": problem, "worker_id": target["id"]})
    try:
        path = f"/{service}{rest}"
        if req.body is None:
            return (yield forward(target["tunnel_url"], req.method, path, timeout, headers))
        return (yield HttpCall(target["tunnel_url"], req.method, path, req.body, timeout, headers))
    except ConnectError:
        return Response(502, {"error": "worker unreachable", "worker_id": target["id"]})
    except RequestTimeout:
        return Response(504, {"error": "worker timed out", "worker_id": target["id"]})


def forward_with_retries(
    req: Request,
    policy: Any,
    isolate: Isolate,
    service: str,
    rest: str,
    candidates: list[dict[str, Any]],
    expected: bool = False,
    fallback: list[dict[str, Any]] | None = None,
) -> Handler:
    """The resilient forward. ``circuit_breaker``: only providers whose breaker lets a forward through (none: the
    request is shed, 503), every result reported (see :mod:`.breaker`). ``outlier_ejection``: skip the providers
    this edge ejected, and report every forward (see :mod:`.outlier`). ``retries``: after a failed forward
    (connection failure, timeout, 5xx), wait a jittered backoff and try another provider, while providers remain
    and the edge's retry budget pays (see :mod:`.retry`); a provider's refusal for load (:func:`refused_for_load`)
    is tried elsewhere at once (up to ``REFUSED_TRIES`` times), paid by the budget without spending one of the
    request's retries. ``expected``: a
    provider refusing for its version (412, stale registry data) is dropped and another tried at once - no work
    was done, so no retry is spent. When no candidate is left, the ``fallback`` providers (the other side of a
    canary split) take their place, once."""
    budget = (
        isolate.kept("retry_budget", lambda: RetryBudget(policy.retry_budget_percent, policy.retry_budget_min_per_sec))
        if policy.retries
        else None
    )
    detector = (
        isolate.kept("outliers", lambda: OutlierDetector(policy.outlier_release == "heartbeat"))
        if policy.outlier_ejection
        else None
    )
    breakers = isolate.kept("breakers", lambda: Breakers(policy)) if policy.circuit_breaker else None
    now = yield _MONOTONIC
    if budget is not None:
        budget.deposit(now)
    left = list(candidates)
    if breakers is not None:
        left = breakers.permitted(service, left, now)
        if not left:
            return unavailable(service, "breaker_open")
    if detector is not None:
        left = detector.routable(service, left, now)
        if not left and fallback:  # every provider of this side is out: the other side of the split serves
            left, fallback = detector.routable(service, fallback, now), None
        if not left:
            return unavailable(service, "ejected")
    retries = policy.retries
    refusals = 0
    balancer = edge_balancer(isolate, policy)
    while True:
        target = yield from balancer.pick(service, left)
        if breakers is not None:
            breakers.acquire(target["id"], service)
        response = yield from forward_through(balancer, target, req, policy, service, rest, expected)
        left = [c for c in left if c["id"] != target["id"]]
        if not left and fallback:
            left, fallback = fallback, None
        if response.status == 412 and expected:
            if not left:
                return unavailable(service)
            continue
        ok = response.status < 500
        busy = not ok and refused_for_load(response)
        if (detector is not None or breakers is not None) and not busy:
            now = yield _MONOTONIC
            if detector is not None and detector.report(service, target, ok, now, len(candidates)):
                yield Trace("outlier_ejected", {"worker_id": target["id"], "service": service})
            opened = breakers.report(target["id"], service, ok, now) if breakers is not None else None
            if opened is not None:
                failures, calls = opened
                yield Trace("breaker_opened", {"worker_id": target["id"], "service": service, "failures": failures,
                                               "calls": calls})  # fmt: skip
        if ok:
            return response
        refused = busy and refusals < REFUSED_TRIES
        if budget is None or (retries <= 0 and not refused) or not left or not budget.withdraw((yield _MONOTONIC)):
            return response
        if refused:  # nothing was done: try another provider at once, paid by the budget, not the request's retries
            refusals += 1
            continue
        retries -= 1
        yield Sleep(BACKOFF_MIN + (yield Random()) * (BACKOFF_MAX - BACKOFF_MIN))
