"""The Request a fetch handler gets: the platform's, made when first needed (rmasim/js/host.mjs); each check
compares it, inside the context, with the platform's own Request made from the same inputs."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest
from jsharness import Harness, hosted

from rmasim.system import ops
from rmasim.system.worker import WorkerCoordinator

REQUESTS = Path(__file__).parent / "workers" / "requests.js"


@pytest.fixture(scope="module")
def worker() -> Generator[WorkerCoordinator, None, None]:
    yield from hosted(REQUESTS)


def run(worker: WorkerCoordinator, request: ops.Request, harness: Harness | None = None) -> ops.Response:
    return (harness or Harness()).run(worker.handle(request))


def test_the_early_answers_are_the_platforms(worker):
    """url (serialised as the platform serialises it: spaces and non-ASCII escaped), method, body and bodyUsed
    read first are what the platform's Request of the same inputs answers."""
    for method, path in [("GET", "/early"), ("POST", "/early"), ("GET", "/early with space/é?q=ä b#frag")]:
        body = run(worker, ops.Request(method, path)).body
        assert body["early"] == body["platform"], (method, path)
    assert body["early"]["url"] == "https://coordinator.invalid/early%20with%20space/%C3%A9?q=%C3%A4%20b#frag"


def test_every_member_is_the_platforms(worker):
    headers = (("X-Signature", "abc"), (ops.CONNECTING_IP, "2001:db8::1"))
    body = run(worker, ops.Request("DELETE", "/members", None, headers)).body
    assert body["ours"] == body["platform"]
    assert body["ours"]["headers"] == [["cf-connecting-ip", "2001:db8::1"], ["x-signature", "abc"]]
    classes = body["classes"]
    assert classes["instance"] and classes["constructor"] and classes["prototype"]
    assert classes["length"] == [1, 1]
    assert all(name == m and ours == theirs for (name, ours, theirs), m in
               zip(classes["methods"], ["text", "json", "clone", "arrayBuffer"], strict=True))  # fmt: skip
    assert classes["clone"] == [True, True, True]
    assert classes["copy"] == [True, "https://coordinator.invalid/members", "DELETE", "1"]
    assert classes["noArgument"]["name"] == "TypeError"


def test_a_body_reads_once_as_the_platforms(worker):
    body = run(worker, ops.Request("POST", "/body", {"a": 1})).body
    spent = {"name": "TypeError", "message": "Body is unusable: Body has already been read"}
    assert body == {"used": False, "text": '{"a":1}', "after": True, "stream": True, "again": spent}


def test_fetch_of_the_request_itself_and_methods_made_at_once(worker):
    """fetch(request) sends what the platform's Request holds; a method the early answers do not cover (PATCH)
    is made at once and reads back as the platform has it."""
    harness = Harness()
    harness.http = lambda call: ops.Response(200, {"seen": [call.method, call.path]})
    response = run(worker, ops.Request("PUT", "/forward", {"x": 1}, (("x-a", "b"),)), harness)
    assert response == ops.Response(200, {"seen": ["PUT", "/forward"]})
    (call,) = harness.ops(ops.HttpCall)
    assert (call.url, call.body, dict(call.headers)) == ("https://coordinator.invalid", {"x": 1},
                                                         {"content-type": "application/json", "x-a": "b"})  # fmt: skip
    assert run(worker, ops.Request("PATCH", "/other")).body == {"method": "PATCH",
                                                                "url": "https://coordinator.invalid/other"}  # fmt: skip
