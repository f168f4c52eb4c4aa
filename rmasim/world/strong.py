"""A linearizable strong store, like a Cloudflare Durable Object (DESIGN.md section 4, "Strong store").

Model: one single-threaded store; every operation applies at its issue time ``now``, in call order, so the
history is linearizable (the linearization point lies inside [issue, issue + latency]). Besides the Workers
KV interface (get, get_many, put, delete, list, central_snapshot) it offers ``cas`` (compare-and-set), the
primitive the ``reference`` preset uses for leases, fencing tokens and the registry, and ``update``, a method of
the object run atomically on one key (a Durable Object runs one request at a time). There are no edge
caches, no same-key write limit, no propagation lag (``set_edge_lag`` is accepted and ignored), and no key
expiration or metadata (a Durable Object's storage has neither: ``put`` refuses them); during an
outage every operation fails, since there is no cache to serve from. Latency: one ``read_latency`` draw per
read, list or bulk get, one ``write_latency`` draw per put, delete or cas. Conventions (``now``, immutable
JSON values, ``None`` = absent, :data:`KV_UNAVAILABLE`) are those of :mod:`rmasim.world.kv`.

Billing meters (:class:`DOStats`, the store's ``stats``), as a Durable Object is billed
(developers.cloudflare.com/durable-objects/platform/pricing/): every call that the object answers is one
**request** (each RPC method call on a stub is its own billed request), and the object is **active** - billed
for duration - while a request is in it: the union of the calls' intervals ``[now, now + latency]`` (the latency
is the whole round trip, so this bounds the time from above; an idle object eligible for hibernation is not
billed). Storage is SQLite-backed, whose key-value methods are billed as rows: a read per key read (``get``, each
key of ``get_many``, the read of ``cas`` and ``update``) and a row read per key a ``list`` returns; a row written
per put or delete. A call refused during an outage is not billed.

Example::

    >>> import numpy as np
    >>> store = StrongKV(n_edges=2, read_latency=0.002, write_latency=0.005, rng=np.random.default_rng(0))
    >>> store.cas(0, "leader", None, "w1", 0.0), store.cas(1, "leader", None, "w2", 0.0)[:2]
    ((True, 'w1', 0.005), (False, 'w1'))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from rmasim.world._kvbase import (
    KV_UNAVAILABLE,
    MAX_LIST_PAGE,
    KVStats,
    KVStatus,
    LatencySpec,
    Value,
    _Base,
    _check_bulk,
    _check_value,
)

__all__ = ["DOStats", "StrongKV"]


class DOStats(KVStats):
    """:class:`~rmasim.world.KVStats` plus the meters a Durable Object bills on: requests, active seconds and the
    keys returned by lists (rows read)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0
        """Calls the object answered (one billed request each)."""
        self.active_seconds = 0.0
        """Length of the union of the answered calls' intervals [issue, issue + latency]."""
        self.listed_keys = 0
        """Keys returned by ``list`` calls (one row read each on the SQLite backend)."""
        self._busy_until = float("-inf")

    def request(self, now: float, latency: float) -> None:
        """Bill one answered call issued at ``now`` that lasts ``latency`` (calls arrive in time order)."""
        self.requests += 1
        end = now + latency
        if end > self._busy_until:
            self.active_seconds += end - max(now, self._busy_until)
            self._busy_until = end

    def rows_read(self) -> int:
        """Rows read on the SQLite backend: every key read (single, bulk, cas, update) and every key listed."""
        return self.total("read") + self.listed_keys

    def rows_written(self) -> int:
        """Rows written on the SQLite backend: every put and every delete (cas and update included)."""
        return self.total("write") + self.total("delete")


class StrongKV(_Base):
    """A linearizable single store (like a Durable Object): every operation applies at its issue time."""

    def __init__(
        self,
        n_edges: int,
        read_latency: LatencySpec,
        write_latency: LatencySpec,
        rng: np.random.Generator,
        list_page_size: int = MAX_LIST_PAGE,
    ) -> None:
        super().__init__(n_edges, read_latency, write_latency, rng, list_page_size)
        self.stats: DOStats = DOStats()
        self._data: dict[str, Value] = {}

    @classmethod
    def from_config(cls, cfg: Any, n_edges: int, rng: np.random.Generator) -> StrongKV:
        """Build from an object with ``read_latency``, ``write_latency`` (and ``list_page_size``)."""
        return cls(
            n_edges,
            cfg.read_latency,
            cfg.write_latency,
            rng,
            list_page_size=getattr(cfg, "list_page_size", MAX_LIST_PAGE),
        )

    def get(self, edge: int, key: str, now: float) -> tuple[Value, float]:
        latency = self._read_lat()
        if self.outage:
            self.stats.unavailable += 1
            return KV_UNAVAILABLE, latency
        self.stats.request(now, latency)
        self.stats.reads[key] += 1
        return self._data.get(key), latency

    def get_with_metadata(self, edge: int, key: str, now: float) -> tuple[tuple[Value, Any], float]:
        """``get``; no key has metadata here."""
        value, latency = self.get(edge, key, now)
        return (value, None), latency

    def get_many_with_metadata(
        self, edge: int, keys: Iterable[str], now: float
    ) -> tuple[tuple[tuple[Value, ...], tuple[Any, ...]], float]:
        """``get_many``; no key has metadata here."""
        values, latency = self.get_many(edge, keys, now)
        return (values, (None,) * len(values)), latency

    def get_many(self, edge: int, keys: Iterable[str], now: float) -> tuple[tuple[Value, ...], float]:
        keys = _check_bulk(keys)
        latency = self._read_lat()
        self.stats.bulk_gets += 1
        if self.outage:
            self.stats.unavailable += 1
            return (KV_UNAVAILABLE,) * len(keys), latency
        self.stats.request(now, latency)
        for key in keys:
            self.stats.bulk_key_reads[key] += 1
        return tuple(self._data.get(key) for key in keys), latency

    def list(
        self, edge: int, prefix: str, now: float, cursor: str | None = None, with_info: bool = False
    ) -> tuple[Any, str | None, float]:
        latency = self._read_lat()
        if self.outage:
            self.stats.unavailable += 1
            return KV_UNAVAILABLE, None, latency
        self.stats.request(now, latency)
        self.stats.lists[prefix] += 1
        keys, next_cursor = self._scan(prefix, cursor, self._data.__contains__)
        self.stats.listed_keys += len(keys)
        if with_info:
            return tuple((key, None, None) for key in keys), next_cursor, latency
        return keys, next_cursor, latency

    def put(
        self, edge: int, key: str, value: Value, now: float, expiration: float | None = None, metadata: Any = None
    ) -> tuple[KVStatus, float]:
        _check_value(value)
        if expiration is not None or metadata is not None:
            raise ValueError("the strong store (a Durable Object) has no key expiration or metadata")
        latency = self._write_lat()
        if self.outage:
            self.stats.unavailable += 1
            return KVStatus.UNAVAILABLE, latency
        self.stats.request(now, latency)
        self._store(key, value)
        return KVStatus.OK, latency

    def delete(self, edge: int, key: str, now: float) -> tuple[KVStatus, float]:
        latency = self._write_lat()
        if self.outage:
            self.stats.unavailable += 1
            return KVStatus.UNAVAILABLE, latency
        self.stats.request(now, latency)
        self._store(key, None)
        return KVStatus.OK, latency

    def cas(self, edge: int, key: str, expected: Value, new: Value, now: float) -> tuple[bool, Value, float]:
        """Set ``key`` to ``new`` (None deletes) iff its value equals ``expected`` (None = absent).

        Returns ``(ok, current, latency)``: ``current`` is the value after the operation (``new`` when it
        applied, the mismatching value otherwise). Billed as a read, plus a write or delete when it applies.
        """
        latency = self._write_lat()
        if self.outage:
            self.stats.unavailable += 1
            return False, KV_UNAVAILABLE, latency
        self.stats.request(now, latency)
        self.stats.reads[key] += 1
        current = self._data.get(key)
        if current != expected:
            return False, current, latency
        self._store(key, new)
        return True, new, latency

    def update(
        self, edge: int, key: str, update: Callable[[Value, Any], tuple[Value, Any]], arg: Any, now: float
    ) -> tuple[Any, float]:
        """A Durable Object method on ``key``: ``new, result = update(value, arg)`` applied at once (None deletes);
        returns ``(result, latency)``, or ``(KV_UNAVAILABLE, latency)`` during an outage. Billed as a read and a
        write (or delete) of ``key``."""
        latency = self._write_lat()
        if self.outage:
            self.stats.unavailable += 1
            return KV_UNAVAILABLE, latency
        self.stats.request(now, latency)
        self.stats.reads[key] += 1
        new, result = update(self._data.get(key), arg)
        self._store(key, new)
        return result, latency

    def central_snapshot(self, now: float) -> dict[str, Value]:
        return dict(self._data)

    def set_edge_lag(self, edge: int, seconds: float) -> None:
        """No effect: a single linearizable store has no propagation lag (kept for a uniform interface)."""

    def _store(self, key: str, value: Value) -> None:
        if value is None:
            self._data.pop(key, None)
            self.stats.deletes[key] += 1
        else:
            self._data[key] = value
            self._index_key(key)
            self.stats.writes[key] += 1
