"""Register, heartbeat and unregister: the coordinator's write paths, as the review shows them, plus its fixes.

Every list in the KV (``worker_ids``, ``service:{name}``) is updated by read-modify-write: read the list at this
edge (possibly a cached, stale copy), change it, write it back. Two edges doing so within a cache TTL lose one
update; neither the baseline nor the review's fixes do anything about it. Leadership is claimed by get-then-put
(flaw #3). Baseline: a new random id at every registration (flaw #4); unregister deletes the record and removes
the id from ``worker_ids`` only, the service indexes keep it (flaw #1). Knobs: ``identity: fingerprint`` (Fix #5)
derives the id from the machine's fingerprint, so a re-registration overwrites its record and drops the index
entries of services it no longer offers; ``unregister_cleanup`` (Fix #1) is the review's ``handleUnregister``.
Where the lists live and how they are updated is the ``registry_layout`` (:mod:`.layout`); with ``leader: lease``
registration grants no leadership (agents run the lease elector of :mod:`.leader` instead). With
``epoch_checks`` every registration gets an epoch (in any layout), and a heartbeat or unregister whose epoch is
not the record's is refused (409): a forged or late call for a worker changes nothing.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ..ops import KvCas, KvDelete, KvGet, KvPut, Now, Random, Request, Response, Trace
from .keys import HEARTBEAT_LEADER, worker_key
from .layout import LAYOUTS

Handler = Generator[Any, Any, Response]

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
#: ``epoch_checks``: the answer to a heartbeat or unregister whose epoch is not the registration's.
STALE_EPOCH = Response(409, {"error": "stale epoch", "field": "epoch"})
#: A stored heartbeat's answer: immutable, so one instance serves every heartbeat (as ``_NOW``, the clock read).
HEARTBEAT_OK = Response(200, {"status": "ok"})
_NOW = Now()


def random_worker_id(now: float, r: float) -> str:
    """``worker-${Date.now()}-${Math.random().toString(36).substr(2, 9)}``, from a clock reading and a draw."""
    n = int(r * 36**9)
    suffix = "".join(_BASE36[(n // 36**i) % 36] for i in range(8, -1, -1))
    return f"worker-{int(now * 1000)}-{suffix}"


def register(req: Request, policy: Any) -> Handler:
    """POST /api/worker/register: new random id, record written, id appended to ``worker_ids`` and each index."""
    layout = LAYOUTS[policy.registry_layout]
    body = req.body or {}
    now = yield Now()
    services = list(body.get("services", []))
    if policy.identity == "fingerprint" and body.get("fingerprint"):
        worker_id = f"worker-{body['fingerprint']}"
        previous = yield KvGet(worker_key(worker_id), layout.store)
        offered = {service["name"] for service in services}
        for service in (previous or {}).get("services", []):
            if service["name"] not in offered:
                yield from layout.remove_provider(service["name"], worker_id)
    else:
        worker_id = random_worker_id(now, (yield Random()))
    fenced = layout.fenced or policy.epoch_checks
    epoch = random_worker_id(now, (yield Random()))[len("worker-") :] if fenced else None
    yield Trace("worker_id_assigned", {"worker_id": worker_id, "tunnel_url": body.get("tunnel_url")})
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
        **({"epoch": epoch} if epoch is not None else {}),
        "is_heartbeat_leader": False,
    }
    if body.get("wants_heartbeat_leadership") and policy.leader == "naive":
        current_leader = yield KvGet(HEARTBEAT_LEADER)
        if not current_leader:
            # Race: another registration at another edge may pass the same check (flaw #3).
            record["is_heartbeat_leader"] = True
            yield KvPut(HEARTBEAT_LEADER, worker_id)
            yield Trace("leadership_claimed", {"worker_id": worker_id})
    yield KvPut(worker_key(worker_id), record, layout.store)
    yield from layout.add(worker_id, [service["name"] for service in services], epoch)
    answer = {"worker_id": worker_id, "is_heartbeat_leader": record["is_heartbeat_leader"]}
    return Response(200, {**answer, "epoch": epoch} if epoch is not None else answer)


def heartbeat(req: Request, policy: Any) -> Handler:
    """POST /api/worker/heartbeat: store load, memory, status and ``last_heartbeat`` (this edge's clock)."""
    body = req.body or {}
    worker_id = body.get("worker_id")
    if not worker_id:
        return Response(400, {"error": "worker_id required"})
    layout = LAYOUTS[policy.registry_layout]
    store = layout.store
    record = yield KvGet(worker_key(worker_id), store)
    if record is None:
        return Response(404, {"error": "worker not found"})
    if policy.epoch_checks and record.get("epoch") != body.get("epoch"):
        return STALE_EPOCH
    now = yield _NOW
    updated = {
        **record,
        "status": body.get("status", "healthy"),
        "current_load": body.get("current_load", record.get("current_load")),
        "available_memory": body.get("available_memory", record.get("available_memory")),
        "last_heartbeat": now,
    }
    if "service_health" in body:  # Fix #3: store the agent's per-service report
        updated["service_health"] = {h["name"]: h["status"] for h in body["service_health"]}
    versions = body.get("versions")
    if versions and policy.version_routing:  # flaw #6: keep each service's version current
        updated["services"] = [{**s, "version": versions.get(s["name"], s.get("version"))} for s in record["services"]]
    if layout.fenced:  # compare-and-set, so a record purged meanwhile is not brought back without its entries
        ok, current = yield KvCas(worker_key(worker_id), record, updated, store)
        if not ok:
            return (yield from heartbeat(req, policy)) if current is not None else Response(404, {"error": "purged"})
    else:
        yield KvPut(worker_key(worker_id), updated, store)
    return HEARTBEAT_OK


def unregister(req: Request, policy: Any) -> Handler:
    """POST /api/worker/unregister: delete the record, drop the id from ``worker_ids``; with
    ``unregister_cleanup`` (Fix #1) also from every service index it is in, and the leader key if it held it."""
    worker_id = (req.body or {}).get("worker_id")
    if not worker_id:
        return Response(400, {"error": "worker_id required"})
    layout = LAYOUTS[policy.registry_layout]
    if policy.epoch_checks:
        record = yield KvGet(worker_key(worker_id), layout.store)
        if record is not None and record.get("epoch") != (req.body or {}).get("epoch"):
            return STALE_EPOCH
    if layout.fenced:
        return (yield from unregister_fenced(worker_id, (req.body or {}).get("epoch"), policy))
    if policy.unregister_cleanup:
        record = yield KvGet(worker_key(worker_id), layout.store)
        for service in (record or {}).get("services", []):
            yield from layout.remove_provider(service["name"], worker_id)
    yield KvDelete(worker_key(worker_id), layout.store)
    yield from layout.forget({worker_id})
    if policy.unregister_cleanup and policy.leader == "naive" and (yield KvGet(HEARTBEAT_LEADER)) == worker_id:
        yield KvDelete(HEARTBEAT_LEADER)
    # Baseline (flaw #1): the id stays in every service:{name} index.
    return Response(200, {"status": "ok"})


def unregister_fenced(worker_id: str, epoch: Any, policy: Any) -> Handler:
    """Unregister in a fenced layout: only the registration ``epoch`` names (a late unregister of an earlier
    incarnation of the same id finds a newer epoch and changes nothing); the record goes by compare-and-set."""
    layout = LAYOUTS[policy.registry_layout]
    record = yield KvGet(worker_key(worker_id), layout.store)
    if record is None or (epoch is not None and record.get("epoch") != epoch):
        return Response(200, {"status": "ok", "unregistered": False})
    services = [s["name"] for s in record.get("services", [])] if policy.unregister_cleanup else []
    seen = {worker_id: record}
    gone = yield from layout.purge_workers({worker_id}, {s: [worker_id] for s in services}, [worker_id], seen)
    return Response(200, {"status": "ok", "unregistered": bool(gone)})
