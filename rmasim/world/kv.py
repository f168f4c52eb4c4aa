"""Key-value stores: an eventually consistent Workers KV model and a linearizable strong store.

``WorkersKV`` reproduces the documented behaviour of Cloudflare Workers KV (DESIGN.md section 4; sources:
developers.cloudflare.com/kv/concepts/how-kv-works, /kv/platform/limits, /kv/platform/pricing, and the
2025-04-10 changelog "bulk reads"):

* Writes go to a central store; last write wins, ordered by *arrival* at the central store (issue time + a
  ``write_latency`` draw; ties by issue order). A write issued earlier with a longer latency therefore loses
  to a later-issued faster one. The writing edge's cache is updated at once, at issue time.
* Each edge (location) caches every value *and every miss* it reads for ``cache_ttl`` (documented default
  60 s, minimum ``cacheTtl`` 30 s). Within the TTL a read returns the cached value at no cost in time; after
  it, the edge refetches the value visible centrally at ``now`` (one ``read_latency`` draw) and caches it
  again. Changes thus take up to ``cache_ttl`` (+ write latency) to reach other edges ("60 seconds or
  more").
* ``other_cache_chance``: the chance that a read lands on another of the ``caches_per_location`` caches of
  the same location, which the writer did not update (so a writer can miss its own write).
* ``list(prefix)`` is eventually consistent the same way (each page cached per (edge, prefix, cursor)); at
  most ``list_page_size`` <= 1000 keys a page, sorted, with a cursor.
* A bulk ``get_many`` of up to 100 keys is one operation against the 1000-operations-per-invocation limit;
  each key is still billed as a read.
* Writes to the same key: 1 per second. A second write (put or delete) within ``same_key_write_window`` of
  the previous accepted write to that key fails with 429 (``KVStatus.RATE_LIMITED``) when the limit is
  enforced.
* Faults: ``set_outage(True)`` - cache hits are still served, refetches and writes fail; ``set_edge_lag`` -
  writes reach one edge's refetches ``seconds`` later than the others.
* Expiring keys and metadata (/kv/api/write-key-value-pairs, "Expiring keys", "Metadata"; /kv/api/list-keys):
  ``put(..., expiration=t, metadata=m)`` gives the written version an absolute expiration ``t`` (simulated
  seconds, the world's clock, which is the Workers' seconds since the UNIX epoch) and a JSON metadata value of
  at most 1024 bytes serialised. An expiration less than 60 s after ``now`` is refused (``KVStatus.INVALID``,
  HTTP 400, with Workers' message from :func:`expiration_error`). At and after ``t`` the key reads as missing
  and is not listed, at every edge: an edge cache entry of an expiring version (value or list page) is kept
  until ``min(fetch + cache_ttl, t)`` - the expiration takes precedence over the cache TTL - so no cache serves
  a key past its expiration. ``get_with_metadata`` / ``get_many_with_metadata`` return the metadata cached with
  the value; ``list(..., with_info=True)`` returns ``(name, expiration | None, metadata | None)`` per key.
  A write without expiration or metadata is stored and cached as before, so when no key expires nothing
  extra is computed per read.
* :class:`KVStats` counts operations by kind (read/write/delete/list) and key family (text before the first
  ``:``) for the cost model: free tier a day 100k reads, 1k writes, 1k deletes, 1k lists; paid $0.50 per
  million reads, $5 per million writes, deletes and lists. Only successful operations are billed; 429s and
  unavailable errors have their own counters.

Visibility is lazy: each key keeps its committed value plus the writes still in flight (arrival time,
value), resolved when read; each edge cache is a dict ``key -> (value, expires_at)`` (``(value, expires_at,
metadata)`` for a version with metadata). A version with an expiration or metadata is kept centrally as an
``_Entry``. There are no events per write.

``StrongKV`` (defined in :mod:`rmasim.world.strong`, re-exported here) is a Durable-Object-like single
store: every operation applies at its issue time in call order (linearizable), with ``cas``
(compare-and-set); no caches, no 429, no lag. :func:`build_kv` picks one from ``KVConfig.model``.

Conventions shared by both stores:

* Every method takes ``now`` (true simulated seconds, non-decreasing across calls) and returns its result
  plus the latency the caller must wait. A cache hit costs 0.
* Values are JSON-compatible Python objects that callers treat as immutable: the store does not copy them.
  ``None`` means absent (a delete), so ``put(..., None)`` is refused.
* When the store cannot answer (outage), a read result is the sentinel :data:`KV_UNAVAILABLE` (``get``: the
  value; ``get_many``: each key that missed the cache; ``list``: the keys) and a write returns
  ``KVStatus.UNAVAILABLE``. Test with ``value is KV_UNAVAILABLE`` before anything else.
* ``get_many`` results are memoized per (cache, key tuple). A memo is kept equal to what a fresh bulk read
  would return: when that cache's entry for one of its keys changes (a write at that cache, a refetch by
  ``get`` or another ``get_many``), the memo's values tuple is replaced by a new tuple with that slot patched
  (only when the value object differs: callers may memoize derived data by the identity of the tuple). A
  repeat call before the earliest expiry among the memo's entries is one dict lookup (none when the caller
  passes the same tuple object again); after it, only the expired keys are refetched, in key order, so the
  latency draws match an unmemoized read. Every key is still billed.

Example (a miss cached at edge 1 hides a write made at edge 0 until edge 1's entry expires)::

    >>> import numpy as np
    >>> kv = WorkersKV(n_edges=2, read_latency=0.01, write_latency=0.05, rng=np.random.default_rng(0))
    >>> kv.get(1, "worker_ids", 0.0)
    (None, 0.01)
    >>> kv.put(0, "worker_ids", ["a"], 1.0)
    (<KVStatus.OK: 'ok'>, 0.05)
    >>> kv.get(0, "worker_ids", 1.0), kv.get(1, "worker_ids", 30.0), kv.get(1, "worker_ids", 60.0)
    ((['a'], 0.0), (None, 0.0), (['a'], 0.01))
"""

from __future__ import annotations

import bisect
import heapq
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Final

import numpy as np

from rmasim.world._kvbase import (
    KINDS,
    KV_UNAVAILABLE,
    MAX_BULK_GET,
    MAX_LIST_PAGE,
    MAX_METADATA_BYTES,
    MIN_EXPIRATION_TTL,
    KVStats,
    KVStatus,
    KVStore,
    LatencySpec,
    Value,
    _Base,
    _check_bulk,
    _check_metadata,
    _check_value,
    expiration_error,
    key_family,
)
from rmasim.world.strong import StrongKV

__all__ = [
    "KINDS",
    "KV_UNAVAILABLE",
    "MAX_BULK_GET",
    "MAX_LIST_PAGE",
    "MAX_METADATA_BYTES",
    "MIN_EXPIRATION_TTL",
    "KVStats",
    "KVStatus",
    "KVStore",
    "StrongKV",
    "WorkersKV",
    "build_kv",
    "expiration_error",
    "key_family",
]


MAX_MEMOS: Final = 64  # memoized key tuples kept per cache; the least recently used one goes first


class _Entry:
    """A written version with an expiration (absolute seconds, or None) or metadata, as the central store keeps it.

    Plain versions (no expiration, no metadata) are kept as the bare value, so the common path never meets this.
    """

    __slots__ = ("expiration", "metadata", "value")

    def __init__(self, value: Value, expiration: float | None, metadata: Any) -> None:
        self.value = value
        self.expiration = expiration
        self.metadata = metadata


class _Memo:
    """A memoized ``get_many`` result for one (cache, key tuple), patched in place as the cache changes.

    Invariants (for the cache ``ci`` it belongs to): ``values[i]`` is the value of ``cache[keys[i]]``;
    ``heap`` holds ``(expires_at, key)`` for the current entry of every key (plus stale records of replaced
    entries, dropped lazily); ``horizon`` <= the earliest expiry among the current entries, so a read at
    ``now < horizon`` needs no refetch.
    """

    __slots__ = ("heap", "hits", "horizon", "keys", "pos", "used", "values")

    def __init__(
        self,
        keys: tuple[str, ...],
        pos: dict[str, tuple[int, ...]],
        heap: list[tuple[float, str]],
        values: tuple[Value, ...],
        now: float,
    ) -> None:
        self.keys = keys
        self.pos = pos  # key -> its positions in keys (more than one when the caller repeats a key)
        self.heap = heap
        self.horizon = heap[0][0] if heap else float("inf")
        self.values = values
        self.used = now  # last get_many that used this memo (idle memos are dropped, not patched)
        self.hits = 0  # memo hits not yet moved into stats.bulk_reads


class WorkersKV(_Base):
    """Eventually consistent Workers KV: central last-write-wins store behind per-location TTL caches."""

    def __init__(
        self,
        n_edges: int,
        read_latency: LatencySpec,
        write_latency: LatencySpec,
        rng: np.random.Generator,
        cache_ttl: float = 60.0,
        same_key_write_limit: bool = True,
        same_key_write_window: float = 1.0,
        other_cache_chance: float = 0.0,
        caches_per_location: int = 2,
        list_page_size: int = MAX_LIST_PAGE,
    ) -> None:
        super().__init__(n_edges, read_latency, write_latency, rng, list_page_size)
        if cache_ttl <= 0:
            raise ValueError(f"cache_ttl must be > 0, got {cache_ttl}")
        if not 0.0 <= other_cache_chance <= 1.0:
            raise ValueError(f"other_cache_chance must be within [0, 1], got {other_cache_chance}")
        if caches_per_location < 1:
            raise ValueError(f"caches_per_location must be >= 1, got {caches_per_location}")
        self.cache_ttl = float(cache_ttl)
        self.same_key_write_limit = bool(same_key_write_limit)
        self.same_key_write_window = float(same_key_write_window)
        self.other_cache_chance = float(other_cache_chance) if caches_per_location > 1 else 0.0
        self._k = int(caches_per_location)
        n_caches = self.n_edges * self._k  # cache i belongs to edge i // k; edge e writes through cache e * k
        self._caches: list[dict[str, tuple[Any, ...]]] = [{} for _ in range(n_caches)]  # (value, expires[, meta])
        self._list_caches: list[dict[tuple[str, str | None], tuple[Any, float]]] = [{} for _ in range(n_caches)]
        self._memos: list[dict[tuple[str, ...], _Memo]] = [{} for _ in range(n_caches)]
        self._last_memo: list[_Memo | None] = [None] * n_caches  # skips hashing a repeated key tuple
        self._holders: list[dict[str, list[_Memo]]] = [{} for _ in range(n_caches)]  # key -> memos with it
        self._memo_idle = 2.0 * self.cache_ttl  # a memo unused this long is dropped when next patched
        self._committed: dict[str, Value] = {}
        self._pending: dict[str, list[tuple[float, int, Value]]] = {}  # key -> sorted (arrival, seq, value)
        self._seq = 0
        self._last_write: dict[str, float] = {}
        self._lag = [0.0] * self.n_edges
        self._max_lag = 0.0
        self._extras = False  # a version with an expiration or metadata was ever written
        self.stats.add_flusher(self._flush_memo_reads)

    @classmethod
    def from_config(cls, cfg: Any, n_edges: int, rng: np.random.Generator) -> WorkersKV:
        """Build from an object with the ``KVConfig`` attribute names (docs/CONTRACTS.md)."""
        limit = getattr(cfg, "same_key_write_limit", "enforce")
        return cls(
            n_edges=n_edges,
            read_latency=cfg.read_latency,
            write_latency=cfg.write_latency,
            rng=rng,
            cache_ttl=getattr(cfg, "cache_ttl", 60.0),
            same_key_write_limit=limit == "enforce" if isinstance(limit, str) else bool(limit),
            same_key_write_window=getattr(cfg, "same_key_write_window", 1.0),
            other_cache_chance=getattr(cfg, "other_cache_chance", 0.0),
            caches_per_location=getattr(cfg, "caches_per_location", 2),
            list_page_size=getattr(cfg, "list_page_size", MAX_LIST_PAGE),
        )

    # -- reads -------------------------------------------------------------------------------------------
    def get(self, edge: int, key: str, now: float) -> tuple[Value, float]:
        """The value of ``key`` as seen from ``edge`` (None when absent), and the latency."""
        ci = self._pick(edge) if self.other_cache_chance else edge * self._k
        entry = self._caches[ci].get(key)
        if entry is not None and now < entry[1]:
            self.stats.reads[key] += 1
            return entry[0], 0.0
        value, latency = self._refetch(ci, edge, key, now)
        if value is not KV_UNAVAILABLE:
            self.stats.reads[key] += 1
        return value, latency

    def get_many(self, edge: int, keys: Iterable[str], now: float) -> tuple[tuple[Value, ...], float]:
        """Bulk get of up to 100 keys in one operation; latency = the slowest miss (0 when all hit)."""
        keys = _check_bulk(keys)
        self.stats.bulk_gets += 1
        ci = self._pick(edge) if self.other_cache_chance else edge * self._k
        memo = self._last_memo[ci]
        if memo is None or memo.keys is not keys:
            memo = self._memos[ci].get(keys)
            if memo is None:
                return self._bulk_read(ci, edge, keys, now)
            self._last_memo[ci] = memo
        memo.used = now
        if now < memo.horizon:
            memo.hits += 1  # billed per key when stats are read (see _flush_memo_reads)
            return memo.values, 0.0
        return self._refresh(memo, ci, edge, now)

    def get_with_metadata(self, edge: int, key: str, now: float) -> tuple[tuple[Value, Any], float]:
        """``((value, metadata), latency)``: ``get`` plus the metadata written with that version (None if none)."""
        ci = self._pick(edge) if self.other_cache_chance else edge * self._k
        entry = self._caches[ci].get(key)
        latency = 0.0
        if entry is None or now >= entry[1]:
            value, latency = self._refetch(ci, edge, key, now)
            if value is KV_UNAVAILABLE:
                return (KV_UNAVAILABLE, None), latency
            entry = self._caches[ci][key]
        self.stats.reads[key] += 1
        return (entry[0], entry[2] if len(entry) > 2 else None), latency

    def get_many_with_metadata(
        self, edge: int, keys: Iterable[str], now: float
    ) -> tuple[tuple[tuple[Value, ...], tuple[Any, ...]], float]:
        """``((values, metadatas), latency)``: ``get_many`` (same memo, billing and latency) plus each metadata."""
        keys = _check_bulk(keys)
        self.stats.bulk_gets += 1
        ci = self._pick(edge) if self.other_cache_chance else edge * self._k
        memo = self._memos[ci].get(keys)
        if memo is None:
            values, latency = self._bulk_read(ci, edge, keys, now)
        else:
            self._last_memo[ci] = memo
            memo.used = now
            if now < memo.horizon:
                memo.hits += 1
                values, latency = memo.values, 0.0
            else:
                values, latency = self._refresh(memo, ci, edge, now)
        cache = self._caches[ci]
        metadata: list[Any] = []
        for key, value in zip(keys, values, strict=True):
            entry = cache.get(key) if value is not KV_UNAVAILABLE else None
            metadata.append(entry[2] if entry is not None and len(entry) > 2 else None)
        return (values, tuple(metadata)), latency

    def list(
        self, edge: int, prefix: str, now: float, cursor: str | None = None, with_info: bool = False
    ) -> tuple[Any, str | None, float]:
        """One page ``(keys, next_cursor | None, latency)`` of sorted ``prefix`` keys, cached like values.

        ``with_info``: the keys as ``(name, expiration | None, metadata | None)`` (same cost, same cache)."""
        ci = self._pick(edge) if self.other_cache_chance else edge * self._k
        cache = self._list_caches[ci]
        entry = cache.get((prefix, cursor))
        if entry is not None and now < entry[1]:
            self.stats.lists[prefix] += 1
            page = entry[0]
            return (_info(page) if with_info else page[0]), page[1], 0.0
        latency = self._read_lat()
        if self.outage:
            self.stats.unavailable += 1
            return KV_UNAVAILABLE, None, latency
        lag = self._lag[edge]
        expires = now + self.cache_ttl
        if self._extras:
            page, expires = self._scan_info(prefix, cursor, now, lag, expires)
        else:
            page = self._scan(prefix, cursor, lambda k: self._visible(k, now, lag) is not None)
        cache[prefix, cursor] = (page, expires)
        self.stats.lists[prefix] += 1
        return (_info(page) if with_info else page[0]), page[1], latency

    def central_snapshot(self, now: float) -> dict[str, Value]:
        """Every key's value visible centrally at ``now`` (for checkers; not counted, no latency)."""
        out: dict[str, Value] = {}
        if self._extras:
            for key in self._index:
                value = self._visible(key, now, 0.0)
                if value.__class__ is _Entry:
                    value = _live(value, now)
                if value is not None:
                    out[key] = value
            return out
        for key in self._index:
            value = self._visible(key, now, 0.0)
            if value is not None:
                out[key] = value
        return out

    def central_value(self, key: str, now: float) -> Value:
        """The value of ``key`` visible centrally at ``now`` (None: absent); for observers: not counted, no
        latency, nothing cached."""
        value = self._visible(key, now, 0.0)
        return _live(value, now) if value.__class__ is _Entry else value

    def central_keys(self, prefix: str, now: float) -> tuple[str, ...]:
        """The sorted keys under ``prefix`` visible centrally at ``now`` (all pages); for observers, as
        :meth:`central_value`."""
        index = self._index
        out = []
        for i in range(bisect.bisect_left(index, prefix), len(index)):
            key = index[i]
            if not key.startswith(prefix):
                break
            if self.central_value(key, now) is not None:
                out.append(key)
        return tuple(out)

    # -- writes ------------------------------------------------------------------------------------------
    def put(
        self, edge: int, key: str, value: Value, now: float, expiration: float | None = None, metadata: Any = None
    ) -> tuple[KVStatus, float]:
        """Write ``value``: visible at once in ``edge``'s cache, centrally at now + latency.

        ``expiration`` (absolute seconds, at least 60 s after ``now``, else ``KVStatus.INVALID``): from then on
        the key reads as missing. ``metadata``: a JSON value of at most 1024 bytes serialised, kept with this
        version (None: no metadata)."""
        _check_value(value)
        if expiration is None and metadata is None:
            return self._write(edge, key, value, now, self.stats.writes)
        if metadata is not None:
            _check_metadata(metadata)
        if expiration is not None and expiration_error(expiration, now) is not None:
            return KVStatus.INVALID, self._write_lat()
        self._extras = True
        return self._write(edge, key, value, now, self.stats.writes, _Entry(value, expiration, metadata))

    def delete(self, edge: int, key: str, now: float) -> tuple[KVStatus, float]:
        """Write a tombstone (cached as a miss at ``edge``)."""
        return self._write(edge, key, None, now, self.stats.deletes)

    def _write(
        self,
        edge: int,
        key: str,
        value: Value,
        now: float,
        counter: defaultdict[str, int],
        extras: _Entry | None = None,
    ) -> tuple[KVStatus, float]:
        latency = self._write_lat()
        if self.outage:
            self.stats.unavailable += 1
            return KVStatus.UNAVAILABLE, latency
        if self.same_key_write_limit:
            last = self._last_write.get(key)
            if last is not None and now - last < self.same_key_write_window:
                self.stats.rate_limited += 1
                return KVStatus.RATE_LIMITED, latency
        self._last_write[key] = now
        self._seq += 1
        stored = value if extras is None else extras
        bisect.insort(self._pending.setdefault(key, []), (now + latency, self._seq, stored))
        self._index_key(key)
        ci = edge * self._k
        expires = now + self.cache_ttl
        if extras is None:
            self._caches[ci][key] = (value, expires)
        else:
            expires = _cached_until(expires, extras.expiration)
            self._caches[ci][key] = (value, expires, extras.metadata)
        if key in self._holders[ci]:
            self._patch(ci, key, value, expires, now)
        counter[key] += 1
        return KVStatus.OK, latency

    # -- faults ------------------------------------------------------------------------------------------
    def set_edge_lag(self, edge: int, seconds: float) -> None:
        """Writes reach ``edge``'s refetches ``seconds`` after their central arrival (0 removes the lag).

        Raising a lag affects writes not yet settled; an edge cannot un-see what it already could.
        """
        if seconds < 0:
            raise ValueError(f"lag must be >= 0, got {seconds}")
        self._lag[edge] = float(seconds)
        self._max_lag = max(self._lag)

    # -- internals ---------------------------------------------------------------------------------------
    def _pick(self, edge: int) -> int:
        """The cache a read at ``edge`` lands on: the writer's own, or another with ``other_cache_chance``."""
        base = edge * self._k
        if self._rng.random() < self.other_cache_chance:
            return base + 1 + int(self._rng.integers(self._k - 1))
        return base

    def _bulk_read(self, ci: int, edge: int, keys: tuple[str, ...], now: float) -> tuple[tuple[Value, ...], float]:
        """A bulk read without a memo: refetch the expired keys in order, then memoize a complete result."""
        cache = self._caches[ci]
        bulk_key_reads = self.stats.bulk_key_reads
        values: list[Value] = []
        latency = 0.0
        complete = True
        for key in keys:
            entry = cache.get(key)
            if entry is None or now >= entry[1]:
                value, lat = self._refetch(ci, edge, key, now)
                latency = max(latency, lat)
                if value is KV_UNAVAILABLE:
                    complete = False
                    values.append(value)
                    continue
                entry = cache[key]
            bulk_key_reads[key] += 1
            values.append(entry[0])
        result = tuple(values)
        if complete:
            self._remember(ci, keys, result, now)
        return result, latency

    def _refresh(self, memo: _Memo, ci: int, edge: int, now: float) -> tuple[tuple[Value, ...], float]:
        """A memo past its horizon: refetch just its expired keys (patching it), in the order of ``keys``."""
        cache = self._caches[ci]
        heap = memo.heap
        expired: dict[str, float] = {}
        while heap and heap[0][0] <= now:
            _, key = heapq.heappop(heap)
            expires = cache[key][1]
            if expires <= now:  # else a stale record: the key has a newer entry, also in the heap
                expired[key] = expires
        latency = 0.0
        failed: list[str] = []
        pos = memo.pos
        # Like a read without memo: in key order, and a key repeated in the tuple is fetched again at each
        # occurrence while its refetch fails (same latency draws and unavailable counts).
        for _, key in sorted((p, k) for k in expired for p in pos[k]):
            if now < cache[key][1]:
                continue  # refetched at an earlier occurrence
            value, lat = self._refetch(ci, edge, key, now)  # patches memo on success
            latency = max(latency, lat)
            if value is KV_UNAVAILABLE and key not in failed:
                failed.append(key)
        if failed:  # outage: the expired entries stay, as does the memo; bill the keys answered
            for key in failed:
                heapq.heappush(heap, (expired[key], key))
            memo.horizon = heap[0][0]
            values = list(memo.values)
            for key in failed:
                for p in pos[key]:
                    values[p] = KV_UNAVAILABLE
            bulk_key_reads = self.stats.bulk_key_reads
            for key, value in zip(memo.keys, values, strict=True):
                if value is not KV_UNAVAILABLE:
                    bulk_key_reads[key] += 1
            return tuple(values), latency
        while heap and cache[heap[0][1]][1] != heap[0][0]:  # drop stale records so the horizon is exact
            heapq.heappop(heap)
        memo.horizon = heap[0][0] if heap else float("inf")
        memo.hits += 1
        return memo.values, latency

    def _remember(self, ci: int, keys: tuple[str, ...], values: tuple[Value, ...], now: float) -> None:
        memos = self._memos[ci]
        if len(memos) >= MAX_MEMOS:  # callers use a handful of key tuples: drop the least recently used
            self._evict(ci, min(memos.values(), key=lambda m: m.used))
        cache = self._caches[ci]
        pos: dict[str, tuple[int, ...]] = {}
        for i, key in enumerate(keys):
            pos[key] = (*pos[key], i) if key in pos else (i,)
        heap = [(cache[key][1], key) for key in pos]
        heapq.heapify(heap)
        memo = _Memo(keys, pos, heap, values, now)
        memos[keys] = memo
        self._last_memo[ci] = memo
        holders = self._holders[ci]
        for key in pos:
            holders.setdefault(key, []).append(memo)

    def _patch(self, ci: int, key: str, value: Value, expires: float, now: float) -> None:
        """Cache ``ci``'s entry for ``key`` is now ``(value, expires)``: bring every memo holding it up to date."""
        idle: list[_Memo] = []
        for memo in self._holders[ci][key]:
            if now - memo.used > self._memo_idle:
                idle.append(memo)
                continue
            values = memo.values
            for p in memo.pos[key]:
                if values[p] is not value:  # a new tuple: callers key derived data on its identity
                    values = (*values[:p], value, *values[p + 1 :])
            memo.values = values
            heap = memo.heap
            heapq.heappush(heap, (expires, key))
            if expires < memo.horizon:
                memo.horizon = expires
            if len(heap) > 2 * len(memo.pos) + 8:  # compact: only the current entries' records
                cache = self._caches[ci]
                heap[:] = [(cache[k][1], k) for k in memo.pos]
                heapq.heapify(heap)
        for memo in idle:
            self._evict(ci, memo)

    def _evict(self, ci: int, memo: _Memo) -> None:
        """Forget ``memo`` (its pending hits are billed first)."""
        if memo.hits:
            self.stats.bulk_reads[memo.keys] += memo.hits
            memo.hits = 0
        del self._memos[ci][memo.keys]
        if self._last_memo[ci] is memo:
            self._last_memo[ci] = None
        holders = self._holders[ci]
        for key in memo.pos:
            held = holders[key]
            held.remove(memo)
            if not held:
                del holders[key]

    def _flush_memo_reads(self) -> None:
        """Move memo hits into the stats (each hit bills every key of its tuple as a read)."""
        bulk_reads = self.stats.bulk_reads
        for memos in self._memos:
            for memo in memos.values():
                if memo.hits:
                    bulk_reads[memo.keys] += memo.hits
                    memo.hits = 0

    def _refetch(self, ci: int, edge: int, key: str, now: float) -> tuple[Value, float]:
        latency = self._read_lat()
        if self.outage:
            self.stats.unavailable += 1
            return KV_UNAVAILABLE, latency
        value = self._visible(key, now, self._lag[edge])
        expires = now + self.cache_ttl
        if value.__class__ is _Entry:  # an expiring version is cached until its expiration at the latest
            stored: _Entry = value
            value = _live(stored, now)
            if value is None:
                self._caches[ci][key] = (None, expires)
            else:
                expires = _cached_until(expires, stored.expiration)
                self._caches[ci][key] = (value, expires, stored.metadata)
        else:
            self._caches[ci][key] = (value, expires)
        if key in self._holders[ci]:
            self._patch(ci, key, value, expires, now)
        return value, latency

    def _scan_info(
        self, prefix: str, cursor: str | None, now: float, lag: float, expires: float
    ) -> tuple[tuple[Any, ...], float]:
        """A list page ``(names, cursor, infos)`` once some version has extras, and how long it may be cached: until
        the earliest expiration among its keys (the expiration takes precedence over the cache TTL)."""
        infos: dict[str, tuple[str, float | None, Any]] = {}

        def present(key: str) -> bool:
            item = self._visible(key, now, lag)
            if item.__class__ is _Entry:
                if _live(item, now) is None:
                    return False
                infos[key] = (key, item.expiration, item.metadata)
                return True
            return item is not None

        names, next_cursor = self._scan(prefix, cursor, present)
        info = tuple(infos.get(name) or (name, None, None) for name in names)
        for _, expiration, _ in info:
            expires = _cached_until(expires, expiration)
        return (names, next_cursor, info), expires

    def _visible(self, key: str, now: float, lag: float) -> Value:
        """The central value of ``key`` at ``now`` for a reader whose view lags by ``lag`` (None = absent)."""
        pending = self._pending.get(key)
        if pending is None:
            return self._committed.get(key)
        settled = now - self._max_lag  # writes arrived by then are visible to every edge: fold them
        n = 0
        while n < len(pending) and pending[n][0] <= settled:
            n += 1
        if n:
            value = pending[n - 1][2]
            if value is None:
                self._committed.pop(key, None)
            else:
                self._committed[key] = value
            del pending[:n]
            if not pending:
                del self._pending[key]
                return self._committed.get(key)
        value = self._committed.get(key)
        seen = now - lag
        for arrival, _, v in pending:
            if arrival > seen:
                break
            value = v
        return value


def _cached_until(expires: float, expiration: float | None) -> float:
    """When an edge cache entry ends: its cache TTL's end, or the key's expiration if that comes first (the
    expiration takes precedence over the cache TTL)."""
    return expires if expiration is None or expiration >= expires else expiration


def _live(entry: _Entry, now: float) -> Value:
    """The value of a version with extras at ``now``: None once it has expired."""
    if entry.expiration is not None and now >= entry.expiration:
        return None
    return entry.value


def _info(page: tuple[Any, ...]) -> tuple[tuple[str, float | None, Any], ...]:
    """A list page's keys as ``(name, expiration, metadata)`` (a page scanned before any extras: all None)."""
    if len(page) > 2:
        info: tuple[tuple[str, float | None, Any], ...] = page[2]
        return info
    return tuple((name, None, None) for name in page[0])


def build_kv(cfg: Any, n_edges: int, rng: np.random.Generator) -> WorkersKV | StrongKV:
    """Build the store named by ``cfg.model``: ``"workers-kv"`` (default) or ``"strong"``."""
    model = getattr(cfg, "model", "workers-kv")
    if model == "workers-kv":
        return WorkersKV.from_config(cfg, n_edges, rng)
    if model == "strong":
        return StrongKV.from_config(cfg, n_edges, rng)
    raise ValueError(f"unknown kv model {model!r}; expected 'workers-kv' or 'strong'")
