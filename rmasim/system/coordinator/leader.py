"""Lease leadership (``leader: lease``): the coordinator's side of Kubernetes client-go's leader elector.

The lease is one value in the Durable Object, ``leader_lease`` = ``{holder, token, renewals, acquired_at,
renewed_at}``. The coordinator only reads it and changes it by compare-and-set; judging *when* a lease has
expired is the candidate's job, as in client-go: a candidate may take over a lease it has seen unchanged for
``lease_duration`` by its own monotonic clock (:class:`rmasim.system.agent.LeaseElector`). Nothing here reads a
clock to decide, so a coordinator edge whose clock jumps cannot hand out a lease early; the times stored are for
people.

- ``GET /api/leader`` -> ``{"lease": value or null}``.
- ``POST /api/leader`` with ``{"worker_id", "observed", "release"}``: compare-and-set from ``observed`` (the
  value the caller last saw) to: a renewal (``renewals + 1``) when the caller holds it; a release
  (``holder: null``, token kept) when ``release`` is true; otherwise a grant to the caller with ``token + 1``.
  Answers ``{"ok", "lease"}`` with the value now stored. The fencing token grows with every grant, so a write
  guarded by an old token can be refused downstream.
"""

from __future__ import annotations

from typing import Any

from ..ops import STRONG, KvCas, KvGet, Now, Request, Response, Trace
from .keys import LEADER_LEASE
from .registry import Handler

__all__ = ["change_lease", "read_lease"]


def read_lease(req: Request, policy: Any) -> Handler:
    """GET /api/leader: the lease as the Durable Object holds it."""
    return Response(200, {"lease": (yield KvGet(LEADER_LEASE, STRONG))})


def change_lease(req: Request, policy: Any) -> Handler:
    """POST /api/leader: grant, renew or release the lease by compare-and-set from the caller's observation."""
    body = req.body or {}
    worker_id = body.get("worker_id")
    if not worker_id:
        return Response(400, {"error": "worker_id required"})
    observed = body.get("observed")
    now = yield Now()
    held: dict[str, Any] | None = observed if observed is not None and observed.get("holder") == worker_id else None
    if body.get("release"):
        if held is None:
            return Response(409, {"error": "not the holder", "lease": observed})
        new = {**held, "holder": None, "renewed_at": now}
    elif held is not None:
        new = {**held, "renewals": held.get("renewals", 0) + 1, "renewed_at": now}
    else:
        token = (observed or {}).get("token", 0) + 1
        new = {"holder": worker_id, "token": token, "renewals": 0, "acquired_at": now, "renewed_at": now}
    ok, current = yield KvCas(LEADER_LEASE, observed, new)
    if ok and held is None:
        yield Trace("leadership_claimed", {"worker_id": worker_id, "token": new["token"]})
    return Response(200, {"ok": ok, "lease": current})
