"""Shared parts of the KV stores: statuses, the unavailable sentinel, operation stats, the store interface.

Private module: import these names from :mod:`rmasim.world.kv` (or :mod:`rmasim.world`), which documents the
model. The stats follow the Workers KV billing units (developers.cloudflare.com/kv/platform/pricing): reads,
writes, deletes and lists are billed per key, a bulk get bills each key as a read while counting as a single
operation against the 1000-operations-per-invocation limit (/kv/platform/limits). Key expiration and metadata
limits (/kv/api/write-key-value-pairs, "Expiring keys", "Metadata"): an expiration at least 60 s in the future,
metadata of at most 1024 bytes serialised.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any, Final, Protocol

import numpy as np

from rmasim.world.rng import Dist, as_sampler

Value = Any  # a JSON-compatible object, treated as immutable; None means absent
LatencySpec = float | Dist | Callable[[], float]
KINDS: Final = ("read", "write", "delete", "list")
MAX_BULK_GET: Final = 100
MAX_LIST_PAGE: Final = 1000
MIN_EXPIRATION_TTL: Final = 60.0  # an expiration must lie at least this many seconds in the future
MAX_METADATA_BYTES: Final = 1024  # metadata, serialised as compact JSON (UTF-8)


class KVStatus(Enum):
    """Outcome of a write: OK, RATE_LIMITED (HTTP 429), UNAVAILABLE (the store is down, HTTP 503) or INVALID (an
    expiration less than 60 s in the future, HTTP 400: see :func:`expiration_error`)."""

    OK = "ok"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    INVALID = "invalid"

    @property
    def http_status(self) -> int:
        return {"ok": 200, "rate_limited": 429, "unavailable": 503, "invalid": 400}[self.value]


class _Unavailable:
    """Type of the :data:`KV_UNAVAILABLE` singleton."""

    __slots__ = ()
    _instance: _Unavailable | None = None

    def __new__(cls) -> _Unavailable:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "KV_UNAVAILABLE"

    def __reduce__(self) -> str:
        return "KV_UNAVAILABLE"


KV_UNAVAILABLE: Final = _Unavailable()
"""Read result when the store could not answer (central outage and no valid cache entry)."""


def expiration_error(expiration: float, now: float) -> str | None:
    """Why Workers KV refuses an absolute ``expiration`` (seconds) at ``now``, in its words; None when it is valid."""
    shown = int(expiration) if expiration == int(expiration) else expiration
    if expiration <= now:
        return (
            f"Invalid expiration of {shown}. Please specify an integer greater than the current number of seconds "
            "since the UNIX epoch."
        )
    if expiration < now + MIN_EXPIRATION_TTL:
        return f"Invalid expiration of {shown}. Expiration times must be at least 60 seconds in the future."
    return None


def metadata_size(metadata: Any) -> int:
    """Bytes of ``metadata`` serialised as ``JSON.stringify`` writes it (compact, UTF-8)."""
    return len(json.dumps(metadata, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode())


def key_family(key: str) -> str:
    """The cost-model family of a key: the text before the first ``:``, or the whole key."""
    i = key.find(":")
    return key if i < 0 else key[:i]


class KVStats:
    """Billed operations by (kind, family), plus 429 and unavailable counts.

    Hot paths bump per-key counters; a store may defer some counts (memoized bulk gets count their hits on
    the memo) and registers a flusher that moves them in. Read figures through :attr:`counts`,
    :meth:`total` and :meth:`by_family`, which flush first.
    """

    def __init__(self) -> None:
        self.reads: defaultdict[str, int] = defaultdict(int)
        self.bulk_key_reads: defaultdict[str, int] = defaultdict(int)  # keys read by get_many
        self.bulk_reads: defaultdict[tuple[str, ...], int] = defaultdict(int)  # memo hits: each key a read
        self.writes: defaultdict[str, int] = defaultdict(int)
        self.deletes: defaultdict[str, int] = defaultdict(int)
        self.lists: defaultdict[str, int] = defaultdict(int)  # by prefix
        self.bulk_gets = 0  # get_many calls: one operation each against the per-invocation limit
        self.rate_limited = 0
        self.unavailable = 0
        self._flushers: list[Callable[[], None]] = []

    def add_flusher(self, flush: Callable[[], None]) -> None:
        """Register a callable that moves a store's deferred counts in before any figure is read."""
        self._flushers.append(flush)

    @property
    def counts(self) -> dict[tuple[str, str], int]:
        """Billed operations keyed by (kind, family), kind in :data:`KINDS`."""
        for flush in self._flushers:
            flush()
        out: defaultdict[tuple[str, str], int] = defaultdict(int)
        singles = (
            ("read", self.reads),
            ("read", self.bulk_key_reads),
            ("write", self.writes),
            ("delete", self.deletes),
        )
        for kind, per_key in singles:
            for key, n in per_key.items():
                out[kind, key_family(key)] += n
        for keys, n in self.bulk_reads.items():
            for key in keys:
                out["read", key_family(key)] += n
        for prefix, n in self.lists.items():
            out["list", key_family(prefix)] += n
        return dict(out)

    def mutations(self) -> int:
        """Writes plus deletes accepted so far (cheap: no flush, no grouping; for per-interval figures)."""
        return sum(self.writes.values()) + sum(self.deletes.values())

    def total(self, kind: str) -> int:
        """Billed operations of one kind (reads count every key of a bulk get)."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
        return sum(n for (k, _), n in self.counts.items() if k == kind)

    def by_family(self) -> dict[str, dict[str, int]]:
        """``{family: {kind: count}}`` with every kind present."""
        out: dict[str, dict[str, int]] = {}
        for (kind, family), n in self.counts.items():
            out.setdefault(family, dict.fromkeys(KINDS, 0))[kind] += n
        return out

    @property
    def operations(self) -> int:
        """Billed operations against the per-invocation limit: a bulk get counts once."""
        return (
            sum(self.reads.values())
            + sum(self.writes.values())
            + sum(self.deletes.values())
            + sum(self.lists.values())
            + self.bulk_gets
        )


class KVStore(Protocol):
    """The interface both stores share (the runtime depends on this, not on a concrete class)."""

    stats: KVStats

    def get(self, edge: int, key: str, now: float) -> tuple[Value, float]: ...
    def get_with_metadata(self, edge: int, key: str, now: float) -> tuple[tuple[Value, Any], float]: ...
    def get_many(self, edge: int, keys: Iterable[str], now: float) -> tuple[tuple[Value, ...], float]: ...
    def get_many_with_metadata(
        self, edge: int, keys: Iterable[str], now: float
    ) -> tuple[tuple[tuple[Value, ...], tuple[Any, ...]], float]: ...
    def put(
        self, edge: int, key: str, value: Value, now: float, expiration: float | None = None, metadata: Any = None
    ) -> tuple[KVStatus, float]: ...
    def delete(self, edge: int, key: str, now: float) -> tuple[KVStatus, float]: ...
    def list(
        self, edge: int, prefix: str, now: float, cursor: str | None = None, with_info: bool = False
    ) -> tuple[Any, str | None, float]: ...
    def central_snapshot(self, now: float) -> dict[str, Value]: ...
    def set_outage(self, active: bool) -> None: ...
    def set_edge_lag(self, edge: int, seconds: float) -> None: ...


class _Base:
    """Shared plumbing: latency samplers, stats, outage flag and the sorted key index used by ``list``."""

    def __init__(
        self,
        n_edges: int,
        read_latency: LatencySpec,
        write_latency: LatencySpec,
        rng: np.random.Generator,
        list_page_size: int,
    ) -> None:
        if n_edges < 1:
            raise ValueError(f"n_edges must be >= 1, got {n_edges}")
        if not 1 <= list_page_size <= MAX_LIST_PAGE:
            raise ValueError(f"list_page_size must be within 1..{MAX_LIST_PAGE}, got {list_page_size}")
        self.n_edges = int(n_edges)
        self.list_page_size = int(list_page_size)
        self.stats = KVStats()
        self._rng = rng
        self._read_lat = as_sampler(read_latency, rng)
        self._write_lat = as_sampler(write_latency, rng)
        self.outage = False
        """A central outage is on (set it with :meth:`set_outage`; a plain attribute, read on every bulk get)."""
        self._index: list[str] = []  # every key ever written, sorted
        self._indexed: set[str] = set()

    def set_outage(self, active: bool) -> None:
        """Start or end a central outage."""
        self.outage = bool(active)

    def _index_key(self, key: str) -> None:
        if key not in self._indexed:
            self._indexed.add(key)
            bisect.insort(self._index, key)

    def _scan(
        self, prefix: str, cursor: str | None, present: Callable[[str], bool]
    ) -> tuple[tuple[str, ...], str | None]:
        """One page of sorted present keys with ``prefix`` after ``cursor`` (the previous page's last key)."""
        index = self._index
        i = bisect.bisect_left(index, prefix)
        if cursor is not None:
            i = max(i, bisect.bisect_right(index, cursor))
        page: list[str] = []
        size = self.list_page_size
        for j in range(i, len(index)):
            key = index[j]
            if not key.startswith(prefix):
                break
            if present(key):
                if len(page) == size:
                    return tuple(page), page[-1]
                page.append(key)
        return tuple(page), None


def _check_value(value: Value) -> None:
    if value is None:
        raise ValueError("None means absent in this store: use delete() to remove a key")


def _check_metadata(metadata: Any) -> None:
    size = metadata_size(metadata)
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"metadata is at most {MAX_METADATA_BYTES} bytes serialised, got {size}")


def _check_bulk(keys: Iterable[str]) -> tuple[str, ...]:
    keys = keys if isinstance(keys, tuple) else tuple(keys)
    if len(keys) > MAX_BULK_GET:
        raise ValueError(f"a bulk get reads at most {MAX_BULK_GET} keys, got {len(keys)}")
    return keys
