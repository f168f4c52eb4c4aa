"""The coordinator: a Cloudflare Worker's request handlers as sans-IO generators.

``Coordinator(policy).handle(request)`` returns a generator that yields :mod:`rmasim.system.ops` operations and
returns a :class:`~rmasim.system.ops.Response`. Routes are one table; an unknown route is a 404 and a handler
that raises (a KV 429, say) becomes a 500, as an uncaught exception does in a Worker: a KV failure with its
status, any other exception (a malformed body the seed's handlers trip over) with a ``worker_exception`` trace,
counted in ``coordinator.errors`` as the Worker host counts a JavaScript exception. With
``policy.validate_requests`` every body is parsed first and anything malformed answered 400, and a service name
that can never be registered 404 (see :mod:`.validation`). With ``policy.metrics``, each edge counts its proxied
requests per service (see :mod:`.metrics`). The protections of :mod:`.guard` (rate limits, agent and admin
authentication, tunnel URL validation) run before the handler when their knobs are on.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Generator
from typing import Any

from ..ops import WORKER_EXCEPTION, KVFailure, Now, Request, Respond, Response, Trace
from .balancers import BALANCERS, edge_balancer, register_balancer
from .guard import WORKERS_ROUTE, guard, redacted
from .isolate import Isolate
from .keys import (
    HEARTBEAT_LEADER,
    LEADER_LEASE,
    PROVIDER_PREFIX,
    SERVICE_PREFIX,
    WORKER_IDS,
    WORKER_PREFIX,
    provider_key,
    service_key,
    worker_key,
)
from .layout import LAYOUTS
from .leader import change_lease, leader_duty, read_lease
from .metrics import EdgeMetrics, ServiceMetrics, admin_metrics, edge_metrics
from .proxy import service_proxy
from .registry import Handler, heartbeat, register, unregister
from .sweeper import sweep_stale_workers
from .validation import MAX_ROUTE_TABLES, Invalid, bad_request, parse_body, valid_service_name
from .views import RegistrySnapshot, admin_services, list_workers, registry_snapshot

__all__ = [
    "BALANCERS",
    "HEARTBEAT_LEADER",
    "LAYOUTS",
    "LEADER_LEASE",
    "PROVIDER_PREFIX",
    "PROXY_PREFIX",
    "ROUTES",
    "SERVICE_PREFIX",
    "WITH_ISOLATE",
    "WORKER_IDS",
    "WORKER_PREFIX",
    "Coordinator",
    "EdgeMetrics",
    "Isolate",
    "RegistrySnapshot",
    "ServiceMetrics",
    "provider_key",
    "register_balancer",
    "registry_snapshot",
    "service_key",
    "worker_key",
]

PROXY_PREFIX = "/api/service/"

#: (method, path) -> handler(request, policy), or handler(request, policy, isolate) for those in WITH_ISOLATE
ROUTES: dict[tuple[str, str], Callable[..., Generator[Any, Any, Response]]] = {
    ("POST", "/api/worker/register"): register,
    ("POST", "/api/worker/heartbeat"): heartbeat,
    ("POST", "/api/worker/unregister"): unregister,
    ("GET", "/api/workers"): list_workers,
    ("GET", "/api/admin/services"): admin_services,
    ("GET", "/api/leader"): read_lease,
    ("POST", "/api/leader"): change_lease,
    ("POST", "/api/leader/duty"): leader_duty,
    ("GET", "/api/admin/metrics"): admin_metrics,
}

#: The handlers in ROUTES that read the edge's memory, called with the isolate as a third argument.
WITH_ISOLATE = frozenset({admin_metrics})

_MONOTONIC = Now(monotonic=True)


def _kv_error(failure: KVFailure) -> Response:
    """The answer to a KV failure nobody caught: the Worker invocation fails (HTTP 500)."""
    return Response(500, {"error": str(failure), "kv_status": failure.status})


def _uncaught(req: Request, error: Exception) -> Generator[Any, Any, Response]:
    """The answer to any other exception nobody caught: a 500, traced as ``worker_exception`` (path, message,
    stack) as the Worker host traces a JavaScript exception, so ``coordinator.errors`` counts it."""
    message = f"{type(error).__name__}: {error}"
    if len(message) > 500:
        message = message[:497] + "..."
    path = req.path if isinstance(req.path, str) else repr(req.path)
    yield Trace(WORKER_EXCEPTION, {"path": path[:256], "message": message, "stack": traceback.format_exc()})
    return Response(500, {"error": message, "worker_exception": True})


class Coordinator:
    """The Worker script: dispatches a request to its handler under one policy."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy
        self._routes: dict[str, tuple[str, str]] = {}
        self._guarded = any(
            getattr(policy, knob, False) for knob in ("rate_limits", "admin_auth", "agent_auth", "tunnel_validation")
        )
        """Some protection of :mod:`.guard` is on."""

    def scheduled(self, isolate: Isolate | None = None) -> Generator[Any, Any, Response]:
        """The Worker's ``scheduled`` event (a Cron Trigger): the periodic tasks the policy asks for."""
        if self.policy.stale_cleanup != "sweeper":
            return Response(200, {"purged": []})
        try:
            return (yield from sweep_stale_workers(self.policy, isolate if isolate is not None else Isolate()))
        except KVFailure as failure:
            return _kv_error(failure)

    def _proxy_route(self, path: str) -> tuple[str, str]:
        """``/api/service/{name}/{rest}`` -> ``(name, "/rest")`` (parsed once per distinct path)."""
        route = self._routes.get(path)
        if route is None:
            service, _, rest = path[len(PROXY_PREFIX) :].partition("/")
            route = (service, "/" + rest if rest else "")
            if len(self._routes) < 1024:  # clients use a few paths; never grow without bound
                self._routes[path] = route
        return route

    def handle(self, req: Request, isolate: Isolate | None = None) -> Generator[Any, Any, Response]:
        """Serve one request (a generator; drive it with a runtime or by hand) in an edge's ``isolate``."""
        if isolate is None:
            isolate = Isolate()
        try:
            if req.path.startswith(PROXY_PREFIX):
                service, rest = self._proxy_route(req.path)
                if self.policy.validate_requests and not valid_service_name(service):
                    return Response(404, {"error": "no such service", "field": "service"})
                proxied = service_proxy(req, self.policy, isolate, service, rest)
                if self.policy.metrics:
                    return (yield from _measured(proxied, service, isolate, self.policy))
                return (yield from proxied)
            handler = ROUTES.get((req.method, req.path))
            if handler is None:
                return Response(404, {"error": "not found"})
            if self.policy.validate_requests:
                try:
                    parse_body(req.method, req.path, req.body, self.policy)
                except Invalid as invalid:
                    return bad_request(invalid)
            if self._guarded:
                refused = yield from guard(req, self.policy, isolate)
                if refused is not None:
                    return refused
                if self.policy.admin_auth and (req.method, req.path) == WORKERS_ROUTE:
                    return redacted(req, self.policy, (yield from handler(req, self.policy)))
            if handler in WITH_ISOLATE:
                return (yield from handler(req, self.policy, isolate))
            return (yield from handler(req, self.policy))
        except KVFailure as failure:
            return _kv_error(failure)
        except Exception as error:  # a Worker's uncaught exception: a 500, never a crash
            return (yield from _uncaught(req, error))


def _measured(proxied: Handler, service: str, isolate: Isolate, policy: Any) -> Handler:
    """Serve a proxied request between two readings of the edge's monotonic clock and count it in the edge's
    metrics, a KV failure as the 500 it is answered with. When the proxy answers early (:class:`Respond`, with
    ``ctx.waitUntil()`` work after it), the answer is counted then, with the latency the client saw."""
    start = yield _MONOTONIC
    metrics = edge_metrics(isolate)
    if not edge_balancer(isolate, policy).shares_counts:  # no early answer can come: plain delegation
        try:
            response = yield from proxied
        except KVFailure as failure:
            response = _kv_error(failure)
        _count(metrics, policy, service, response, (yield _MONOTONIC) - start)
        return response
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = proxied.throw(error) if error is not None else proxied.send(value)
        except StopIteration as stop:
            response = stop.value
            break
        except KVFailure as failure:
            response = _kv_error(failure)
            break
        if op.__class__ is Respond:
            _count(metrics, policy, service, op.response, (yield _MONOTONIC) - start)
            yield op
            yield from proxied  # the rest is waitUntil() work: nothing more to count
            return op.response
        try:
            value, error = (yield op), None
        except BaseException as exc:  # an operation's failure, thrown back into the proxy
            value, error = None, exc
    _count(metrics, policy, service, response, (yield _MONOTONIC) - start)
    return response


def _count(metrics: EdgeMetrics, policy: Any, service: str, response: Response, latency: float) -> None:
    """Count a proxied request, unless ``validate_requests`` bounds the services an edge counts and this is a
    503 for a service without providers beyond that bound (names nobody registers cost no memory)."""
    if (
        policy.validate_requests
        and service not in metrics.services
        and len(metrics.services) >= MAX_ROUTE_TABLES
        and response.status == 503
        and isinstance(response.body, dict)
        and response.body.get("reason") == "no_provider"
    ):
        return
    metrics.record(service, response.status, latency)
