"""Each Workers KV call of a Worker becomes one operation on the world's KV, and reads back what was written."""

from __future__ import annotations

from jsharness import Harness, request

from rmasim.system import ops


def test_get_text_is_one_read(probe, harness: Harness):
    harness.kv["a"] = {"q": [1, 2]}
    response = harness.run(probe.handle(request("/kv/get-text")))
    assert harness.log == [ops.KvGet("a")]
    assert response == ops.Response(200, {"value": '{"q":[1,2]}'})


def test_get_json_and_options(probe, harness: Harness):
    harness.kv["a"] = {"q": 1}
    response = harness.run(probe.handle(request("/kv/get-json")))
    assert harness.log == [ops.KvGet("a"), ops.KvGet("a"), ops.KvGet("nothing")]
    assert response.body == {"json": {"q": 1}, "typed": {"q": 1}, "missing": None}


def test_cache_ttl_below_30s_is_refused(probe, harness: Harness):
    response = harness.run(probe.handle(request("/kv/bad-cache-ttl")))
    assert harness.log[0] == ops.Trace("worker_exception", harness.log[0].fields)
    assert "Cache TTL must be at least 30" in harness.log[0].fields["message"]
    assert response.status == 500


def test_bulk_get_is_one_operation(probe, harness: Harness):
    harness.kv.update({"a": {"q": 1}, "leader": "worker-1"})
    response = harness.run(probe.handle(request("/kv/get-bulk-text")))
    assert harness.log == [ops.KvGetMany(("a", "leader"))]
    assert response.body == {"a": '{"q":1}', "leader": "worker-1"}


def test_bulk_get_json_of_a_text_value_throws(probe, harness: Harness):
    harness.kv.update({"a": {"q": 1}, "leader": "worker-1"})
    response = harness.run(probe.handle(request("/kv/get-bulk")))
    assert harness.ops(ops.KvGetMany) == [ops.KvGetMany(("a", "nothing", "leader"))]
    assert response.status == 500  # "worker-1" is not JSON: JSON.parse throws, as in Workers


def test_get_with_metadata(probe, harness: Harness):
    harness.kv["a"] = [1]
    response = harness.run(probe.handle(request("/kv/meta")))
    assert harness.log == [ops.KvGet("a")]
    assert response.body == {"value": [1], "metadata": None, "cacheStatus": None}


def test_put_stores_json_as_values_and_other_strings_as_text(probe, harness: Harness):
    response = harness.run(probe.handle(request("/kv/put")))
    assert harness.log == [
        ops.KvPut("rec", {"x": 1, "y": [1, 2]}),
        ops.KvPut("leader", "worker-1"),
        ops.KvPut("spaced", '{ "x": 1 }'),  # JSON, but not as JavaScript writes it: kept as the exact text
        ops.KvGet("spaced"),
    ]
    assert response.body == {"ok": '{ "x": 1 }'}


def test_put_with_expiration_is_not_modelled_yet(probe, harness: Harness):
    response = harness.run(probe.handle(request("/kv/put-ttl")))
    assert harness.ops(ops.KvPut) == []
    assert response.status == 500
    assert "not modelled yet" in harness.traces("worker_exception")[0]["message"]


def test_expiration_ttl_below_60s_is_refused_as_workers_does(probe, harness: Harness):
    harness.run(probe.handle(request("/kv/put-short-ttl")))
    assert "Expiration TTL must be at least 60" in harness.traces("worker_exception")[0]["message"]


def test_delete(probe, harness: Harness):
    harness.kv["a"] = 1
    response = harness.run(probe.handle(request("/kv/delete")))
    assert (harness.log, harness.kv, response.status) == ([ops.KvDelete("a")], {}, 200)


def test_list_with_prefix_limit_and_cursor(probe, harness: Harness):
    harness.kv.update({"service:a": [], "service:b": [], "service:c": [], "worker:x": {}})
    response = harness.run(probe.handle(request("/kv/list")))
    assert harness.log == [ops.KvList("service:", None), ops.KvList("service:", "service:b")]
    assert response.body == {
        "first": {"keys": [{"name": "service:a"}, {"name": "service:b"}], "list_complete": False,
                  "cacheStatus": None, "cursor": "service:b"},
        "rest": {"keys": [{"name": "service:c"}], "list_complete": True, "cacheStatus": None},
    }  # fmt: skip


def test_a_kv_failure_is_thrown_as_workers_throws_it(probe, harness: Harness):
    harness.fail["a"] = ops.KVFailure(429, "a")
    response = harness.run(probe.handle(request("/kv/delete")))
    assert response.status == 500
    assert harness.traces("worker_exception")[0]["message"] == "KV DELETE failed: 429 Too Many Requests"
