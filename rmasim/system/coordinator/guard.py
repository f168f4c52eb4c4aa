"""The checks a request passes before its handler runs, each a knob of the policy (issue 15's protections).

In order: ``rate_limits`` (:mod:`.ratelimit`, memory only, so a flood is refused before it costs a store call),
``admin_auth`` on the admin routes and ``agent_auth`` on the agent routes (:mod:`.auth`), then
``tunnel_validation`` of a registration's ``tunnel_url`` (:mod:`.tunnels`). After the handler,
:func:`redacted` strips tunnel URLs and epochs from ``GET /api/workers`` for a caller without the admin token.
A request the checks let through is served exactly as without them.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ..ops import Request, Response
from .auth import ADMIN_ROUTES, AGENT_ROUTES, LEADER_ROUTES, REGISTER, admin_token_ok, check_agent
from .isolate import Isolate
from .ratelimit import rate_limited
from .tunnels import tunnel_problem

__all__ = ["WORKERS_ROUTE", "guard", "redacted"]

WORKERS_ROUTE = ("GET", "/api/workers")
#: What ``GET /api/workers`` leaves out of each record for a caller without the admin token.
PRIVATE_FIELDS = ("tunnel_url", "epoch")


def guard(req: Request, policy: Any, isolate: Isolate) -> Generator[Any, Any, Response | None]:
    """The refusal of ``req`` by the policy's protections, or None when it may be served."""
    route = (req.method, req.path)
    if policy.rate_limits:
        limited = yield from rate_limited(req, isolate)
        if limited is not None:
            return limited
    if policy.admin_auth and route in ADMIN_ROUTES and not admin_token_ok(req, policy):
        return Response(401, {"error": "unauthenticated", "reason": "admin token required"})
    if policy.agent_auth and route in AGENT_ROUTES:
        operator = policy.admin_auth and route in LEADER_ROUTES and admin_token_ok(req, policy)
        if not operator:
            refused = yield from check_agent(req, policy, isolate)
            if refused is not None:
                return refused
    if policy.tunnel_validation and route == ("POST", REGISTER):
        url = req.body.get("tunnel_url") if isinstance(req.body, dict) else None
        problem = yield from tunnel_problem(url, policy.tunnel_domains)
        if problem is not None:
            return Response(400, {"error": f"tunnel_url refused: {problem}", "field": "tunnel_url"})
    return None


def redacted(req: Request, policy: Any, response: Response) -> Response:
    """``GET /api/workers``'s answer as a caller without the admin token may see it (``admin_auth``)."""
    if admin_token_ok(req, policy) or not isinstance(response.body, dict) or "workers" not in response.body:
        return response
    workers = [{k: v for k, v in w.items() if k not in PRIVATE_FIELDS} for w in response.body["workers"]]
    return Response(response.status, {**response.body, "workers": workers}, response.headers)
