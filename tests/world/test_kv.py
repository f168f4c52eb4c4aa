"""Workers KV and strong-store behaviours, one test per documented behaviour (quoted in each docstring)."""

from __future__ import annotations

import pickle
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmasim.world.kv import KV_UNAVAILABLE, KVStatus, StrongKV, WorkersKV, build_kv, expiration_error, key_family

READ, WRITE = 0.01, 0.05  # constant latencies keep hand-computed timelines exact


def kv(**kw: Any) -> WorkersKV:
    args: dict[str, Any] = {"n_edges": 4, "read_latency": READ, "write_latency": WRITE}
    args["rng"] = np.random.default_rng(0)
    args.update(kw)
    return WorkersKV(**args)


# -- visibility ------------------------------------------------------------------------------------
def test_write_seen_at_once_at_writing_edge() -> None:
    """A write at edge 1 is seen at once at edge 1 (the writer's cache is updated at issue time, no cost)."""
    store = kv()
    assert store.put(1, "worker:a", {"id": "a"}, 0.0) == (KVStatus.OK, WRITE)
    assert store.get(1, "worker:a", 0.0) == ({"id": "a"}, 0.0)


def test_other_edge_keeps_cached_value_until_ttl() -> None:
    """Edge 2, which cached the old value, keeps returning it until its cache_ttl passes."""
    store = kv()
    store.put(0, "k", "v1", 0.0)
    assert store.get(2, "k", 10.0) == ("v1", READ)  # miss: fetched and cached until 70
    store.put(1, "k", "v2", 20.0)
    assert store.get(2, "k", 30.0) == ("v1", 0.0)
    assert store.get(2, "k", 69.99) == ("v1", 0.0)
    assert store.get(2, "k", 70.0) == ("v2", READ)  # TTL passed: refetched
    assert store.get(1, "k", 30.0) == ("v2", 0.0)


def test_cached_miss_hides_new_key_until_ttl() -> None:
    """Each edge caches every miss it reads: edge 2 keeps answering None for cache_ttl after a write."""
    store = kv()
    assert store.get(2, "k", 0.0) == (None, READ)
    store.put(1, "k", "v", 1.0)
    assert store.get(2, "k", 59.9) == (None, 0.0)
    assert store.get(2, "k", 60.0) == ("v", READ)


def test_write_visible_centrally_at_arrival_time() -> None:
    """The write becomes visible centrally at its arrival time (issue time + write latency)."""
    store = kv()
    store.put(0, "k", "v", 0.0)  # arrives at 0.05
    assert store.central_snapshot(0.04) == {}
    assert store.get(1, "k", 0.04) == (None, READ)
    assert store.central_snapshot(0.05) == {"k": "v"}
    assert store.get(2, "k", 0.05) == ("v", READ)


def test_last_write_wins_by_arrival_not_issue_order(script: type) -> None:
    """Last write wins in order of arrival at the central store: a write issued earlier with a longer latency
    arrives later and overwrites a later-issued faster one (we order by arrival, not by issue time)."""
    store = kv(write_latency=script([3.0, 0.1]))
    store.put(0, "k", "slow", 0.0)  # arrives at 3.0
    store.put(1, "k", "fast", 1.5)  # arrives at 1.6
    assert store.central_snapshot(2.0) == {"k": "fast"}
    assert store.central_snapshot(5.0) == {"k": "slow"}
    assert store.get(2, "k", 5.0) == ("slow", READ)


def test_read_modify_write_from_two_edges_loses_an_update() -> None:
    """Two read-modify-writes of one list from two edges inside that window lose one update: both edges read
    [a], edge 1 writes [a, b], edge 2 writes [a, c]; the central value has only one of b, c."""
    store = kv()
    store.put(0, "service:rag", ["a"], 0.0)
    base1, _ = store.get(1, "service:rag", 10.0)
    base2, _ = store.get(2, "service:rag", 10.0)
    assert base1 == base2 == ["a"]
    assert store.put(1, "service:rag", [*base1, "b"], 11.0)[0] is KVStatus.OK
    assert store.put(2, "service:rag", [*base2, "c"], 12.0)[0] is KVStatus.OK
    final = store.central_snapshot(20.0)["service:rag"]
    assert final == ["a", "c"]
    assert ("b" in final) != ("c" in final)


def test_delete_is_a_tombstone_cached_as_a_miss() -> None:
    """delete = a write of a tombstone: the writer sees the miss at once, others keep the value until TTL."""
    store = kv()
    store.put(0, "k", "v", 0.0)
    assert store.get(2, "k", 5.0) == ("v", READ)
    assert store.delete(1, "k", 10.0) == (KVStatus.OK, WRITE)
    assert store.get(1, "k", 10.0) == (None, 0.0)
    assert store.get(2, "k", 30.0) == ("v", 0.0)
    assert store.get(2, "k", 65.0) == (None, READ)
    assert store.central_snapshot(65.0) == {}


def test_put_none_is_refused() -> None:
    """None means absent: putting None is refused (use delete)."""
    with pytest.raises(ValueError, match="delete"):
        kv().put(0, "k", None, 0.0)


def test_other_cache_of_the_same_location_misses_the_write() -> None:
    """other_cache_chance: a read that lands on another cache of the same location does not see the write
    that updated the writer's cache."""
    store = kv(other_cache_chance=1.0, caches_per_location=2)
    store.get(0, "k", 0.0)  # the other cache caches the miss
    store.put(0, "k", "v", 1.0)
    assert store.get(0, "k", 2.0) == (None, 0.0)
    assert store.get(0, "k", 60.0) == ("v", READ)


def test_edge_lag_delays_visibility_at_one_edge() -> None:
    """set_edge_lag(edge, s): writes reach that edge's refetches s seconds later than the other edges."""
    store = kv()
    store.set_edge_lag(3, 30.0)
    store.put(0, "k", "v", 0.0)  # arrives at 0.05; at edge 3 from 30.05
    assert store.get(1, "k", 1.0) == ("v", READ)
    assert store.get(2, "k", 29.0) == ("v", READ)
    assert store.get(3, "k", 30.0) == (None, READ)
    store2 = kv()
    store2.set_edge_lag(3, 30.0)
    store2.put(0, "k", "v", 0.0)
    assert store2.get(3, "k", 30.05) == ("v", READ)
    with pytest.raises(ValueError):
        store.set_edge_lag(3, -1.0)


# -- same-key write limit --------------------------------------------------------------------------
def test_same_key_writes_within_one_second_get_429() -> None:
    """Same-key writes within 1 s get 429: not applied, writer's cache not updated, counted rate_limited."""
    store = kv()
    assert store.put(0, "k", "v1", 0.0)[0] is KVStatus.OK
    assert store.put(0, "k", "v2", 0.5)[0] is KVStatus.RATE_LIMITED
    assert store.delete(1, "k", 0.9)[0] is KVStatus.RATE_LIMITED
    assert store.stats.rate_limited == 2
    assert store.get(0, "k", 0.6) == ("v1", 0.0)
    assert store.central_snapshot(5.0) == {"k": "v1"}
    assert store.put(0, "other", "x", 0.5)[0] is KVStatus.OK  # the limit is per key
    assert store.put(0, "k", "v3", 1.0)[0] is KVStatus.OK  # 1 s after the accepted write
    assert KVStatus.RATE_LIMITED.http_status == 429
    assert store.stats.total("write") == 3


def test_same_key_limit_can_be_ignored() -> None:
    """With the limit off ("ignore"), rapid same-key writes all apply."""
    store = kv(same_key_write_limit=False)
    assert [store.put(0, "k", i, 0.1 * i)[0] for i in range(1, 4)] == [KVStatus.OK] * 3
    assert store.central_snapshot(1.0) == {"k": 3}


# -- list ------------------------------------------------------------------------------------------
def test_list_pages_of_at_most_1000_keys_with_cursor() -> None:
    """list(prefix) returns sorted keys, at most 1000 a page, and a cursor for more (None at the end)."""
    store = kv()
    for i in range(2500):
        store.put(0, f"worker:{i:05d}", i, 0.0)
    store.put(0, "workers", 0, 0.0)  # shares the text but not the prefix "worker:"
    pages, cursor, t = [], None, 1.0
    while True:
        keys, cursor, latency = store.list(1, "worker:", t, cursor)
        assert latency == READ
        pages.append(keys)
        if cursor is None:
            break
    assert [len(p) for p in pages] == [1000, 1000, 500]
    flat = [k for p in pages for k in p]
    assert flat == sorted(f"worker:{i:05d}" for i in range(2500))
    assert store.stats.total("list") == 3


def test_list_page_size_bounds() -> None:
    """list_page_size is at most 1000 (the documented maximum) and at least 1."""
    for bad in (0, 1001):
        with pytest.raises(ValueError, match="list_page_size"):
            kv(list_page_size=bad)


def test_list_is_stale_like_gets() -> None:
    """list is eventually consistent like get: a page is cached per (edge, prefix, cursor) for cache_ttl."""
    store = kv(list_page_size=2)
    assert store.list(1, "worker:", 0.0) == ((), None, READ)
    store.put(0, "worker:a", 1, 1.0)
    store.put(0, "worker:b", 1, 1.0)
    store.put(0, "worker:c", 1, 1.0)
    assert store.list(1, "worker:", 59.0) == ((), None, 0.0)
    assert store.list(0, "worker:", 2.0) == (("worker:a", "worker:b"), "worker:b", READ)
    assert store.list(1, "worker:", 60.0) == (("worker:a", "worker:b"), "worker:b", READ)
    assert store.list(1, "worker:", 60.0, "worker:b") == (("worker:c",), None, READ)
    store.delete(0, "worker:a", 61.0)
    assert store.list(1, "worker:", 100.0)[0] == ("worker:a", "worker:b")
    assert store.list(1, "worker:", 120.0)[0] == ("worker:b", "worker:c")


# -- stats -----------------------------------------------------------------------------------------
def test_ops_counted_by_kind_and_family() -> None:
    """Every read/write/delete/list is counted by kind and key family (text before the first ':')."""
    store = kv()
    store.put(0, "worker:a", 1, 0.0)
    store.put(0, "worker:b", 1, 0.0)
    store.put(0, "worker_ids", ["a", "b"], 0.0)
    store.get(0, "worker:a", 1.0)  # hit
    store.get(1, "worker:a", 1.0)  # miss
    store.get(1, "service:rag", 1.0)  # miss of an absent key is billed too
    store.delete(0, "worker:b", 2.0)
    store.list(0, "worker:", 3.0)
    assert store.stats.counts == {
        ("write", "worker"): 2,
        ("write", "worker_ids"): 1,
        ("read", "worker"): 2,
        ("read", "service"): 1,
        ("delete", "worker"): 1,
        ("list", "worker"): 1,
    }
    assert [store.stats.total(k) for k in ("read", "write", "delete", "list")] == [3, 3, 1, 1]
    assert store.stats.by_family()["worker"] == {"read": 2, "write": 2, "delete": 1, "list": 1}
    assert store.stats.operations == 8
    assert key_family("heartbeat_leader") == "heartbeat_leader"
    assert key_family("service:rag:v2") == "service"
    with pytest.raises(ValueError):
        store.stats.total("scan")


def test_bulk_get_is_one_operation_each_key_a_read() -> None:
    """A bulk get of up to 100 keys is one operation against the per-invocation limit; each key is billed as
    a read (also when the result is memoized)."""
    store = kv()
    keys = tuple(f"worker:{i}" for i in range(100))
    store.get_many(0, keys, 0.0)
    store.get_many(0, keys, 1.0)  # memoized
    assert store.stats.total("read") == 200
    assert store.stats.operations == 2
    with pytest.raises(ValueError, match="100"):
        store.get_many(0, [*keys, "x"], 2.0)


# -- get_many memo -------------------------------------------------------------------------------------------
def test_get_many_latency_is_max_of_misses(script: type) -> None:
    """get_many's latency is the max of the misses' latencies; an all-hit bulk get costs 0."""
    store = kv(read_latency=script([0.02, 0.07, 0.03]))
    store.put(0, "c", 3, 0.0)
    assert store.get_many(0, ["a", "b", "c", "d"], 1.0) == ((None, None, 3, None), 0.07)
    assert store.get_many(0, ["a", "b", "c", "d"], 2.0) == ((None, None, 3, None), 0.0)


def test_get_many_memo_sees_write_at_that_edge() -> None:
    """The get_many memo returns the new value after a write at that edge."""
    store = kv()
    keys = ("worker:a", "worker:b")
    store.put(0, "worker:a", 1, 0.0)
    assert store.get_many(0, keys, 1.0)[0] == (1, None)
    assert store.get_many(0, keys, 2.0)[0] == (1, None)
    store.put(0, "worker:b", 2, 3.0)
    assert store.get_many(0, keys, 3.0) == ((1, 2), 0.0)
    store.put(1, "worker:a", 9, 4.0)  # another edge: stale here until TTL
    assert store.get_many(0, keys, 5.0)[0] == (1, 2)


def test_get_many_memo_refetches_after_ttl_expiry() -> None:
    """The get_many memo is valid only until the earliest expiry among its entries, then refetches."""
    store = kv()
    keys = ("a", "b")
    store.get(0, "a", 0.0)  # cached until 60
    store.get(0, "b", 30.0)  # cached until 90
    store.put(1, "a", "new-a", 10.0)
    assert store.get_many(0, keys, 40.0) == ((None, None), 0.0)
    assert store.get_many(0, keys, 60.0) == (("new-a", None), READ)


def test_get_many_patches_its_memo_in_place() -> None:
    """A write at that edge patches the memo: the next call returns a new tuple (callers key derived data on
    its identity) with the new value and no refetch; writes and refetches of other keys, and writes at other
    edges, leave the returned tuple object as it was."""
    store = kv()
    keys = ("worker:a", "worker:b")
    store.put(0, "worker:a", 1, 0.0)
    first, _ = store.get_many(0, keys, 1.0)  # worker:b missed: cached until 61
    assert first == (1, None)
    assert store.get_many(0, keys, 2.0)[0] is first
    store.put(0, "other", 5, 3.0)
    store.get(0, "absent", 3.0)  # a refetch of a key no memo holds
    store.put(1, "worker:a", 9, 4.0)
    assert store.get_many(0, keys, 5.0) == (first, 0.0)
    assert store.get_many(0, keys, 5.0)[0] is first
    store.put(0, "worker:b", 2, 6.0)
    second, latency = store.get_many(0, keys, 6.0)
    assert (second, latency) == ((1, 2), 0.0)
    assert second is not first
    assert store.get_many(0, keys, 7.0)[0] is second
    assert store.stats.total("read") == 6 * 2 + 1


def test_get_many_memo_sees_refetch_by_get() -> None:
    """A refetch by ``get`` of a memoized key patches the memo: get_many then returns the refetched value
    without a refetch of its own."""
    store = kv()
    keys = ("a", "b")
    store.get(0, "a", 0.0)  # cached until 60
    store.get(0, "b", 30.0)  # cached until 90
    assert store.get_many(0, keys, 40.0) == ((None, None), 0.0)
    store.put(1, "a", "new-a", 41.0)
    assert store.get(0, "a", 60.0) == ("new-a", READ)
    assert store.get_many(0, keys, 61.0) == (("new-a", None), 0.0)


def test_get_many_refetches_only_the_expired_keys(script: type) -> None:
    """Past the memo's earliest expiry, only the expired keys are refetched (one latency draw each, in key
    order); the others are served from the cache."""
    store = kv(read_latency=script([0.01, 0.02, 0.03, 0.04, 0.05]))
    keys = ("a", "b", "c")
    store.get(0, "b", 0.0)  # 0.01, cached until 60
    store.get(0, "a", 10.0)  # 0.02, until 70
    store.get(0, "c", 20.0)  # 0.03, until 80
    store.put(1, "b", "B", 21.0)
    store.put(1, "a", "A", 22.0)
    assert store.get_many(0, keys, 30.0) == ((None, None, None), 0.0)
    assert store.get_many(0, keys, 65.0) == ((None, "B", None), 0.04)  # only b refetched
    assert store.get_many(0, keys, 70.0) == (("A", "B", None), 0.05)  # then only a
    assert store.get_many(0, keys, 75.0) == (("A", "B", None), 0.0)
    assert store.stats.total("read") == 3 + 4 * 3


def test_get_many_memos_are_bounded_and_billing_stays_exact() -> None:
    """At most 64 key tuples are memoized per cache (the least recently used one is dropped); every key of
    every call is still billed once."""
    from rmasim.world.kv import MAX_MEMOS

    store = kv()
    tuples = [(f"k{i}", f"k{i + 1}", "shared") for i in range(200)]
    for rep in range(2):
        for i, keys in enumerate(tuples):
            store.get_many(0, keys, rep + i * 1e-3)
    store.put(0, "shared", 1, 1.0)
    assert store.get_many(0, tuples[-1], 1.5)[0] == (None, None, 1)
    assert len(store._memos[0]) <= MAX_MEMOS
    assert all(len(held) <= MAX_MEMOS for held in store._holders[0].values())
    assert store.stats.total("read") == 2 * 200 * 3 + 3
    assert store.stats.operations == 2 * 200 + 1 + 1


EDGES = st.integers(0, 1)
KEY = st.sampled_from("abcd")
TUPLE = st.lists(KEY, min_size=1, max_size=4).map(tuple)
# Weighted by repetition: mostly writes, reads and short waits, so memos live long enough to be patched.
op = st.one_of(
    *[st.tuples(st.just("put"), EDGES, KEY, st.integers(0, 9))] * 3,
    st.tuples(st.just("delete"), EDGES, KEY, st.just(0)),
    *[st.tuples(st.just("read"), EDGES, st.just(""), st.integers(0, 1))] * 4,
    st.tuples(st.just("get"), EDGES, KEY, st.just(0)),
    *[st.tuples(st.just("wait"), st.just(0), st.just(""), st.integers(0, 5))] * 2,
    st.tuples(st.just("wait"), st.just(0), st.just(""), st.integers(0, 40)),
    st.tuples(st.just("outage"), st.just(0), st.just(""), st.integers(0, 1)),
    st.tuples(st.just("lag"), EDGES, st.just(""), st.integers(0, 20)),
)


def run_ops(
    ops: list[tuple[str, int, str, int]], tuples: list[tuple[str, ...]], bulk: WorkersKV, ref: WorkersKV
) -> None:
    """Apply ``ops`` to both stores; a "read" is a get_many on ``bulk``, checked against the same get_many
    on an unmemoized ``ref`` or else against a loop of get on ``ref``."""
    now = 0.0
    for name, edge, key, arg in ops:
        if name == "put":
            assert bulk.put(edge, key, arg, now) == ref.put(edge, key, arg, now)
        elif name == "delete":
            assert bulk.delete(edge, key, now) == ref.delete(edge, key, now)
        elif name == "get":
            assert bulk.get(edge, key, now) == ref.get(edge, key, now)
        elif name == "outage":
            for store in (bulk, ref):
                store.set_outage(bool(arg))
        elif name == "lag":
            for store in (bulk, ref):
                store.set_edge_lag(edge, float(arg))
        elif name == "wait":
            now += arg
        else:
            keys = tuples[arg]
            got = bulk.get_many(edge, keys, now)
            if isinstance(ref, _Unmemoized):
                assert got == ref.get_many(edge, keys, now)
            else:
                pairs = [ref.get(edge, k, now) for k in keys]
                assert got == (tuple(v for v, _ in pairs), max(lat for _, lat in pairs))
    assert bulk.stats.counts == ref.stats.counts
    if isinstance(ref, _Unmemoized):
        assert bulk.stats.operations == ref.stats.operations


class _Unmemoized(WorkersKV):
    """get_many without its memo (every call reads the cache entries afresh): the memo's reference."""

    def _remember(self, ci: int, keys: tuple[str, ...], values: tuple[Any, ...], now: float) -> None:
        pass


EXP = SimpleNamespace(sample=lambda rng, size: rng.exponential(0.02, size))


@settings(max_examples=300, deadline=None)
@given(ops=st.lists(op, min_size=20, max_size=60), tuples=st.lists(TUPLE, min_size=2, max_size=2))
def test_get_many_matches_a_loop_of_get(ops: list[tuple[str, int, str, int]], tuples: list[tuple[str, ...]]) -> None:
    """get_many (memoized) returns exactly what a loop of get returns (values, and latency = the slowest
    miss), on random op sequences with writes, deletes, single gets, two key tuples, TTL expiry, edge lag and
    outages; both bill the same reads."""
    bulk, loop = (
        kv(n_edges=2, read_latency=EXP, write_latency=EXP, cache_ttl=30.0, rng=np.random.default_rng(1))
        for _ in range(2)
    )
    run_ops(ops, tuples, bulk, loop)


@settings(max_examples=200, deadline=None)
@given(
    ops=st.lists(op, min_size=20, max_size=60),
    tuples=st.lists(TUPLE, min_size=2, max_size=2),
    chance=st.sampled_from([0.3, 0.7, 1.0]),
    k=st.integers(2, 3),
)
def test_get_many_memo_matches_unmemoized_with_other_caches(
    ops: list[tuple[str, int, str, int]], tuples: list[tuple[str, ...]], chance: float, k: int
) -> None:
    """With other_cache_chance (reads landing on caches the writer did not update), the memoized get_many
    returns exactly what an unmemoized one returns, with the same latencies and billing."""
    args: dict[str, Any] = {"n_edges": 2, "read_latency": EXP, "write_latency": EXP, "cache_ttl": 30.0}
    args.update(other_cache_chance=chance, caches_per_location=k)
    run_ops(ops, tuples, kv(**args, rng=np.random.default_rng(1)), _Unmemoized(**args, rng=np.random.default_rng(1)))


# -- expiring keys and metadata --------------------------------------------------------------------
# Sources: developers.cloudflare.com/kv/api/write-key-value-pairs ("Expiring keys", "Metadata"),
# /kv/api/list-keys, /kv/glossary; the error texts are the ones Workers throws (quoted in public issue threads).
def test_an_expired_key_reads_as_missing_at_every_edge() -> None:
    """Docs: "Once the expiration time of an expiring key is reached, it will be deleted from the system. After its
    deletion, attempts to read the key will behave as if the key does not exist." Expiration is "an absolute time
    specified in a number of seconds since the UNIX epoch": here simulated seconds, the world's clock."""
    store = kv()
    assert store.put(0, "k", "v", 0.0, expiration=100.0) == (KVStatus.OK, WRITE)
    assert store.get(0, "k", 30.0) == ("v", 0.0)  # the writer's cache, until min(0 + 60, 100)
    assert store.get(2, "k", 50.0) == ("v", READ)  # cached until min(50 + 60, 100) = 100
    assert store.get(2, "k", 99.99) == ("v", 0.0)
    assert store.get(2, "k", 100.0) == (None, READ)
    assert store.get(0, "k", 100.0) == (None, READ)
    assert store.get_many(3, ("k",), 100.0) == ((None,), READ)
    assert store.central_snapshot(99.0) == {"k": "v"}
    assert store.central_snapshot(100.0) == {}


def test_expiration_takes_precedence_over_the_cache_ttl() -> None:
    """cacheTtl "defines the length of time in seconds that a KV result is cached in the global network location
    it is accessed from" (glossary); an expiring key's cache entry ends at its expiration even when the cache TTL
    is longer, so no location serves the key past it (issue 12: expiration "taking precedence over cacheTtl")."""
    store = kv(cache_ttl=300.0)
    store.put(0, "k", "v", 0.0, expiration=90.0)
    assert store.get(1, "k", 10.0) == ("v", READ)  # cached until min(310, 90)
    assert store.get(1, "k", 89.9) == ("v", 0.0)
    assert store.get(1, "k", 90.0) == (None, READ)
    assert store.get(0, "k", 89.9) == ("v", 0.0)  # the writer's own entry: min(300, 90)
    assert store.get(0, "k", 90.0) == (None, READ)
    assert store.get(1, "k", 200.0) == (None, 0.0)  # the miss is cached for the full cache TTL, as any miss


def test_a_rewrite_renews_the_expiration() -> None:
    """The expiration belongs to the version written: "after a certain amount of time has passed since the key was
    last modified". A heartbeat that rewrites the key with a new expiration keeps it alive."""
    store = kv()
    store.put(0, "k", "v1", 0.0, expiration=90.0)
    store.put(0, "k", "v2", 30.0, expiration=120.0)
    assert store.get(1, "k", 100.0) == ("v2", READ)
    assert store.get(1, "k", 119.0) == ("v2", 0.0)
    assert store.get(1, "k", 120.0) == (None, READ)
    store.put(0, "k", "v3", 130.0)  # a write without expiration never expires
    assert store.central_snapshot(10_000.0) == {"k": "v3"}


def test_an_expiration_less_than_60_seconds_ahead_is_refused() -> None:
    """Docs: "Expiration targets that are less than 60 seconds into the future are not supported." Workers throws
    "KV PUT failed: 400 Invalid expiration of <ts>. Expiration times must be at least 60 seconds in the future."
    (and for a time already past: "Please specify an integer greater than the current number of seconds since the
    UNIX epoch."). Nothing is written and nothing billed."""
    store = kv()
    assert store.put(0, "k", "v", 100.0, expiration=159.0) == (KVStatus.INVALID, WRITE)
    assert store.get(0, "k", 100.0) == (None, READ)
    assert store.stats.total("write") == 0
    assert KVStatus.INVALID.http_status == 400
    assert expiration_error(159.0, 100.0) == (
        "Invalid expiration of 159. Expiration times must be at least 60 seconds in the future."
    )
    assert expiration_error(60, 100.0) == (
        "Invalid expiration of 60. Please specify an integer greater than the current number of seconds since the "
        "UNIX epoch."
    )
    assert expiration_error(160.0, 100.0) is None
    assert store.put(0, "k", "v", 100.0, expiration=160.0)[0] is KVStatus.OK


def test_metadata_is_read_back_with_its_value() -> None:
    """Docs: "A metadata is a serializable value you append to each KV entry" (glossary); getWithMetadata returns
    {value, metadata}, from the same cache entry as the value (a read of one key, billed once). A rewrite without
    metadata leaves the key with none."""
    store = kv()
    store.put(0, "k", "v", 0.0, metadata={"service": "rag"})
    assert store.get_with_metadata(0, "k", 0.0) == (("v", {"service": "rag"}), 0.0)
    assert store.get_with_metadata(1, "k", 1.0) == (("v", {"service": "rag"}), READ)
    assert store.get(1, "k", 2.0) == ("v", 0.0)
    assert store.get_many_with_metadata(3, ("k", "x"), 2.0) == ((("v", None), ({"service": "rag"}, None)), READ)
    assert store.get_many_with_metadata(3, ("k", "x"), 3.0) == ((("v", None), ({"service": "rag"}, None)), 0.0)
    store.put(0, "k", "w", 5.0)
    assert store.get_with_metadata(0, "k", 5.0) == (("w", None), 0.0)
    assert store.stats.total("read") == 8  # 4 single reads, and 2 keys twice in bulk


def test_metadata_over_1024_bytes_is_refused() -> None:
    """Metadata is limited to 1024 bytes, serialised as JSON (Workers: "KV PUT failed: 413 Metadata length exceeds
    limit of 1024")."""
    store = kv()
    assert store.put(0, "k", "v", 0.0, metadata="x" * 1022)[0] is KVStatus.OK  # '"' + 1022 + '"' = 1024 bytes
    with pytest.raises(ValueError, match="1024"):
        store.put(0, "j", "v", 0.0, metadata="x" * 1023)


def test_list_gives_each_key_its_expiration_and_metadata_and_skips_expired_keys() -> None:
    """list() returns "keys: { name: string, expiration?: number, metadata?: object }[]" (/kv/api/list-keys); the
    expiration "is omitted for keys that will not expire" (API reference). An expired key is not listed: a cached
    page ends at the earliest expiration among its keys, like a value's cache entry."""
    store = kv(cache_ttl=300.0)
    store.put(0, "worker:a", "{}", 0.0, expiration=200.0, metadata={"service": "rag"})
    store.put(0, "worker:b", "{}", 0.0)
    store.put(0, "worker:c", "{}", 0.0, expiration=100.0)
    page = (("worker:a", 200.0, {"service": "rag"}), ("worker:b", None, None), ("worker:c", 100.0, None))
    assert store.list(1, "worker:", 1.0, with_info=True) == (page, None, READ)  # cached until min(301, 100, 200)
    assert store.list(1, "worker:", 99.9) == (("worker:a", "worker:b", "worker:c"), None, 0.0)
    assert store.list(1, "worker:", 100.0) == (("worker:a", "worker:b"), None, READ)
    assert store.list(1, "worker:", 199.0, with_info=True) == (page[:2], None, 0.0)
    assert store.list(1, "worker:", 200.0, with_info=True) == ((page[1],), None, READ)
    assert store.stats.total("list") == 5


def test_list_with_info_before_any_expiration_or_metadata() -> None:
    """Without expiring keys or metadata the store keeps its plain pages; ``with_info`` then gives None for both."""
    store = kv()
    store.put(0, "a", 1, 0.0)
    assert store.list(0, "", 1.0) == (("a",), None, READ)
    assert store.list(0, "", 2.0, with_info=True) == ((("a", None, None),), None, 0.0)


def test_the_strong_store_has_no_expiration_or_metadata() -> None:
    """A Durable Object's storage has neither: put refuses them; reads give metadata None."""
    store = StrongKV(n_edges=1, read_latency=READ, write_latency=WRITE, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="no key expiration"):
        store.put(0, "k", "v", 0.0, expiration=100.0)
    store.put(0, "k", "v", 0.0)
    assert store.get_with_metadata(0, "k", 0.0) == (("v", None), READ)
    assert store.list(0, "", 0.0, with_info=True) == ((("k", None, None),), None, READ)


# -- outage ----------------------------------------------------------------------------------------
def test_outage_serves_hits_and_fails_misses_and_writes() -> None:
    """Central outage: cache hits are still served, misses give KV_UNAVAILABLE, writes fail UNAVAILABLE."""
    store = kv()
    store.put(0, "k", "v", 0.0)
    store.set_outage(True)
    assert store.get(0, "k", 1.0) == ("v", 0.0)
    assert store.get(1, "k", 1.0) == (KV_UNAVAILABLE, READ)
    assert store.put(0, "j", "w", 1.0) == (KVStatus.UNAVAILABLE, WRITE)
    assert store.delete(0, "k", 2.0)[0] is KVStatus.UNAVAILABLE
    assert store.list(0, "", 1.0) == (KV_UNAVAILABLE, None, READ)
    assert store.get_many(1, ["k", "j"], 1.0)[0] == (KV_UNAVAILABLE, KV_UNAVAILABLE)
    assert store.get_many(0, ["k", "j"], 1.0)[0] == ("v", KV_UNAVAILABLE)
    assert store.stats.unavailable == 7  # get, put, delete, list, 2 + 1 bulk misses
    store.set_outage(False)
    assert store.get(1, "k", 3.0) == ("v", READ)
    assert store.put(0, "j", "w", 3.0)[0] is KVStatus.OK
    assert KVStatus.UNAVAILABLE.http_status == 503


def test_unavailable_sentinel_is_a_pickleable_singleton() -> None:
    """KV_UNAVAILABLE survives pickling (process pools) as the same object, and is never None."""
    assert pickle.loads(pickle.dumps(KV_UNAVAILABLE)) is KV_UNAVAILABLE
    assert KV_UNAVAILABLE is not None and repr(KV_UNAVAILABLE) == "KV_UNAVAILABLE"


def test_central_snapshot_is_not_billed() -> None:
    """central_snapshot reads the central store for checkers without counting operations."""
    store = kv()
    store.put(0, "a", 1, 0.0)
    before = store.stats.counts
    assert store.central_snapshot(10.0) == {"a": 1}
    assert store.stats.counts == before


# -- strong store ----------------------------------------------------------------------------------
def strong() -> StrongKV:
    return StrongKV(n_edges=3, read_latency=READ, write_latency=WRITE, rng=np.random.default_rng(0))


def test_strong_cas_exactly_one_of_two_wins() -> None:
    """StrongKV is linearizable: two CAS with the same expected value, exactly one wins."""
    store = strong()
    assert store.cas(0, "leader", None, "w1", 0.0) == (True, "w1", WRITE)  # None expects "absent"
    r1 = store.cas(1, "leader", "w1", "w2", 1.0)
    r2 = store.cas(2, "leader", "w1", "w3", 1.0)
    assert [r1[0], r2[0]] == [True, False]
    assert r2[1] == "w2"
    assert store.get(2, "leader", 1.0) == ("w2", READ)
    assert store.cas(0, "leader", "w2", None, 2.0)[0]  # None as new deletes
    assert store.central_snapshot(2.0) == {}


def test_strong_ops_apply_at_issue_time_everywhere() -> None:
    """Every op applies at its issue time: a put at edge 0 is read at once at edge 2; no caches, no 429."""
    store = strong()
    assert store.put(0, "k", 1, 0.0) == (KVStatus.OK, WRITE)
    assert store.put(1, "k", 2, 0.1) == (KVStatus.OK, WRITE)
    assert store.get(2, "k", 0.1) == (2, READ)
    assert store.get_many(2, ["k", "x"], 0.1) == ((2, None), READ)
    store.put(0, "worker:b", 1, 0.2)
    store.put(0, "worker:a", 1, 0.2)
    assert store.list(1, "worker:", 0.2) == (("worker:a", "worker:b"), None, READ)
    store.delete(1, "worker:a", 0.3)
    assert store.list(1, "worker:", 0.3)[0] == ("worker:b",)
    store.set_edge_lag(1, 10.0)  # no effect on a single store
    assert store.get(1, "k", 0.3)[0] == 2


def test_strong_outage_fails_everything() -> None:
    """A strong store outage fails every operation (it has no caches to serve from)."""
    store = strong()
    store.put(0, "k", 1, 0.0)
    store.set_outage(True)
    assert store.get(0, "k", 1.0)[0] is KV_UNAVAILABLE
    assert store.put(0, "k", 2, 1.0)[0] is KVStatus.UNAVAILABLE
    assert store.cas(0, "k", 1, 2, 1.0)[:2] == (False, KV_UNAVAILABLE)
    assert store.list(0, "", 1.0)[0] is KV_UNAVAILABLE


def _count_up(value, arg):
    counts = dict(value or {})
    counts[arg] = counts.get(arg, 0) + 1
    return counts, counts[arg]


def test_strong_update_is_one_atomic_method_call_billed_as_a_read_and_a_write() -> None:
    """A Durable Object method: applied at issue time, in call order, from any edge; one write-latency draw."""
    store = strong()
    assert store.update(0, "n", _count_up, "a", 0.0) == (1, WRITE)
    assert store.update(2, "n", _count_up, "a", 0.0) == (2, WRITE)
    assert store.get(1, "n", 0.0) == ({"a": 2}, READ)
    assert store.update(1, "n", lambda value, arg: (None, "gone"), None, 0.1) == ("gone", WRITE)
    assert store.central_snapshot(0.1) == {}
    assert store.stats.total("read") == 4 and store.stats.total("write") == 2 and store.stats.total("delete") == 1
    store.set_outage(True)
    assert store.update(0, "n", _count_up, "a", 1.0)[0] is KV_UNAVAILABLE


def test_strong_store_meters_what_a_durable_object_bills() -> None:
    """One request per answered call; active time is the union of [issue, issue + latency]; rows read per key read
    or listed, rows written per put or delete; a call refused in an outage bills nothing."""
    store = strong()
    store.put(0, "worker:a", 1, 0.0)  # [0, 0.05]
    store.put(1, "worker:b", 2, 0.02)  # [0.02, 0.07]: overlaps, adds 0.02
    store.get_many(0, ["worker:a", "worker:b", "x"], 1.0)  # [1, 1.01]: 3 rows read
    store.list(2, "worker:", 2.0)  # 2 keys listed: 2 rows read
    store.cas(0, "worker:a", 1, None, 3.0)  # a read and a delete
    store.update(0, "n", _count_up, "a", 3.01)  # [3.01, 3.06] after [3, 3.05]: adds 0.01; a read and a write
    store.set_outage(True)
    store.get(0, "worker:b", 4.0)
    stats = store.stats
    assert (stats.requests, stats.listed_keys, stats.rows_read(), stats.rows_written()) == (6, 2, 7, 4)
    assert stats.active_seconds == pytest.approx(0.07 + 0.01 + 0.01 + 0.05 + 0.01)


# -- construction ----------------------------------------------------------------------------------
def test_build_kv_from_config() -> None:
    """build_kv reads the KVConfig attribute names (model, cache_ttl, same_key_write_limit, ...)."""
    cfg = SimpleNamespace(
        model="workers-kv", cache_ttl=45.0, read_latency=READ, write_latency=WRITE,
        same_key_write_limit="ignore", same_key_write_window=1.0, other_cache_chance=0.0,
        caches_per_location=2, list_page_size=500,
    )  # fmt: skip
    store = build_kv(cfg, 2, np.random.default_rng(0))
    assert isinstance(store, WorkersKV)
    assert (store.cache_ttl, store.same_key_write_limit, store.list_page_size) == (45.0, False, 500)
    strong_cfg = SimpleNamespace(**{**vars(cfg), "model": "strong"})
    assert isinstance(build_kv(strong_cfg, 2, np.random.default_rng(0)), StrongKV)
    with pytest.raises(ValueError, match="model"):
        build_kv(SimpleNamespace(model="redis"), 1, np.random.default_rng(0))
