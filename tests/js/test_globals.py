"""What a Worker sees of time, entropy, timers and the platform: all of it from the simulator."""

from __future__ import annotations

from jsharness import Harness, request

from rmasim.system import ops
from rmasim.system.coordinator import Isolate
from rmasim.system.worker import WorkerCoordinator


def test_date_is_frozen_between_io_and_moves_with_the_edge_clock(probe: WorkerCoordinator):
    harness = Harness(now=1000.0, io_time=0.25)
    body = harness.run(probe.handle(request("/time"))).body
    assert (body["t0"], body["t1"], body["p0"]) == (1_000_000, 1_000_000, 1_000_000)
    assert body["t2"] == 1_000_250  # the read took 0.25 s of the edge clock
    assert body["iso"] == "1970-01-01T00:16:40.250Z"
    assert body["called"] == "string"


def test_math_random_and_crypto_come_from_the_edge_stream_in_order(probe: WorkerCoordinator):
    """Two edges fed the same stream draw the same values; within an edge, draws continue the stream."""
    edge_a, edge_b = Isolate(), Isolate()
    a = Harness().run(probe.handle(request("/random"), edge_a)).body
    b = Harness().run(probe.handle(request("/random"), edge_b)).body
    assert a["r"] == [0.001, 0.002]  # the harness's stream: 0.001, 0.002, ...
    assert a["uuid"][14] == "4" and len(a["uuid"]) == 36
    assert a == b
    again = Harness().run(probe.handle(request("/random"), edge_a)).body
    assert again["r"] == [0.007, 0.008]  # after the two floats and the UUID's four of the first request


def test_process_require_eval_and_the_cache_api_are_not_there(probe, harness: Harness):
    body = harness.run(probe.handle(request("/globals"))).body
    assert body == {
        "process": "undefined",
        "require": "undefined",
        "Buffer": "undefined",
        "setImmediate": "undefined",
        "WeakRef": "undefined",
        "fetch": "function",
        "Response": "function",
        "eval": "EvalError: Code generation from strings disallowed for this context",
        "Function": "EvalError: Code generation from strings disallowed for this context",
        "caches": "Error: rmasim: the Cache API (caches) is not modelled",
        "process_use": "ReferenceError: process is not defined",
    }


def test_fetch_is_one_http_call_with_a_real_response(probe, harness: Harness):
    response = harness.run(probe.handle(request("/fetch?timeout")))
    assert harness.log == [
        ops.HttpCall("https://gpu-0.tunnel.invalid", "POST", "/upload/process?x=1", {"a": 1}, 2.5,
                     (("content-type", "text/plain;charset=UTF-8"), ("x-trace", "abc"))),
    ]  # fmt: skip
    assert response.body == {"status": 200, "body": {"served_by": "gpu/0"}}


def test_fetch_failures_are_thrown_as_workers_throws_them(probe, harness: Harness):
    def dead(call: ops.HttpCall) -> ops.Response:
        raise ops.ConnectError(call.url)

    harness.http = dead
    assert harness.run(probe.handle(request("/fetch"))).body == {"error": "TypeError",
                                                                 "message": "Network connection lost."}  # fmt: skip

    def slow(call: ops.HttpCall) -> ops.Response:
        raise ops.RequestTimeout(call.url)

    harness.http = slow
    assert harness.run(probe.handle(request("/fetch?timeout"))).body["error"] == "TimeoutError"


def test_set_timeout_sleeps_in_simulated_time(probe, harness: Harness):
    body = harness.run(probe.handle(request("/sleep"))).body
    assert harness.log == [ops.Sleep(1.5)]
    assert body == {"slept": 1500}


def test_a_cleared_timer_costs_nothing(probe, harness: Harness):
    harness.run(probe.handle(request("/cleared-timer")))
    assert harness.log == []


def test_console_lines_become_traces(probe, harness: Harness):
    harness.run(probe.handle(request("/log")))
    assert harness.log == [
        ops.Trace("console", {"level": "log", "message": "hello { a: 1 }"}),
        ops.Trace("console", {"level": "warn", "message": "careful"}),
    ]


def test_responses_are_the_platforms_whichever_way_they_are_made(probe, harness: Harness):
    """``new Response``, ``Response.json``, ``redirect`` and ``error`` all give a ``Response``; a body reads once."""
    body = harness.run(probe.handle(request("/responses"))).body
    assert body == {"instances": [True] * 4, "statuses": [200, 200, 302, 0], "json": {"a": 1}, "reread": "TypeError"}


def test_a_handler_returning_a_response_whose_body_it_read_fails(probe, harness: Harness):
    """The host reads the body a handler returns; one the handler already read cannot be sent (a 500)."""
    response = harness.run(probe.handle(request("/used-body")))
    assert response.status == 500 and response.body["worker_exception"] is True
