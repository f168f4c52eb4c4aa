"""Read paths: list workers, admin services, and the registry snapshot the checkers use.

``list_workers`` marks a worker offline when its heartbeat is older than ``offline_after`` (90 s) - in the
response only; the KV keeps saying healthy (flaw #2). ``admin_services`` lists service -> worker ids straight
from the index, dead ids included.

``registry_snapshot`` is the coordinator's own reading of its authoritative state (the central store, not an
edge cache): checkers compare it with the ground truth of the simulation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...scenario.models import RegistryView
from ..ops import Now, Request, Response
from .keys import (
    HEARTBEAT_LEADER,
    LEADER_LEASE,
    PROVIDER_PREFIX,
    SERVICE_PREFIX,
    WORKER_IDS,
    WORKER_PREFIX,
    parse_provider_key,
    worker_key,
)
from .layout import LAYOUTS, read_many
from .registry import Handler


def list_workers(req: Request, policy: Any) -> Handler:
    """GET /api/workers: every listed worker's record, with ``status`` offline when its heartbeat is stale."""
    layout = LAYOUTS[policy.registry_layout]
    ids = yield from layout.worker_ids()
    records = yield from read_many([worker_key(i) for i in ids], layout.store)
    now = yield Now()
    workers = []
    for record in records:
        if record is None:
            continue
        age = now - record["last_heartbeat"]
        workers.append({**record, "status": "offline" if age > policy.offline_after else record["status"]})
    return Response(200, {"workers": workers})


def admin_services(req: Request, policy: Any) -> Handler:
    """GET /api/admin/services: service name -> worker ids, read from the service indexes; with
    ``version_routing`` (flaw #6) also ``versions``: service name -> version -> ids of the workers whose record
    gives that version."""
    layout = LAYOUTS[policy.registry_layout]
    indexes = yield from layout.indexes()
    if not policy.version_routing:
        return Response(200, {"services": indexes})
    listed = sorted({i for ids in indexes.values() for i in ids})
    records = dict(zip(listed, (yield from read_many([worker_key(i) for i in listed], layout.store)), strict=True))
    versions: dict[str, dict[str, list[str]]] = {}
    for service, ids in indexes.items():
        by_version = versions[service] = {}
        for worker_id in ids:
            entry = next((s for s in (records[worker_id] or {}).get("services", ()) if s["name"] == service), None)
            if entry is not None:
                by_version.setdefault(str(entry.get("version")), []).append(worker_id)
    return Response(200, {"services": indexes, "versions": versions})


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    """The registry as the coordinator's data says it is (keys as in ``keys.py``)."""

    workers: Mapping[str, Mapping[str, Any]]
    worker_ids: tuple[str, ...]
    index: Mapping[str, tuple[str, ...]]
    leader: str | None
    """The ``heartbeat_leader`` key, or the holder of ``leader_lease``."""

    def index_entries(self) -> list[tuple[str, str]]:
        """Every (service, worker id) pair the indexes list, duplicates included."""
        return [(service, wid) for service, ids in self.index.items() for wid in ids]


def registry_snapshot(store: Mapping[str, Any], view: RegistryView = "index_keys") -> RegistrySnapshot:
    """Read the authoritative registry out of a key -> value mapping of the central store(s): with ``view``
    ``index_keys``, in any layout of the coordinator here (``service:{name}`` lists and ``provider:{name}:{id}``
    keys both count as index entries); with ``worker_records``, the index is the services each ``worker:{id}``
    record lists (a Worker with no index, which finds providers by listing its worker records)."""
    workers = {k[len(WORKER_PREFIX) :]: v for k, v in store.items() if k.startswith(WORKER_PREFIX) and v}
    lists: dict[str, list[str]] = {}
    if view == "worker_records":
        for worker_id in sorted(workers):
            record = workers[worker_id]
            for entry in record.get("services", ()) if isinstance(record, Mapping) else ():
                name = entry.get("name") if isinstance(entry, Mapping) else entry
                if isinstance(name, str):
                    lists.setdefault(name, []).append(worker_id)
    else:
        lists = {k[len(SERVICE_PREFIX) :]: list(v) for k, v in store.items() if k.startswith(SERVICE_PREFIX) and v}
        for key in sorted(k for k in store if k.startswith(PROVIDER_PREFIX)):
            service, worker_id = parse_provider_key(key)
            lists.setdefault(service, []).append(worker_id)
    ids = store.get(WORKER_IDS)
    lease = store.get(LEADER_LEASE) or {}
    return RegistrySnapshot(
        workers=workers,
        worker_ids=tuple(ids) if ids is not None else tuple(workers),
        index={service: tuple(ids) for service, ids in lists.items()},
        leader=store.get(HEARTBEAT_LEADER) or lease.get("holder") or None,
    )
