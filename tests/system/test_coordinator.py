"""The baseline coordinator's handlers, driven by hand against an in-memory KV (whole KV states asserted)."""

from __future__ import annotations

import re

import pytest

from rmasim.scenario import Policy
from rmasim.system import Coordinator, registry_snapshot
from rmasim.system.coordinator import Isolate
from rmasim.system.coordinator.registry import random_worker_id
from rmasim.system.ops import (
    ConnectError,
    HttpCall,
    KVFailure,
    KvGet,
    KvGetMany,
    KvPut,
    Now,
    Random,
    Request,
    RequestTimeout,
    Response,
    Trace,
)

POLICY = Policy()


def coordinator() -> Coordinator:
    return Coordinator(POLICY)


def record(wid: str, status: str = "healthy", last: float = 1000.0, services=("upload",)) -> dict:
    return {
        "id": wid,
        "tunnel_url": f"https://{wid}.tunnel",
        "services": [{"name": s, "version": "1.0", "port": 1} for s in services],
        "status": status,
        "last_heartbeat": last,
    }


def test_random_worker_id_has_the_seed_format():
    """``worker-${Date.now()}-${Math.random().toString(36).substr(2, 9)}``"""
    wid = random_worker_id(1234.5678, 0.5)
    assert re.fullmatch(r"worker-1234567-[0-9a-z]{9}", wid)
    assert random_worker_id(1.0, 0.25) != random_worker_id(1.0, 0.75)


def test_register_writes_record_then_appends_to_every_list(harness):
    harness.randoms = [0.5]
    body = {
        "tunnel_url": "https://a.tunnel",
        "services": [{"name": "upload", "version": "1.0", "port": 8103}, {"name": "rag", "version": "2", "port": 8102}],
        "wants_heartbeat_leadership": True,
    }
    harness.kv = {"worker_ids": ["old"], "service:upload": ["old"]}
    resp = harness.run(coordinator().handle(Request("POST", "/api/worker/register", body)))
    wid = resp.body["worker_id"]
    assert resp == Response(200, {"worker_id": wid, "is_heartbeat_leader": True})
    assert harness.kv["worker_ids"] == ["old", wid]
    assert harness.kv["service:upload"] == ["old", wid]
    assert harness.kv["service:rag"] == [wid]
    assert harness.kv["heartbeat_leader"] == wid
    assert harness.kv[f"worker:{wid}"]["last_heartbeat"] == 1000.0
    assert harness.kv[f"worker:{wid}"]["is_heartbeat_leader"] is True
    # get-then-put leadership, and the id reported before anything is written
    assert harness.log[:5] == [
        Now(),
        Random(),
        Trace("worker_id_assigned", {"worker_id": wid, "tunnel_url": "https://a.tunnel"}),
        KvGet("heartbeat_leader"),
        KvPut("heartbeat_leader", wid),
    ]


def test_register_does_not_claim_leadership_when_a_leader_is_seen(harness):
    harness.kv = {"heartbeat_leader": "someone"}
    body = {"tunnel_url": "u", "services": [], "wants_heartbeat_leadership": True}
    resp = harness.run(coordinator().handle(Request("POST", "/api/worker/register", body)))
    assert resp.body["is_heartbeat_leader"] is False
    assert harness.kv["heartbeat_leader"] == "someone"


def test_unregister_leaves_the_service_indexes_dirty(harness):
    """Flaw #1: the record and the worker_ids entry go; service:{name} keeps the id."""
    harness.kv = {
        "worker:w1": record("w1"),
        "worker:w2": record("w2"),
        "worker_ids": ["w1", "w2"],
        "service:upload": ["w1", "w2"],
    }
    resp = harness.run(coordinator().handle(Request("POST", "/api/worker/unregister", {"worker_id": "w1"})))
    assert resp == Response(200, {"status": "ok"})
    assert harness.kv == {"worker:w2": record("w2"), "worker_ids": ["w2"], "service:upload": ["w1", "w2"]}


def test_heartbeat_updates_load_and_time_from_the_edge_clock(harness):
    harness.kv = {"worker:w1": record("w1", last=10.0)}
    harness.now = 1234.0
    body = {"worker_id": "w1", "status": "healthy", "current_load": 0.7, "available_memory": "3.0GB"}
    assert harness.run(coordinator().handle(Request("POST", "/api/worker/heartbeat", body))).status == 200
    stored = harness.kv["worker:w1"]
    assert (stored["last_heartbeat"], stored["current_load"], stored["available_memory"]) == (1234.0, 0.7, "3.0GB")


def test_heartbeat_for_an_unknown_worker_is_404(harness):
    resp = harness.run(coordinator().handle(Request("POST", "/api/worker/heartbeat", {"worker_id": "nope"})))
    assert resp.status == 404


def test_list_workers_marks_offline_in_the_view_only(harness):
    harness.kv = {
        "worker_ids": ["fresh", "stale"],
        "worker:fresh": record("fresh", last=950.0),
        "worker:stale": record("stale", last=909.0),
    }
    resp = harness.run(coordinator().handle(Request("GET", "/api/workers")))
    assert [(w["id"], w["status"]) for w in resp.body["workers"]] == [("fresh", "healthy"), ("stale", "offline")]
    assert harness.kv["worker:stale"]["status"] == "healthy"


def test_admin_services_lists_the_index_as_stored(harness):
    harness.kv = {"service:upload": ["w1", "dead"], "service:rag": ["w1"], "worker:w1": record("w1")}
    resp = harness.run(coordinator().handle(Request("GET", "/api/admin/services")))
    assert resp.body == {"services": {"rag": ["w1"], "upload": ["w1", "dead"]}}


def test_proxy_answers_503_when_the_index_is_empty(harness):
    resp = harness.run(coordinator().handle(Request("POST", "/api/service/upload/x")))
    assert resp.status == 503 and resp.body["reason"] == "no_provider"


def test_proxy_picks_uniformly_among_records_that_say_healthy(harness):
    """Missing records and stored non-healthy status are skipped; heartbeat age is not looked at."""
    harness.kv = {
        "service:upload": ["gone", "sick", "a", "b"],
        "worker:sick": record("sick", status="unhealthy"),
        "worker:a": record("a", last=-1e9),
        "worker:b": record("b"),
    }
    calls = []
    harness.http = lambda call: calls.append(call) or Response(200, {"ok": True})
    harness.randoms = [0.49, 0.51]
    c = coordinator()
    assert harness.run(c.handle(Request("POST", "/api/service/upload/v1/x", {"f": 1}))) == Response(200, {"ok": True})
    assert harness.run(c.handle(Request("POST", "/api/service/upload/v1/x"))).status == 200
    assert [call.url for call in calls] == ["https://a.tunnel", "https://b.tunnel"]
    assert calls[0] == HttpCall("https://a.tunnel", "POST", "/upload/v1/x", {"f": 1}, 50.0)
    assert KvGetMany(("worker:gone", "worker:sick", "worker:a", "worker:b")) in harness.log


def test_proxy_maps_forward_failures_to_502_and_504(harness):
    harness.kv = {"service:upload": ["a"], "worker:a": record("a")}
    harness.http = lambda call: ConnectError("refused")
    assert harness.run(coordinator().handle(Request("POST", "/api/service/upload/x"))).status == 502
    harness.http = lambda call: RequestTimeout("slow")
    assert harness.run(coordinator().handle(Request("POST", "/api/service/upload/x"))).status == 504


def test_a_kv_failure_fails_the_invocation_with_500(harness):
    harness.kv = {"worker:w1": record("w1")}
    harness.fail["worker:w1"] = KVFailure(429, "worker:w1")
    resp = harness.run(coordinator().handle(Request("POST", "/api/worker/heartbeat", {"worker_id": "w1"})))
    assert resp == Response(500, {"error": "KV 429 on 'worker:w1'", "kv_status": 429})


def test_unknown_route_is_404(harness):
    assert harness.run(coordinator().handle(Request("GET", "/nope"))).status == 404


def test_registry_snapshot_reads_the_layout():
    store = {
        "worker:a": record("a"),
        "worker_ids": ["a"],
        "service:upload": ["a", "dead"],
        "service:rag": [],
        "heartbeat_leader": "a",
        "unrelated": 1,
    }
    snap = registry_snapshot(store)
    assert snap.workers == {"a": record("a")}
    assert snap.index == {"upload": ("a", "dead")}
    assert snap.index_entries() == [("upload", "a"), ("upload", "dead")]
    assert (snap.worker_ids, snap.leader) == (("a",), "a")


SEED_FIXES = Policy(unregister_cleanup=True, stale_cleanup="on_route", identity="fingerprint")


def test_fix1_unregister_cleans_every_index_and_the_leader_key(harness):
    """Fix #1: the worker leaves every service index it is in (an emptied index is deleted) and the leader key."""
    harness.kv = {
        "worker:w1": record("w1", services=("upload", "rag")),
        "worker:w2": record("w2"),
        "worker_ids": ["w1", "w2"],
        "service:upload": ["w1", "w2"],
        "service:rag": ["w1"],
        "heartbeat_leader": "w1",
    }
    req = Request("POST", "/api/worker/unregister", {"worker_id": "w1"})
    harness.run(Coordinator(SEED_FIXES).handle(req))
    assert harness.kv == {"worker:w2": record("w2"), "worker_ids": ["w2"], "service:upload": ["w2"]}


def test_fix2_routing_drops_missing_and_stale_workers_from_the_index(harness):
    """Fix #2: ids without a record or with a heartbeat older than 90 s are written out of the index; any other
    record with a tunnel URL is a candidate, whatever its stored status."""
    harness.now = 1000.0
    harness.kv = {
        "service:upload": ["gone", "old", "sick", "fresh"],
        "worker:old": record("old", last=909.0),
        "worker:sick": record("sick", status="unhealthy", last=990.0),
        "worker:fresh": record("fresh", last=995.0),
    }
    calls = []
    harness.http = lambda call: calls.append(call.url) or Response(200, {})
    harness.randoms = [0.0]
    harness.run(Coordinator(SEED_FIXES).handle(Request("POST", "/api/service/upload/x")))
    assert harness.kv["service:upload"] == ["sick", "fresh"]
    assert calls == ["https://sick.tunnel"]


def test_fix2_deletes_an_index_left_empty_and_answers_503(harness):
    harness.kv = {"service:upload": ["gone"]}
    resp = harness.run(Coordinator(SEED_FIXES).handle(Request("POST", "/api/service/upload/x")))
    assert resp.status == 503 and "service:upload" not in harness.kv


def test_fix5_fingerprint_reregistration_replaces_instead_of_adding(harness):
    """Fix #5: the same machine registers under the same id; services it stopped offering leave their index."""
    c = Coordinator(SEED_FIXES)
    body = {"tunnel_url": "u", "fingerprint": "abc", "services": [{"name": "upload"}, {"name": "rag"}]}
    first = harness.run(c.handle(Request("POST", "/api/worker/register", body)))
    again = dict(body, services=[{"name": "upload"}])
    second = harness.run(c.handle(Request("POST", "/api/worker/register", again)))
    assert first.body["worker_id"] == second.body["worker_id"] == "worker-abc"
    assert harness.kv["worker_ids"] == ["worker-abc"]
    assert harness.kv["service:upload"] == ["worker-abc"]
    assert "service:rag" not in harness.kv
    assert [s["name"] for s in harness.kv["worker:worker-abc"]["services"]] == ["upload"]


def test_sweeper_purges_missing_and_stale_workers_everywhere(harness):
    """stale_cleanup: sweeper: workers with no record or a heartbeat older than purge_after leave every index
    (an emptied index is deleted), lose their record and their worker_ids entry; fresh workers stay."""
    harness.now = 1000.0
    harness.kv = {
        "worker_ids": ["fresh", "old", "gone"],
        "service:upload": ["fresh", "old", "gone"],
        "service:rag": ["old"],
        "worker:fresh": record("fresh", last=950.0),
        "worker:old": record("old", last=909.0),
    }
    policy = Policy(stale_cleanup="sweeper", purge_after="90s")
    resp = harness.run(Coordinator(policy).scheduled())
    assert resp == Response(200, {"purged": ["gone", "old"]})
    assert harness.kv == {
        "worker_ids": ["fresh"],
        "service:upload": ["fresh"],
        "worker:fresh": record("fresh", last=950.0),
    }


def test_scheduled_does_nothing_without_the_sweeper(harness):
    harness.kv = {"service:upload": ["gone"]}
    assert harness.run(Coordinator(POLICY).scheduled()) == Response(200, {"purged": []})
    assert harness.kv == {"service:upload": ["gone"]}


def _fleet(harness, fresh: int, stale: int, missing: int = 0) -> None:
    harness.now = 1000.0
    ids = [f"f{i:02d}" for i in range(fresh)] + [f"s{i:02d}" for i in range(stale)]
    harness.kv = {"worker_ids": list(ids), "service:upload": ids + [f"m{i:02d}" for i in range(missing)]}
    for wid in ids:
        harness.kv[f"worker:{wid}"] = record(wid, last=990.0 if wid.startswith("f") else 800.0)


BRAKED = Policy(stale_cleanup="sweeper", purge_brake=True)


def test_purge_brake_holds_when_renewals_fall_below_85_percent(harness):
    """Self-preservation: 8 of 10 workers renewed in the last minute (80% < 85%): nothing is purged."""
    _fleet(harness, fresh=8, stale=2)
    assert harness.run(Coordinator(BRAKED).scheduled()) == Response(200, {"purged": []})
    assert len(harness.kv["service:upload"]) == 10


def test_purge_brake_purges_when_renewals_are_normal(harness):
    """17 of 20 renewed (85%): the 3 stale workers go (limit 20 - int(20 x 0.85) = 3)."""
    _fleet(harness, fresh=17, stale=3)
    resp = harness.run(Coordinator(BRAKED).scheduled())
    assert resp.body["purged"] == ["s00", "s01", "s02"]


def test_purge_brake_never_holds_for_a_single_silent_worker(harness):
    """2 of 3 renewed (67% < 85%), but one silent worker is no mass expiry: it is purged."""
    _fleet(harness, fresh=2, stale=1)
    assert harness.run(Coordinator(BRAKED).scheduled()).body["purged"] == ["s00"]


def test_purge_brake_in_a_small_registry_holds_only_when_nobody_renewed(harness):
    """Below 10 workers the share of renewals cannot tell a partition from deaths: 1 of 3 renewed (two silent, 33%)
    purges both at once (no 15% cap, which would be 1 a sweep); 0 of 3 renewed (the coordinator hears nobody)
    holds. In a registry of 10, 8 renewed (80% < 85%) holds, as Eureka does."""
    _fleet(harness, fresh=1, stale=2)
    assert harness.run(Coordinator(BRAKED).scheduled()).body["purged"] == ["s00", "s01"]
    _fleet(harness, fresh=0, stale=3)
    assert harness.run(Coordinator(BRAKED).scheduled()).body["purged"] == []
    _fleet(harness, fresh=8, stale=2)
    assert harness.run(Coordinator(BRAKED).scheduled()).body["purged"] == []


def test_purge_brake_caps_a_sweep_at_15_percent_of_the_registry(harness):
    """20 renewed workers and 5 index entries without a record: at most 25 - int(25 x 0.85) = 4 go this sweep."""
    _fleet(harness, fresh=20, stale=0, missing=5)
    resp = harness.run(Coordinator(BRAKED).scheduled())
    assert resp.body["purged"] == ["m00", "m01", "m02", "m03"]
    assert harness.kv["service:upload"][-1:] == ["m04"]


def test_index_reads_respect_the_100_key_bulk_limit(harness):
    """Workers KV's bulk get takes at most 100 keys: 150 service indexes are read in two bulk gets."""
    harness.kv = {f"service:s{i:03d}": [f"w{i}"] for i in range(150)}
    resp = harness.run(coordinator().handle(Request("GET", "/api/admin/services")))
    assert len(resp.body["services"]) == 150 and resp.body["services"]["s149"] == ["w149"]
    assert [len(op.keys) for op in harness.log if isinstance(op, KvGetMany)] == [100, 50]


def test_the_proxy_reads_a_large_index_in_bulk_gets_of_100_and_routes_to_any_provider(harness):
    """250 providers of one service: the records are read in bulk gets of 100, 100 and 50 keys, in index order,
    and a draw just below 1 picks the last provider (so every record was read and kept)."""
    ids = [f"w{i:03d}" for i in range(250)]
    harness.kv = {"service:upload": ids, **{f"worker:{i}": record(i) for i in ids}}
    calls = []
    harness.http = lambda call: calls.append(call) or Response(200, {"ok": True})
    harness.randoms = [0.9999]
    assert harness.run(coordinator().handle(Request("POST", "/api/service/upload/x"))).status == 200
    reads = [op.keys for op in harness.log if isinstance(op, KvGetMany)]
    assert [len(keys) for keys in reads] == [100, 100, 50]
    assert [k for keys in reads for k in keys] == [f"worker:{i}" for i in ids]
    assert [call.url for call in calls] == ["https://w249.tunnel"]


def test_a_bulk_get_validates_its_own_size():
    """The operation refuses what Workers KV refuses (more than 100 keys), at construction, like h11's events."""
    KvGetMany(tuple(f"k{i}" for i in range(100)))
    with pytest.raises(ValueError, match="1 to 100 keys, got 101"):
        KvGetMany(tuple(f"k{i}" for i in range(101)))
    with pytest.raises(ValueError, match="got 0"):
        KvGetMany(())


OBSERVING = Policy(stale_cleanup="sweeper", stale_by="observation")


def _sweep(harness, coordinator: Coordinator, isolate: Isolate) -> list[str]:
    return harness.run(coordinator.scheduled(isolate)).body["purged"]


def test_observed_staleness_ignores_the_stamps_and_counts_the_sweepers_own_time(harness):
    """``stale_by: observation``: 'alive' heartbeats with stamps an hour in the past (its edge's clock is behind),
    'dead' stopped with a stamp an hour in the future. Only the unchanged record goes, once the sweeper has seen
    it unchanged for more than purge_after (90 s) by its own clock: at the third sweep, 120 s after the first."""
    harness.kv = {
        "worker_ids": ["alive", "dead"],
        "service:upload": ["alive", "dead"],
        "worker:alive": record("alive", last=1000.0 - 3600),
        "worker:dead": record("dead", last=1000.0 + 3600),
    }
    coordinator, isolate = Coordinator(OBSERVING), Isolate()
    purged = []
    for sweep in range(3):
        purged.append(_sweep(harness, coordinator, isolate))
        harness.now += 60.0
        harness.kv["worker:alive"] = record("alive", last=1000.0 - 3600 + 60.0 * (sweep + 1))
    assert purged == [[], [], ["dead"]]
    assert harness.kv["service:upload"] == ["alive"]


def test_timestamp_staleness_is_fooled_by_the_same_stamps(harness):
    """The same records under ``stale_by: timestamp``: the live worker is purged at once, the dead one never."""
    harness.kv = {
        "worker_ids": ["alive", "dead"],
        "service:upload": ["alive", "dead"],
        "worker:alive": record("alive", last=1000.0 - 3600),
        "worker:dead": record("dead", last=1000.0 + 3600),
    }
    assert _sweep(harness, Coordinator(Policy(stale_cleanup="sweeper")), Isolate()) == ["alive"]


def test_fix3_stores_service_health_and_routing_skips_an_unhealthy_provider(harness):
    """The heartbeat's report is stored per service; with ``service_health`` the proxy never picks a provider whose
    service is unhealthy, and a provider that never reported is kept."""
    policy = Policy(service_health=True)
    harness.kv = {
        "service:rag": ["a", "b", "c"],
        "worker:a": record("a", services=("rag",)),
        "worker:b": record("b", services=("rag",)),
        "worker:c": record("c", services=("rag",)),
    }
    report = [{"name": "rag", "status": "unhealthy"}]
    body = {"worker_id": "a", "service_health": report}
    assert harness.run(Coordinator(policy).handle(Request("POST", "/api/worker/heartbeat", body))).ok
    assert harness.kv["worker:a"]["service_health"] == {"rag": "unhealthy"}
    targets = []
    harness.http = lambda call: targets.append(call.url) or Response(200, {})
    isolate = Isolate()
    for r in (0.0, 0.34, 0.67, 0.99):
        harness.randoms = [r]
        harness.run(Coordinator(policy).handle(Request("POST", "/api/service/rag/x"), isolate))
    assert "https://a.tunnel" not in targets and set(targets) == {"https://b.tunnel", "https://c.tunnel"}
    harness.randoms = [0.0]
    harness.run(Coordinator(Policy()).handle(Request("POST", "/api/service/rag/x"), Isolate()))
    assert targets[-1] == "https://a.tunnel"  # without the knob the report is ignored (the seed)
