"""Registry layouts: where register, unregister, the proxy and the sweeper read and write, driven by hand."""

from __future__ import annotations

import pytest

from rmasim.scenario import Policy
from rmasim.system import Coordinator, registry_snapshot
from rmasim.system.coordinator import Isolate
from rmasim.system.coordinator.layout import PROVIDER_LIST_TTL
from rmasim.system.ops import STRONG, KvCas, KvGet, KvList, KvPut, Request, Response

SERVICES = [{"name": "upload", "version": "1", "port": 8103}, {"name": "rag", "version": "1", "port": 8102}]


def register(harness, policy: Policy, fingerprint: str = "fp1", services=SERVICES) -> str:
    body = {"tunnel_url": f"https://{fingerprint}.tunnel", "services": services, "fingerprint": fingerprint}
    resp = harness.run(Coordinator(policy).handle(Request("POST", "/api/worker/register", body)))
    return resp.body["worker_id"]


PER_KEY = Policy(registry_layout="per_worker_keys", identity="fingerprint", unregister_cleanup=True)
STRONG_LISTS = Policy(registry_layout="strong", identity="fingerprint", unregister_cleanup=True)


def test_per_worker_keys_write_one_key_per_provider_and_no_shared_list(harness):
    wid = register(harness, PER_KEY)
    assert sorted(harness.kv) == [f"provider:rag:{wid}", f"provider:upload:{wid}", f"worker:{wid}"]
    assert not any(isinstance(op, KvGet) and op.key in ("worker_ids", "service:upload") for op in harness.log)
    snapshot = registry_snapshot(harness.kv)
    assert snapshot.index == {"rag": (wid,), "upload": (wid,)} and snapshot.worker_ids == (wid,)


def test_per_worker_keys_unregister_and_reregistration_drop_exactly_their_keys(harness):
    wid = register(harness, PER_KEY)
    other = register(harness, PER_KEY, "fp2")
    register(harness, PER_KEY, services=SERVICES[:1])  # the same machine now offers upload only
    assert f"provider:rag:{wid}" not in harness.kv and f"provider:upload:{wid}" in harness.kv
    harness.run(Coordinator(PER_KEY).handle(Request("POST", "/api/worker/unregister", {"worker_id": wid})))
    assert sorted(harness.kv) == [f"provider:rag:{other}", f"provider:upload:{other}", f"worker:{other}"]


def test_strong_layout_updates_lists_by_compare_and_set_in_the_durable_object(harness):
    wid = register(harness, STRONG_LISTS)
    epoch = harness.kv[f"worker:{wid}"]["epoch"]
    assert harness.kv["service:upload"] == {wid: epoch} and harness.kv["worker_ids"] == {wid: epoch}
    writes = [op for op in harness.log if isinstance(op, (KvPut, KvCas))]
    assert all(op.store == STRONG for op in writes)
    assert [op.key for op in writes if isinstance(op, KvCas)] == ["worker_ids", "service:upload", "service:rag"]


def test_a_compare_and_set_that_loses_a_race_is_retried_on_the_new_value(harness):
    """Another registration lands between this one's read and its compare-and-set: both ids survive."""
    harness.kv["service:upload"] = {"old": "e0"}
    gen = Coordinator(STRONG_LISTS).handle(
        Request("POST", "/api/worker/register", {"tunnel_url": "u", "services": SERVICES[:1], "fingerprint": "x"})
    )
    raced = []

    def race(op):
        if isinstance(op, KvCas) and op.key == "service:upload" and not raced:
            harness.kv["service:upload"] = {"old": "e0", "racer": "e1"}  # the other edge's write
            raced.append(op)

    harness.run(gen, race)
    assert list(harness.kv["service:upload"]) == ["old", "racer", "worker-x"]


def test_shared_lists_lose_that_race(harness):
    """The seed's read-modify-write: the racer's id written between the read and the put is overwritten."""
    harness.kv["service:upload"] = ["old"]
    gen = Coordinator(Policy()).handle(
        Request("POST", "/api/worker/register", {"tunnel_url": "u", "services": SERVICES[:1]})
    )

    def race(op):
        if isinstance(op, KvPut) and op.key == "service:upload":
            harness.kv["service:upload"] = ["old", "racer"]

    harness.run(gen, race)
    assert "racer" not in harness.kv["service:upload"]


@pytest.mark.parametrize("policy", [PER_KEY, STRONG_LISTS], ids=["per_worker_keys", "strong"])
def test_the_proxy_reuses_its_route_table_for_the_ttl(harness, policy):
    register(harness, policy)
    harness.http = lambda call: Response(200, {"ok": True})
    isolate = Isolate()
    coordinator = Coordinator(policy)

    def route() -> int:
        start = len(harness.log)
        assert harness.run(coordinator.handle(Request("POST", "/api/service/upload/x"), isolate)).status == 200
        return sum(
            1 for op in harness.log[start:] if isinstance(op, (KvList, KvGet)) or type(op).__name__ == "KvGetMany"
        )

    first = route()
    harness.now += PROVIDER_LIST_TTL - 1
    assert (first, route()) == (2, 0)  # index + records, then nothing within the TTL
    harness.now += 1
    assert route() == 2
    coordinator = Coordinator(policy.model_copy(update={"route_cache": 0.0}))  # no cache: read at every request
    assert (route(), route()) == (2, 2)


def test_strong_sweeper_keeps_a_worker_whose_record_changed_since_it_was_judged(harness):
    """The record is read stale, then the worker heartbeats before the delete: the compare-and-set fails and the
    worker keeps its record and index entries; a worker still stale is purged."""
    policy = Policy(registry_layout="strong", stale_cleanup="sweeper")
    harness.kv = {
        "worker_ids": {"back": "e1", "dead": "e2"},
        "service:upload": {"back": "e1", "dead": "e2"},
        "worker:back": {"id": "back", "last_heartbeat": 800.0, "epoch": "e1"},
        "worker:dead": {"id": "dead", "last_heartbeat": 800.0, "epoch": "e2"},
    }

    def heartbeat_lands(op):
        if isinstance(op, KvCas) and op.key == "worker:back":
            harness.kv["worker:back"] = {"id": "back", "last_heartbeat": 999.0, "epoch": "e1"}

    response = harness.run(Coordinator(policy).scheduled(), heartbeat_lands)
    assert response.body == {"purged": ["dead"]}
    assert harness.kv["service:upload"] == {"back": "e1"} and harness.kv["worker_ids"] == {"back": "e1"}
    assert "worker:dead" not in harness.kv and harness.kv["worker:back"]["last_heartbeat"] == 999.0


SWEEPING = Policy(registry_layout="strong", stale_cleanup="sweeper", identity="fingerprint", unregister_cleanup=True)


def test_a_purge_racing_the_same_ids_return_keeps_the_new_registration(harness):
    """The sweeper deleted the stale record and is about to take the id out of the indexes when the machine
    registers again under the same id: the new registration's epoch fences the removal (found by the stateful
    test: the worker used to stay out of the index for good)."""
    wid = register(harness, SWEEPING)
    old = dict(harness.kv[f"worker:{wid}"])
    harness.now += 200.0  # silent for longer than purge_after

    def return_now(op):
        removing = isinstance(op, KvCas) and op.key == "service:upload" and (op.new is None or wid not in op.new)
        if removing and harness.kv.get(f"worker:{wid}") is None:
            register(harness, SWEEPING)  # lands between the record delete and the index update

    response = harness.run(Coordinator(SWEEPING).scheduled(Isolate()), return_now)
    assert response.body["purged"] == [wid]
    new = harness.kv[f"worker:{wid}"]
    assert new["epoch"] != old["epoch"]
    assert harness.kv["service:upload"] == {wid: new["epoch"]} and harness.kv["service:rag"] == {wid: new["epoch"]}


def test_a_late_unregister_of_an_earlier_registration_changes_nothing(harness):
    """The stopped incarnation's unregister lands after the next incarnation registered the same id."""
    wid = register(harness, SWEEPING)
    stale_epoch = harness.kv[f"worker:{wid}"]["epoch"]
    harness.now += 1.0
    register(harness, SWEEPING)
    before = {k: v for k, v in harness.kv.items()}
    body = {"worker_id": wid, "epoch": stale_epoch}
    resp = harness.run(Coordinator(SWEEPING).handle(Request("POST", "/api/worker/unregister", body)))
    assert resp.body == {"status": "ok", "unregistered": False} and harness.kv == before
    body["epoch"] = harness.kv[f"worker:{wid}"]["epoch"]
    resp = harness.run(Coordinator(SWEEPING).handle(Request("POST", "/api/worker/unregister", body)))
    assert resp.body["unregistered"] is True and harness.kv == {}


def test_a_heartbeat_does_not_bring_back_a_record_purged_under_it(harness):
    """The heartbeat read the record, the sweeper deleted it: the heartbeat's compare-and-set fails and the agent
    is told 404 (so it registers again) instead of resurrecting a record without index entries."""
    wid = register(harness, SWEEPING)

    def purge(op):
        if isinstance(op, KvCas) and op.key == f"worker:{wid}":
            harness.kv.pop(f"worker:{wid}")

    resp = harness.run(
        Coordinator(SWEEPING).handle(Request("POST", "/api/worker/heartbeat", {"worker_id": wid})), purge
    )
    assert resp.status == 404 and f"worker:{wid}" not in harness.kv
