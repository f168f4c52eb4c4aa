"""When a host polls its stdin: only with a core to spare for it (not in a pool's worker, not on a busy machine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmasim.system.worker import NodeHost, load_worker_config
from rmasim.system.worker import host as host_module

PROBE = Path(__file__).parent / "workers" / "probe.js"


@pytest.mark.parametrize(
    ("cores", "others", "polls"),
    [(2, 0, True), (2, 1, False), (4, 2, True), (4, 3, False), (2, None, True), (1, 0, False)],
)
def test_a_host_polls_only_with_two_cores_free(monkeypatch, cores, others, polls):
    """The host and this process poll each other: they need a core each besides the work already running."""
    monkeypatch.setattr(host_module.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(host_module, "others_running", lambda: others)
    assert host_module.host_polls() is polls


def test_others_running_reads_the_machine():
    others = host_module.others_running(samples=2, gap=0.0)
    assert others is None or others >= 0


@pytest.mark.parametrize("poll", [True, False])
def test_a_host_answers_whether_it_polls_or_blocks(poll):
    host = NodeHost(load_worker_config(PROBE), poll=poll)
    try:
        assert host.polls is poll
        request = {"method": "GET", "url": "https://coordinator.invalid/counter", "headers": [], "body": None}
        reply = host.exchange({"t": "fetch", "inv": 1, "iso": 0, "now": 1.0, "rand": [], "req": request})
        assert (reply["t"], reply["status"]) == ("done", 200)
        thrown = host.exchange(
            {
                "t": "fetch",
                "inv": 2,
                "iso": 0,
                "now": 2.0,
                "rand": [],
                "req": {**request, "url": "https://coordinator.invalid/throw"},
            }
        )
        assert "probe.js" in thrown["error"]["stack"]  # the host's stackless polls leave a Worker's stacks alone
    finally:
        host.close()
