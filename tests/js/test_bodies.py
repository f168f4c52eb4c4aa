"""String bodies: the Response class a Worker sees keeps a string body as the string until a stream is needed
(rmasim/js/host.mjs); each check compares it, inside the context, with the platform's own class."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest
from jsharness import Harness, hosted, request

from rmasim.system import ops
from rmasim.system.worker import WorkerCoordinator

BODIES = Path(__file__).parent / "workers" / "bodies.js"


@pytest.fixture(scope="module")
def bodies() -> Generator[WorkerCoordinator, None, None]:
    yield from hosted(BODIES)


def compare(bodies: WorkerCoordinator, route: str) -> dict:
    body = Harness().run(bodies.handle(request(route))).body
    assert set(body) == {"ours", "platform"}
    return body


def test_reads_give_the_platforms_values_errors_realms_and_turns(bodies):
    """text(), json(), arrayBuffer() and bytes() of strings with a BOM, a lone surrogate, bad JSON, nothing:
    the same values (BOM dropped by text and json, kept by the bytes), errors and realms, after the same number
    of microtask turns (read at once or a turn later), and the same spent state and second-read error."""
    body = compare(bodies, "/reads")
    for ours, platform in zip(body["ours"], body["platform"], strict=True):
        assert ours == platform
    by_text = {(case["text"], case["method"]): case for case in body["ours"]}
    assert by_text[('\ufeff{"b":2}', "text")]["value"]["ok"] == {"string": '{"b":2}'}
    assert by_text[("a\ud800b", "text")]["value"]["ok"] == {"string": "a\ufffdb"}
    assert by_text[("{", "json")]["value"]["error"]["name"] == "SyntaxError"
    assert by_text[("plain text", "text")]["again"]["error"]["message"].startswith("Body is unusable")


def test_construction_checks_and_defaults_are_the_platforms(bodies):
    """Statuses 204/304 refuse a body, 99 is out of range, a bad statusText or header name throws; a string body
    gets text/plain unless a content type is given."""
    body = compare(bodies, "/construct")
    assert body["ours"] == body["platform"]
    made = body["ours"]  # in the order of the route's inits: none, null, {}, 204, 304, 99, ...
    assert made[3]["error"]["message"] == "Response constructor: Invalid response status code 204"
    assert made[5]["error"]["name"] == "RangeError"
    assert made[0]["made"]["contentType"] == made[1]["made"]["contentType"] == "text/plain;charset=UTF-8"
    assert made[8]["made"]["contentType"] == "application/json"


def test_streams_clones_blobs_and_forms_are_the_platforms(bodies):
    body = compare(bodies, "/streams")
    assert body["ours"] == body["platform"]
    assert body["ours"]["clone"]["texts"][1]["ok"] == {"string": "cloned"}
    assert body["ours"]["clone"]["instance"] is body["ours"]["jsonClone"]["instance"] is True  # a Response


def test_the_host_sends_a_passed_on_stream_as_reading_it_gives(bodies):
    """``new Response(answer.body)`` of a fetched string: the host sends the text (a BOM dropped, as text()
    drops it); one whose stream the handler read cannot be sent (a 500)."""
    harness = Harness()
    harness.http = lambda call: ops.Response(201, "\ufeffserved")
    assert harness.run(bodies.handle(request("/proxy"))) == ops.Response(201, "served")
    assert harness.kv["seen"] == {"answer": True, "response": True, "locked": True}  # spent, as after a read
    response = Harness().run(bodies.handle(request("/proxy-read")))
    assert response.status == 500 and response.body["worker_exception"] is True
