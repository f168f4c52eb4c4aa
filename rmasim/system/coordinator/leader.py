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
- ``POST /api/leader/duty`` with ``{"worker_id", "token"}`` (``leader_duty``): the leader's periodic duty, one
  write of the ``leader_duty`` record ``{holder, token, at, fence, writes}`` (Workers KV with the naive leader,
  the Durable Object with the lease), traced as ``leader_duty`` with ``accepted``. With ``fence_duty`` it is
  fenced as Kleppmann's "How to do distributed locking" has it: refused (409) unless the worker id and token are
  the current lease's, and the record's write itself (one Durable Object call) refuses a token below the highest
  it has stored, so once a new leader has written, an old one never writes again. Without it every write is
  accepted, and two leaders both act (a write the store fails, Workers KV's 429 within a second of another, is
  traced with ``failed``).
"""

from __future__ import annotations

from typing import Any

from ..ops import KV, STRONG, KvCas, KVFailure, KvGet, KvPut, Now, Request, Response, StrongUpdate, Trace
from .keys import LEADER_DUTY, LEADER_LEASE
from .lease_checks import checked_change_lease
from .registry import Handler

__all__ = ["change_lease", "leader_duty", "read_lease"]


def read_lease(req: Request, policy: Any) -> Handler:
    """GET /api/leader: the lease as the Durable Object holds it."""
    return Response(200, {"lease": (yield KvGet(LEADER_LEASE, STRONG))})


def change_lease(req: Request, policy: Any) -> Handler:
    """POST /api/leader: grant, renew or release the lease by compare-and-set from the caller's observation."""
    if policy.epoch_checks:  # the holder and the expiry judged inside the Durable Object
        return (yield from checked_change_lease(req, policy))
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


def fenced_write(record: Any, write: dict[str, Any]) -> tuple[Any, bool]:
    """The Durable Object's duty write: refused (record unchanged, False) when ``write``'s token is below the
    highest one stored (``fence``), else stored with ``writes + 1`` (True). A pure function, run atomically."""
    fence = (record or {}).get("fence", 0)
    if write["token"] < fence:
        return record, False
    return {**write, "fence": write["token"], "writes": (record or {}).get("writes", 0) + 1}, True


def leader_duty(req: Request, policy: Any) -> Handler:
    """POST /api/leader/duty: record the leader's duty write, fenced by its token with ``fence_duty``."""
    body = req.body or {}
    worker_id = body.get("worker_id")
    if not worker_id:
        return Response(400, {"error": "worker_id required"})
    token = body.get("token")
    seen = {"worker_id": worker_id, "token": token}
    now = yield Now()
    write = {"holder": worker_id, "token": token, "at": now}
    if policy.fence_duty:
        lease = yield KvGet(LEADER_LEASE, STRONG)
        current = lease is not None and lease.get("holder") == worker_id and lease.get("token") == token
        if not current or not (yield StrongUpdate(LEADER_DUTY, fenced_write, write)):
            yield Trace("leader_duty", {**seen, "accepted": False})
            return Response(409, {"error": "stale fencing token", "lease": lease})
    else:
        try:
            yield KvPut(LEADER_DUTY, write, STRONG if policy.leader == "lease" else KV)
        except KVFailure as failure:  # Workers KV's one write a second per key: a second leader's write fails
            yield Trace("leader_duty", {**seen, "accepted": False, "failed": failure.status})
            raise
    yield Trace("leader_duty", {**seen, "accepted": True})
    return Response(200, {"ok": True})
