"""Register, heartbeat and unregister: the baseline coordinator's write paths, as the review shows them.

Every list in the KV (``worker_ids``, ``service:{name}``) is updated by read-modify-write: read the list at this
edge (possibly a cached, stale copy), change it, write it back. Two edges doing so within a cache TTL lose one
update; the baseline does nothing about it. Leadership is claimed by get-then-put (flaw #3). A new random id is
drawn at every registration (flaw #4). Unregister deletes the record and removes the id from ``worker_ids`` only:
the service indexes keep it (flaw #1). Nothing ever purges a worker that stopped heartbeating (flaw #2).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ..ops import KvDelete, KvGet, KvPut, Now, Random, Request, Response, Trace
from .keys import HEARTBEAT_LEADER, WORKER_IDS, service_key, worker_key

Handler = Generator[Any, Any, Response]

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def random_worker_id(now: float, r: float) -> str:
    """``worker-${Date.now()}-${Math.random().toString(36).substr(2, 9)}``, from a clock reading and a draw."""
    n = int(r * 36**9)
    suffix = "".join(_BASE36[(n // 36**i) % 36] for i in range(8, -1, -1))
    return f"worker-{int(now * 1000)}-{suffix}"


def append_to_list(key: str, item: str) -> Generator[Any, Any, None]:
    """Read-modify-write append (skips the write when ``item`` is already listed at this edge)."""
    current = (yield KvGet(key)) or []
    if item not in current:
        yield KvPut(key, [*current, item])


def register(req: Request, policy: Any) -> Handler:
    """POST /api/worker/register: new random id, record written, id appended to ``worker_ids`` and each index."""
    body = req.body or {}
    now = yield Now()
    worker_id = random_worker_id(now, (yield Random()))
    yield Trace("worker_id_assigned", {"worker_id": worker_id, "tunnel_url": body.get("tunnel_url")})
    services = list(body.get("services", []))
    record = {
        "id": worker_id,
        "tunnel_url": body.get("tunnel_url"),
        "services": services,
        "capabilities": body.get("capabilities", {}),
        "status": "healthy",
        "current_load": 0.0,
        "available_memory": body.get("available_memory"),
        "last_heartbeat": now,
        "registered_at": now,
        "is_heartbeat_leader": False,
    }
    if body.get("wants_heartbeat_leadership"):
        current_leader = yield KvGet(HEARTBEAT_LEADER)
        if not current_leader:
            # Race: another registration at another edge may pass the same check (flaw #3).
            record["is_heartbeat_leader"] = True
            yield KvPut(HEARTBEAT_LEADER, worker_id)
            yield Trace("leadership_claimed", {"worker_id": worker_id})
    yield KvPut(worker_key(worker_id), record)
    yield from append_to_list(WORKER_IDS, worker_id)
    for service in services:
        yield from append_to_list(service_key(service["name"]), worker_id)
    return Response(200, {"worker_id": worker_id, "is_heartbeat_leader": record["is_heartbeat_leader"]})


def heartbeat(req: Request, policy: Any) -> Handler:
    """POST /api/worker/heartbeat: store load, memory, status and ``last_heartbeat`` (this edge's clock)."""
    body = req.body or {}
    worker_id = body.get("worker_id")
    if not worker_id:
        return Response(400, {"error": "worker_id required"})
    record = yield KvGet(worker_key(worker_id))
    if record is None:
        return Response(404, {"error": "worker not found"})
    now = yield Now()
    updated = {
        **record,
        "status": body.get("status", "healthy"),
        "current_load": body.get("current_load", record.get("current_load")),
        "available_memory": body.get("available_memory", record.get("available_memory")),
        "last_heartbeat": now,
    }
    yield KvPut(worker_key(worker_id), updated)
    return Response(200, {"status": "ok"})


def unregister(req: Request, policy: Any) -> Handler:
    """POST /api/worker/unregister: delete the record, drop the id from ``worker_ids``; indexes untouched."""
    worker_id = (req.body or {}).get("worker_id")
    if not worker_id:
        return Response(400, {"error": "worker_id required"})
    yield KvDelete(worker_key(worker_id))
    ids = (yield KvGet(WORKER_IDS)) or []
    yield KvPut(WORKER_IDS, [i for i in ids if i != worker_id])
    # MISSING (flaw #1): the id stays in every service:{name} index.
    return Response(200, {"status": "ok"})
