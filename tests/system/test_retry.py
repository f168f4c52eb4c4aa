"""Retries with a budget: the proxy's retry on another provider, and Finagle's budget arithmetic."""

from __future__ import annotations

import pytest

from rmasim.scenario import Policy
from rmasim.system import Coordinator
from rmasim.system.coordinator import Isolate
from rmasim.system.coordinator.retry import BACKOFF_MAX, BACKOFF_MIN, RETRY_WINDOW, RetryBudget
from rmasim.system.ops import ConnectError, HttpCall, Request, Response, Sleep


def test_the_budget_allows_20_percent_of_requests_plus_10_per_second_over_the_window():
    budget = RetryBudget(0.2, 10.0)
    for i in range(500):
        budget.deposit(i * 0.01)  # 500 requests in 5 s
    granted = sum(budget.withdraw(5.0) for _ in range(1000))
    assert granted == int(0.2 * 500 + 10.0 * RETRY_WINDOW)  # 200
    assert not budget.withdraw(5.0)
    assert budget.withdraw(5.0 + RETRY_WINDOW + 0.01)  # the window moved on: requests and retries expired


def record(wid: str) -> dict:
    return {"id": wid, "tunnel_url": f"https://{wid}.tunnel", "status": "healthy", "last_heartbeat": 1000.0}


@pytest.mark.parametrize("failure", [ConnectError("refused"), Response(500, {"error": "internal"})])
def test_a_failed_forward_is_retried_once_on_another_provider_after_a_jittered_backoff(harness, failure):
    harness.kv = {"service:rag": ["a", "b"], "worker:a": record("a"), "worker:b": record("b")}
    harness.randoms = [0.0, 0.5]  # pick a first; backoff draw 0.5
    calls = []

    def answer(call: HttpCall):
        calls.append(call.url)
        return failure if call.url == "https://a.tunnel" else Response(200, {"served_by": "b"})

    harness.http = answer
    resp = harness.run(Coordinator(Policy(retries=1)).handle(Request("POST", "/api/service/rag/x"), Isolate()))
    assert resp == Response(200, {"served_by": "b"})
    assert calls == ["https://a.tunnel", "https://b.tunnel"]
    assert Sleep(BACKOFF_MIN + 0.5 * (BACKOFF_MAX - BACKOFF_MIN)) in harness.log


def test_without_retries_the_first_failure_is_the_answer(harness):
    harness.kv = {"service:rag": ["a", "b"], "worker:a": record("a"), "worker:b": record("b")}
    harness.randoms = [0.0]
    harness.http = lambda call: ConnectError("refused")
    resp = harness.run(Coordinator(Policy()).handle(Request("POST", "/api/service/rag/x"), Isolate()))
    assert resp.status == 502 and sum(isinstance(op, HttpCall) for op in harness.log) == 1


def test_a_service_timeout_applies_to_its_service_only(harness, minimal_yaml):
    """``coordinator: {service_timeouts: {rag: 1s}}``: rag forwards carry 1 s, upload the request_timeout."""
    from rmasim.scenario import load_scenario_text

    policy = load_scenario_text(minimal_yaml + "coordinator: {service_timeouts: {rag: 1s}}\n").policy
    assert policy.service_timeouts == {"rag": 1.0}
    harness.kv = {"service:rag": ["a"], "service:upload": ["a"], "worker:a": record("a")}
    harness.http = lambda call: Response(200, {})
    for service in ("rag", "upload"):
        harness.randoms = [0.0]
        harness.run(Coordinator(policy).handle(Request("POST", f"/api/service/{service}/x"), Isolate()))
    timeouts = [op.timeout for op in harness.log if isinstance(op, HttpCall)]
    assert timeouts == [1.0, policy.request_timeout]
