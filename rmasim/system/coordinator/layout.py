"""Where the registry lives and how it is updated: the ``registry_layout`` knob.

The registry is the set of worker records (``worker:{id}``), the set of workers, and one index per service (who
provides it). Three layouts, one class each, registered in :data:`LAYOUTS`:

- ``shared_lists`` (the seed): JSON lists ``worker_ids`` and ``service:{name}`` in Workers KV, updated by
  read-modify-write at the edge that serves the request. The read may be a cached copy up to ``cache_ttl`` old,
  so two registrations at two edges within a TTL each write a list without the other: one is lost (a live worker
  missing from the index, which nothing ever repairs).
- ``per_worker_keys``: one key per provider, ``provider:{service}:{id}``, written only by that worker's own
  requests; the index is ``list("provider:{service}:")`` and the set of workers is ``list("worker:")``. Nothing is
  read-modify-written, so nothing can be lost; a list is eventually consistent (another edge sees a new provider
  within its list cache TTL) and each call is billed as a list.
- ``strong``: the records and the sets, in a Durable Object, each set a map id -> registration epoch changed by
  compare-and-set loops: linearizable, nothing lost, and no stale read: the sweeper judges ages on the current
  records, deletes a record by compare-and-set from the value it judged, and removes only entries that still
  hold the judged registration's epoch, so a worker that came back in between keeps everything.

Except with the seed's layout, the proxy keeps each service's route table (ids and records) in the isolate's
memory for :data:`PROVIDER_LIST_TTL`, so routing costs a list (or a Durable Object request) per edge and service
every few seconds, not per request.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, ClassVar

from ...registry import Registry
from ..ops import BULK_GET_LIMIT, KV, STRONG, KvCas, KvDelete, KvGet, KvGetMany, KvList, KvPut, Now
from .isolate import Isolate
from .keys import (
    PROVIDER_PREFIX,
    SERVICE_PREFIX,
    WORKER_IDS,
    WORKER_PREFIX,
    parse_provider_key,
    provider_key,
    provider_prefix,
    service_key,
    worker_key,
)

__all__ = ["BULK_GET_LIMIT", "LAYOUTS", "PROVIDER_LIST_TTL", "Layout", "list_keys", "read_many"]

Gen = Generator[Any, Any, Any]

#: Default of the ``route_cache`` knob: seconds an edge's isolate reuses a service's provider list and records
#: (layouts other than the seed's) before reading them again.
PROVIDER_LIST_TTL = 10.0


def read_many(keys: list[str], store: str = KV) -> Generator[Any, Any, list[Any]]:
    """The values of ``keys``, in bulk gets of at most 100 keys each."""
    values: list[Any] = []
    for start in range(0, len(keys), BULK_GET_LIMIT):
        values.extend((yield KvGetMany(tuple(keys[start : start + BULK_GET_LIMIT]), store)))
    return values


def list_keys(prefix: str, store: str = KV) -> Generator[Any, Any, list[str]]:
    """Every key under ``prefix`` (all pages of the list)."""
    keys: list[str] = []
    cursor = None
    while True:
        page, cursor = yield KvList(prefix, cursor, store)
        keys.extend(page)
        if cursor is None:
            return keys


class Layout:
    """One registry layout: its write paths (add, remove, purge) and read paths (workers, indexes, providers)."""

    name: ClassVar[str] = ""
    store: ClassVar[str] = KV
    """The binding that holds the worker records."""
    fenced: ClassVar[bool] = False
    """Registrations carry an epoch, and removals act only on the registration they judged."""

    def add(self, worker_id: str, services: list[str], epoch: Any = None) -> Gen:
        """Enter a registered worker in the set of workers and in the index of each of its services."""
        raise NotImplementedError

    def remove_provider(self, service: str, worker_id: str) -> Gen:
        """Take ``worker_id`` out of one service's index."""
        raise NotImplementedError

    def forget(self, worker_ids: set[str], listed: list[str] | None = None) -> Gen:
        """Take ``worker_ids`` out of the set of workers (their records are deleted by the caller); ``listed``
        is the set as the caller already read it (``None``: read it now)."""
        raise NotImplementedError

    def worker_ids(self) -> Gen:
        """The set of workers, as a list of ids."""
        raise NotImplementedError

    def indexes(self) -> Gen:
        """Every service with a non-empty index -> the ids it lists."""
        raise NotImplementedError

    def providers(self, service: str) -> Gen:
        """The ids the index lists for ``service``."""
        raise NotImplementedError

    def route_table(
        self, service: str, isolate: Isolate, ttl: float = PROVIDER_LIST_TTL, limit: int | None = None
    ) -> Gen:
        """``(ids, records)`` the proxy routes ``service`` among, kept in the isolate's memory for ``ttl`` seconds
        (the ``route_cache`` knob; both the same objects while unchanged, so derived results are reused). With a
        ``limit``, a service with no provider and no table gets none once the isolate holds ``limit`` tables (so
        requests for names nobody registers cannot grow the isolate's memory)."""
        tables = isolate.state.setdefault("route_tables", {})
        now = yield Now()
        hit = tables.get(service)
        if hit is not None and now - hit[2] < ttl:
            return hit[0], hit[1]
        ids = yield from self.providers(service)
        records = tuple((yield from read_many([worker_key(i) for i in ids], self.store)))
        if hit is not None and (hit[0], hit[1]) == (ids, records):
            ids, records = hit[0], hit[1]
        if hit is None and not ids and limit is not None and len(tables) >= limit:
            return ids, records
        tables[service] = (ids, records, now)
        return ids, records

    def forget_route_table(self, service: str, isolate: Isolate) -> None:
        """Drop the isolate's table for ``service`` (after this edge changed the index)."""
        isolate.state.get("route_tables", {}).pop(service, None)

    def purge(self, stale: set[str], indexes: dict[str, list[str]]) -> Gen:
        """Index writes: drop ``stale`` ids from ``indexes`` (as the caller read them)."""
        raise NotImplementedError

    def purge_workers(
        self, stale: set[str], indexes: dict[str, list[str]], worker_ids: list[str], seen: dict[str, Any]
    ) -> Gen:
        """The sweeper's writes: index entries, records (``seen``: id -> the record as judged, in reading order)
        and the set of workers; returns the ids purged."""
        yield from self.purge(stale, indexes)
        for worker_id, record in seen.items():
            if worker_id in stale and record is not None:
                yield KvDelete(worker_key(worker_id), self.store)
        yield from self.forget(stale, worker_ids)
        return stale


LAYOUTS: Registry[Layout] = Registry("registry layout")


class SharedLists(Layout):
    """The seed's JSON lists in Workers KV, read-modify-written at the serving edge (updates can be lost)."""

    name = "shared_lists"

    def _append(self, key: str, item: str) -> Gen:
        """Read-modify-write append (skips the write when ``item`` is already listed at this edge)."""
        current = (yield KvGet(key, self.store)) or []
        if item not in current:
            yield KvPut(key, [*current, item], self.store)

    def add(self, worker_id: str, services: list[str], epoch: Any = None) -> Gen:
        yield from self._append(WORKER_IDS, worker_id)
        for service in services:
            yield from self._append(service_key(service), worker_id)

    def remove_provider(self, service: str, worker_id: str) -> Gen:
        """The review's ``removeWorkerFromService``: filter the index, or delete it when it would be empty."""
        key = service_key(service)
        workers = yield KvGet(key, self.store)
        if workers:
            remaining = [w for w in workers if w != worker_id]
            if remaining:
                yield KvPut(key, remaining, self.store)
            else:
                yield KvDelete(key, self.store)

    def forget(self, worker_ids: set[str], listed: list[str] | None = None) -> Gen:
        if listed is None:
            listed = (yield KvGet(WORKER_IDS, self.store)) or []
        elif not any(w in worker_ids for w in listed):
            return
        yield KvPut(WORKER_IDS, [i for i in listed if i not in worker_ids], self.store)

    def worker_ids(self) -> Gen:
        return list((yield KvGet(WORKER_IDS, self.store)) or [])

    def indexes(self) -> Gen:
        keys = yield from list_keys(SERVICE_PREFIX, self.store)
        lists = yield from read_many(keys, self.store)
        return {key[len(SERVICE_PREFIX) :]: list(ids) for key, ids in zip(keys, lists, strict=True) if ids}

    def providers(self, service: str) -> Gen:
        return list((yield KvGet(service_key(service), self.store)) or [])

    def purge(self, stale: set[str], indexes: dict[str, list[str]]) -> Gen:
        for service, ids in indexes.items():
            kept = [w for w in ids if w not in stale]
            if len(kept) != len(ids):
                key = service_key(service)
                yield (KvPut(key, kept, self.store) if kept else KvDelete(key, self.store))


class StrongRegistry(SharedLists):
    """The registry in a Durable Object: ``worker_ids`` and ``service:{name}`` are maps id -> registration epoch,
    every change a compare-and-set loop (no update is lost), and removals fenced by the epoch they judged.

    Each registration carries a fresh epoch (in its record and its index entries, and returned to the agent). A
    purge or an unregister removes an entry only while it still holds the epoch of the registration it judged:
    when the same (fingerprint) id registers again meanwhile, its new epoch keeps the new entries, whichever
    write lands first.
    """

    name = "strong"
    store = STRONG
    fenced = True

    def _update(self, key: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Gen:
        """Apply ``change`` to the map at ``key`` until a compare-and-set succeeds (an empty map deletes)."""
        current = yield KvGet(key, STRONG)
        while True:
            new = change(dict(current or {}))
            if new == (current or {}):
                return
            ok, current = yield KvCas(key, current, new or None, STRONG)
            if ok:
                return

    def add(self, worker_id: str, services: list[str], epoch: Any = None) -> Gen:
        for key in (WORKER_IDS, *(service_key(s) for s in services)):
            yield from self._update(key, lambda entries: {**entries, worker_id: epoch})

    def remove_provider(self, service: str, worker_id: str) -> Gen:
        yield from self._update(service_key(service), lambda entries: _without(entries, {worker_id}, None))

    def forget(
        self, worker_ids: set[str], listed: list[str] | None = None, epochs: dict[str, Any] | None = None
    ) -> Gen:
        if listed is None or any(w in worker_ids for w in listed):
            yield from self._update(WORKER_IDS, lambda entries: _without(entries, worker_ids, epochs))

    def worker_ids(self) -> Gen:
        return list((yield KvGet(WORKER_IDS, STRONG)) or {})

    def purge(self, stale: set[str], indexes: dict[str, list[str]], epochs: dict[str, Any] | None = None) -> Gen:
        for service, ids in indexes.items():
            if any(w in stale for w in ids):
                yield from self._update(service_key(service), lambda entries: _without(entries, stale, epochs))

    def purge_workers(
        self, stale: set[str], indexes: dict[str, list[str]], worker_ids: list[str], seen: dict[str, Any]
    ) -> Gen:
        """Records first, each by compare-and-set from the record judged stale (a worker that came back keeps
        its record), then the entries that still hold the judged registration's epoch."""
        gone = set()
        for worker_id, record in seen.items():
            if worker_id not in stale:
                continue
            if record is None or (yield KvCas(worker_key(worker_id), record, None, STRONG))[0]:
                gone.add(worker_id)
        epochs = {w: seen[w].get("epoch") for w in gone if seen[w] is not None}
        yield from self.purge(gone, indexes, epochs)
        yield from self.forget(gone, worker_ids, epochs)
        return gone


def _without(entries: dict[str, Any], ids: set[str], epochs: dict[str, Any] | None) -> dict[str, Any]:
    """``entries`` less ``ids``; with ``epochs``, an id whose entry now holds another epoch is kept."""
    return {
        w: epoch
        for w, epoch in entries.items()
        if w not in ids or (epochs is not None and w in epochs and epochs[w] != epoch)
    }


class PerWorkerKeys(Layout):
    """One Workers KV key per provider, found by ``list(prefix)``: no shared value, so no lost update."""

    name = "per_worker_keys"

    def add(self, worker_id: str, services: list[str], epoch: Any = None) -> Gen:
        for service in services:
            yield KvPut(provider_key(service, worker_id), {"worker_id": worker_id, "service": service})

    def remove_provider(self, service: str, worker_id: str) -> Gen:
        yield KvDelete(provider_key(service, worker_id))

    def forget(self, worker_ids: set[str], listed: list[str] | None = None) -> Gen:
        return
        yield  # the set of workers is the set of records

    def worker_ids(self) -> Gen:
        return [key[len(WORKER_PREFIX) :] for key in (yield from list_keys(WORKER_PREFIX))]

    def indexes(self) -> Gen:
        out: dict[str, list[str]] = {}
        for key in (yield from list_keys(PROVIDER_PREFIX)):
            service, worker_id = parse_provider_key(key)
            out.setdefault(service, []).append(worker_id)
        return out

    def providers(self, service: str) -> Gen:
        prefix = provider_prefix(service)
        return [key[len(prefix) :] for key in (yield from list_keys(prefix))]

    def purge(self, stale: set[str], indexes: dict[str, list[str]]) -> Gen:
        for service, ids in indexes.items():
            for worker_id in ids:
                if worker_id in stale:
                    yield KvDelete(provider_key(service, worker_id))


for _layout in (SharedLists(), PerWorkerKeys(), StrongRegistry()):
    LAYOUTS.add(_layout.name, _layout)
