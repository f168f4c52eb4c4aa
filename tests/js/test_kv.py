"""Each Workers KV call of a Worker becomes one operation on the world's KV, and reads back what was written."""

from __future__ import annotations

from jsharness import Harness, request

from rmasim.system import ops
from rmasim.world import expiration_error


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
    """getWithMetadata: one read, ``{value, metadata, cacheStatus}``; metadata null when none was written."""
    harness.kv["a"] = [1]
    response = harness.run(probe.handle(request("/kv/meta")))
    assert harness.log == [ops.KvGet("a", with_metadata=True)]
    assert response.body == {"value": [1], "metadata": None, "cacheStatus": None}
    harness.metadata["a"] = {"service": "rag"}
    response = harness.run(probe.handle(request("/kv/meta")))
    assert response.body == {"value": [1], "metadata": {"service": "rag"}, "cacheStatus": None}


def test_bulk_get_with_metadata_is_one_operation(probe, harness: Harness):
    harness.kv.update({"a": {"q": 1}, "b": [2]})
    harness.metadata["b"] = {"v": 2}
    response = harness.run(probe.handle(request("/kv/meta-bulk")))
    assert harness.log == [ops.KvGetMany(("a", "b"), with_metadata=True)]
    assert response.body == {"a": {"value": {"q": 1}, "metadata": None}, "b": {"value": [2], "metadata": {"v": 2}}}


def test_put_stores_json_as_values_and_other_strings_as_text(probe, harness: Harness):
    response = harness.run(probe.handle(request("/kv/put")))
    assert harness.log == [
        ops.KvPut("rec", {"x": 1, "y": [1, 2]}),
        ops.KvPut("leader", "worker-1"),
        ops.KvPut("spaced", '{ "x": 1 }'),  # JSON, but not as JavaScript writes it: kept as the exact text
        ops.KvGet("spaced"),
    ]
    assert response.body == {"ok": '{ "x": 1 }'}


def test_put_passes_expiration_and_metadata_and_list_returns_them(probe, harness: Harness):
    """put(key, value, {expiration, expirationTtl, metadata}) is one KvPut with those options; list() gives each key
    ``{name, expiration?, metadata?}``, omitting what a key lacks, as Workers does; getWithMetadata reads it back."""
    harness.kv["plain"] = "p"
    response = harness.run(probe.handle(request("/kv/put-ttl")))
    assert harness.ops(ops.KvPut) == [
        ops.KvPut("t", "v", expiration_ttl=120, metadata={"service": "rag"}),
        ops.KvPut("u", "w", expiration=2000),
    ]
    assert harness.ops(ops.KvList) == [ops.KvList("", None, with_info=True)]
    assert response.body["listed"]["keys"] == [
        {"name": "plain"},
        {"name": "t", "expiration": 1120, "metadata": {"service": "rag"}},  # the harness's now (1000 s) + 120
        {"name": "u", "expiration": 2000},
    ]
    assert response.body["meta"] == {"value": "v", "metadata": {"service": "rag"}, "cacheStatus": None}


def test_an_expiration_less_than_60s_ahead_fails_as_workers_throws_it(probe, harness: Harness):
    """The store refuses it (a 400 with its reason); the Worker's promise rejects with Workers' message."""
    expiration = 1030  # Date.now() is the harness's 1000 s
    harness.fail["t"] = ops.KVFailure(400, "t", expiration_error(expiration, 1000.0))
    response = harness.run(probe.handle(request("/kv/put-soon")))
    assert harness.ops(ops.KvPut) == [ops.KvPut("t", "v", expiration=expiration)]
    assert response.status == 500
    assert harness.traces("worker_exception")[0]["message"] == (
        "KV PUT failed: 400 Invalid expiration of 1030. Expiration times must be at least 60 seconds in the future."
    )


def test_metadata_over_1024_bytes_is_refused_as_workers_does(probe, harness: Harness):
    harness.run(probe.handle(request("/kv/put-big-metadata")))
    assert harness.ops(ops.KvPut) == []
    assert (
        harness.traces("worker_exception")[0]["message"] == "KV PUT failed: 413 Metadata length exceeds limit of 1024"
    )


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
    assert harness.log == [
        ops.KvList("service:", None, with_info=True),
        ops.KvList("service:", "service:b", with_info=True),
    ]
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
