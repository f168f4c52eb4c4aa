"""Who may call what (``agent_auth``, ``admin_auth``): the coordinator's side of :mod:`rmasim.system.signing`.

``agent_auth``: the agent routes (register, heartbeat, unregister, the lease and the leader's duty) need a call
signed by the machine the body names (:data:`~rmasim.system.signing.AGENT_ID` equal to ``worker-{fingerprint}`` at
registration, to ``worker_id`` elsewhere). The check is one Durable Object call on ``credential:{id}``
(:func:`check_credential`, run inside the object so the replay check and its update are one atomic step): it
enrolls a new id when the registration carries the bootstrap token, verifies the HMAC (``hmac.compare_digest``),
refuses a timestamp more than ``signature_skew`` from the object's clock or not above the last accepted one, and
stores the new last timestamp. A signed GET (the electors' lease polls, most agent calls) is checked without a
store call (:func:`check_read`: the secret as the isolate last read it, no replay check: a GET changes nothing).
Refusals: 401 ``{"error": "unauthenticated", "reason": ...}`` (no or a bad signature, an unknown id, a stale or
replayed timestamp) and 403 ``{"error": "forbidden", ...}`` (a valid signature for another id than the body's).

``admin_auth``: ``/api/admin/*`` answer 401 without ``authorization: Bearer <admin_token>``; ``GET /api/workers``
answers everyone, but without tunnel URLs and epochs unless the admin token is given; the lease and duty routes
take the admin token instead of an agent's signature (an operator's call).
"""

from __future__ import annotations

import hmac
from collections.abc import Generator
from typing import Any

from ..ops import STRONG, KvGet, Now, Request, Response, StrongUpdate
from ..signing import (
    AGENT_ID,
    AUTHORIZATION,
    CREDENTIAL_PREFIX,
    ENROLL_SECRET,
    SIGNATURE,
    TIMESTAMP,
    bearer,
    message,
    sign,
)
from .isolate import Isolate

__all__ = [
    "ADMIN_ROUTES",
    "AGENT_ROUTES",
    "LEADER_ROUTES",
    "SECRET_TTL",
    "admin_token_ok",
    "check_agent",
    "check_credential",
    "check_read",
]

REGISTER = "/api/worker/register"
#: How long an isolate reuses a machine's secret it read for a signed GET (a revoked credential still reads for
#: at most this long), and how many secrets it keeps.
SECRET_TTL = 300.0
MAX_CACHED_SECRETS = 4096
_MONOTONIC = Now(monotonic=True)
#: The routes only an agent calls, each signed by the worker its body names.
AGENT_ROUTES = frozenset(
    {
        ("POST", REGISTER),
        ("POST", "/api/worker/heartbeat"),
        ("POST", "/api/worker/unregister"),
        ("GET", "/api/leader"),
        ("POST", "/api/leader"),
        ("POST", "/api/leader/duty"),
    }
)
#: The agent routes an operator may call with the admin token instead of a signature.
LEADER_ROUTES = frozenset({("GET", "/api/leader"), ("POST", "/api/leader"), ("POST", "/api/leader/duty")})
#: The routes that need the admin token (``admin_auth``).
ADMIN_ROUTES = frozenset({("GET", "/api/admin/services"), ("GET", "/api/admin/metrics")})


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def admin_token_ok(req: Request, policy: Any) -> bool:
    """The request carries ``authorization: Bearer <admin_token>``."""
    return _same(bearer(req.header(AUTHORIZATION)), policy.admin_token)


def unauthenticated(reason: str) -> Response:
    return Response(401, {"error": "unauthenticated", "reason": reason})


def check_credential(value: Any, arg: tuple[Any, ...], now: float) -> tuple[Any, str]:
    """A Durable Object method on ``credential:{id}`` (the object's clock ``now``): ``(new value, verdict)``,
    verdict ``ok`` or why not. ``arg``: (enrolling with a valid bootstrap token, the proposed secret or None, the
    signed text, the signature, the timestamp, the skew window)."""
    enrolling, proposed, text, signature, timestamp, skew = arg
    if value is None:
        if not enrolling or not proposed:
            return None, "unknown agent"
        secret = proposed
    else:
        secret = value["secret"]
    if not hmac.compare_digest(sign(secret, text), signature):
        return value, "bad signature"
    if abs(timestamp - now) > skew:
        return value, "timestamp outside the skew window"
    if value is not None and timestamp <= value["last"]:
        return value, "replayed timestamp"
    enrolled_at = value["enrolled_at"] if value is not None else now
    return {"secret": secret, "last": timestamp, "enrolled_at": enrolled_at}, "ok"


def claimed_id(req: Request) -> str | None:
    """The worker id the body says the call is for (``worker-{fingerprint}`` for a registration)."""
    body = req.body if isinstance(req.body, dict) else {}
    if req.path == REGISTER:
        fingerprint = body.get("fingerprint")
        return f"worker-{fingerprint}" if isinstance(fingerprint, str) and fingerprint else None
    worker_id = body.get("worker_id")
    return worker_id if isinstance(worker_id, str) else None


def _secrets() -> dict[str, tuple[str, float]]:
    return {}


def check_read(req: Request, agent_id: str, isolate: Isolate) -> Generator[Any, Any, Response | None]:
    """A signed GET (the lease polls): the signature checked against the machine's secret as this isolate last
    read it from the Durable Object (read again after :data:`SECRET_TTL`); no skew or replay check, since a GET
    changes nothing and a replayed one only reads the lease again."""
    now = yield _MONOTONIC
    cache = isolate.kept("agent_secrets", _secrets)
    hit = cache.get(agent_id)
    if hit is None or now - hit[1] > SECRET_TTL:
        credential = yield KvGet(CREDENTIAL_PREFIX + agent_id, STRONG)
        if credential is None:
            return unauthenticated("unknown agent")
        if len(cache) >= MAX_CACHED_SECRETS:
            del cache[next(iter(cache))]
        hit = cache[agent_id] = (credential["secret"], now)
    text = message(req.method, req.path, req.body, req.header(TIMESTAMP) or "")
    if not hmac.compare_digest(sign(hit[0], text), req.header(SIGNATURE) or ""):
        return unauthenticated("bad signature")
    return None


def check_agent(req: Request, policy: Any, isolate: Isolate) -> Generator[Any, Any, Response | None]:
    """None when ``req`` is signed by the worker it is for; otherwise the refusal (see the module docstring)."""
    agent_id, timestamp, signature = req.header(AGENT_ID), req.header(TIMESTAMP), req.header(SIGNATURE)
    if agent_id is None or timestamp is None or signature is None:
        return unauthenticated("unsigned")
    try:
        seconds = float(timestamp)
    except ValueError:
        return unauthenticated("bad timestamp")
    if seconds != seconds or abs(seconds) > 1e12:  # NaN, absurd
        return unauthenticated("bad timestamp")
    if req.method == "GET":
        return (yield from check_read(req, agent_id, isolate))
    claimed = claimed_id(req)
    if req.method == "POST" and claimed != agent_id:
        return Response(403, {"error": "forbidden", "reason": "signed for another worker"})
    enrolling = req.path == REGISTER and _same(bearer(req.header(AUTHORIZATION)), policy.bootstrap_token)
    text = message(req.method, req.path, req.body, timestamp)
    arg = (enrolling, req.header(ENROLL_SECRET), text, signature, seconds, policy.signature_skew)
    verdict = yield StrongUpdate(CREDENTIAL_PREFIX + agent_id, check_credential, arg, clock=True)
    return None if verdict == "ok" else unauthenticated(verdict)
