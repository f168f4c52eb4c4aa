"""The lease judged by the server (``epoch_checks``): its holder and its expiry, inside the Durable Object.

Without it (:func:`~.leader.change_lease`) the coordinator grants whatever compare-and-set from the caller's
``observed`` value allows: anyone may take a lease that is held and fresh, or release another's, by sending the
current value back. With it, ``POST /api/leader`` is one Durable Object method (:func:`lease_update`) that
reads the stored lease and the object's own clock (not the edge's, which may jump) and allows:

- a **renewal** only by the stored holder, while the lease is fresh (``renewed_at`` within ``lease_duration``);
- a **grant** only when the lease has no holder or has expired (the holder's own expired lease is granted again,
  with a new token);
- a **release** only by the stored holder (``409 {"error": "not the holder"}`` otherwise);
- and each only when ``observed`` is the stored value, as before (a caller acts on what it has seen).

The times stored are the object's. The answer keeps its form, ``{"ok", "lease"}``, and a refusal also says why
(``reason``), so the agent's elector is unchanged.
"""

from __future__ import annotations

from typing import Any

from ..ops import Request, Response, StrongUpdate, Trace
from .keys import LEADER_LEASE
from .registry import Handler

__all__ = ["checked_change_lease", "lease_update"]


Verdict = tuple[bool, str | None, Any]
"""(ok, why not, the lease now stored)."""


def lease_update(value: Any, arg: tuple[str, Any, bool, float], now: float) -> tuple[Any, Verdict]:
    """The Durable Object method: ``(new lease, (ok, reason, new lease))`` (see the module docstring)."""
    worker_id, observed, release, duration = arg
    if value != observed:
        return value, (False, "observed is not the current lease", value)
    holder = value.get("holder") if value is not None else None
    fresh = holder is not None and now - float(value.get("renewed_at") or 0.0) <= duration
    new: Any
    if release:
        if holder != worker_id:
            return value, (False, "not the holder", value)
        new = {**value, "holder": None, "renewed_at": now}
    elif holder == worker_id and fresh:
        new = {**value, "renewals": value.get("renewals", 0) + 1, "renewed_at": now}
    elif fresh:
        return value, (False, "held by another worker", value)
    else:
        token = (value or {}).get("token", 0) + 1
        new = {"holder": worker_id, "token": token, "renewals": 0, "acquired_at": now, "renewed_at": now}
    return new, (True, None, new)


def checked_change_lease(req: Request, policy: Any) -> Handler:
    """POST /api/leader under ``epoch_checks``."""
    body = req.body or {}
    worker_id = body.get("worker_id")
    if not worker_id:
        return Response(400, {"error": "worker_id required"})
    observed = body.get("observed")
    release = bool(body.get("release"))
    arg = (worker_id, observed, release, policy.lease_duration)
    ok, reason, current = yield StrongUpdate(LEADER_LEASE, lease_update, arg, clock=True)
    if not ok and reason == "not the holder":
        return Response(409, {"error": "not the holder", "lease": current})
    granted = ok and not release and (observed or {}).get("token") != current["token"]
    if granted:
        yield Trace("leadership_claimed", {"worker_id": worker_id, "token": current["token"]})
    return Response(200, {"ok": ok, "lease": current, **({"reason": reason} if reason else {})})
