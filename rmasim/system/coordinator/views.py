"""Read paths: list workers, admin services, and the registry snapshot the checkers use.

``list_workers`` marks a worker offline when its heartbeat is older than ``offline_after`` (90 s) - in the
response only; the KV keeps saying healthy (flaw #2). ``admin_services`` lists service -> worker ids straight
from the index, dead ids included.

``registry_snapshot`` is the coordinator's own reading of its authoritative state (the central store, not an
edge cache): checkers compare it with the ground truth of the simulation.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from ..ops import KvGet, KvGetMany, KvList, Now, Request, Response
from .keys import HEARTBEAT_LEADER, SERVICE_PREFIX, WORKER_IDS, WORKER_PREFIX, worker_key
from .registry import Handler


def list_workers(req: Request, policy: Any) -> Handler:
    """GET /api/workers: every listed worker's record, with ``status`` offline when its heartbeat is stale."""
    ids = (yield KvGet(WORKER_IDS)) or []
    records = (yield KvGetMany(tuple(worker_key(i) for i in ids))) if ids else ()
    now = yield Now()
    workers = []
    for record in records:
        if record is None:
            continue
        age = now - record["last_heartbeat"]
        workers.append({**record, "status": "offline" if age > policy.offline_after else record["status"]})
    return Response(200, {"workers": workers})


#: Workers KV's bulk get takes at most this many keys.
BULK_GET_LIMIT = 100


def read_many(keys: list[str]) -> Generator[Any, Any, list[Any]]:
    """The values of ``keys``, in bulk gets of at most 100 keys each."""
    values: list[Any] = []
    for start in range(0, len(keys), BULK_GET_LIMIT):
        values.extend((yield KvGetMany(tuple(keys[start : start + BULK_GET_LIMIT]))))
    return values


def read_service_indexes() -> Generator[Any, Any, dict[str, list[str]]]:
    """Every ``service:{name}`` key (all pages of the list) -> its list of worker ids."""
    keys: list[str] = []
    cursor = None
    while True:
        page, cursor = yield KvList(SERVICE_PREFIX, cursor)
        keys.extend(page)
        if cursor is None:
            break
    lists = yield from read_many(keys)
    return {key: list(ids or []) for key, ids in zip(keys, lists, strict=True)}


def admin_services(req: Request, policy: Any) -> Handler:
    """GET /api/admin/services: service name -> worker ids, read from the ``service:{name}`` indexes."""
    indexes = yield from read_service_indexes()
    return Response(200, {"services": {key[len(SERVICE_PREFIX) :]: ids for key, ids in indexes.items()}})


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    """The registry as the coordinator's data says it is (keys as in ``keys.py``)."""

    workers: Mapping[str, Mapping[str, Any]]
    worker_ids: tuple[str, ...]
    index: Mapping[str, tuple[str, ...]]
    leader: str | None

    def index_entries(self) -> list[tuple[str, str]]:
        """Every (service, worker id) pair the indexes list, duplicates included."""
        return [(service, wid) for service, ids in self.index.items() for wid in ids]


def registry_snapshot(store: Mapping[str, Any]) -> RegistrySnapshot:
    """Read the authoritative registry out of a key -> value mapping of the central store."""
    workers = {k[len(WORKER_PREFIX) :]: v for k, v in store.items() if k.startswith(WORKER_PREFIX) and v}
    index = {k[len(SERVICE_PREFIX) :]: tuple(v) for k, v in store.items() if k.startswith(SERVICE_PREFIX) and v}
    return RegistrySnapshot(
        workers=workers,
        worker_ids=tuple(store.get(WORKER_IDS) or ()),
        index=index,
        leader=store.get(HEARTBEAT_LEADER) or None,
    )
