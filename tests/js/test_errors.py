"""Bad input and faults of the bridge: each is one clear line, located when it can be."""

from __future__ import annotations

import os
import signal

import pytest
from jsharness import Harness, request

from rmasim.scenario import ScenarioError
from rmasim.system import ops
from rmasim.system.worker import (
    RESPONSE_LIMIT,
    WAIT_UNTIL_LIMIT,
    HostDied,
    NodeHost,
    NodeNotFound,
    WorkerCoordinator,
    check_worker,
    find_node,
    load_worker_config,
)


def test_an_uncaught_exception_is_a_500_with_its_stack_in_the_trace(probe, harness: Harness):
    response = harness.run(probe.handle(request("/throw")))
    assert response == ops.Response(500, {"error": "Error: boom", "worker_exception": True})
    [trace] = harness.traces("worker_exception")
    assert trace["path"] == "/throw" and trace["message"] == "boom"
    assert "probe.js" in trace["stack"]


def test_a_handler_that_can_never_answer_ends_as_workers_ends_it(probe, harness: Harness):
    response = harness.run(probe.handle(request("/hang")))
    assert response.status == 500
    assert harness.traces("worker_exception")[0]["message"] == "The script will never generate a response."


def test_a_handler_still_running_at_the_limit_is_ended_there(probe, harness: Harness):
    """A handler that keeps waiting on timers is ended RESPONSE_LIMIT after it started: its last timer is cut
    to the limit, then the platform's 500."""
    start = harness.now
    response = harness.run(probe.handle(request("/poll-forever")))
    assert response.status == 500
    assert harness.now == start + RESPONSE_LIMIT  # 14 timers of 7 s, the 15th cut at 100 s
    assert [op.seconds for op in harness.ops(ops.Sleep)] == [7.0] * 14 + [RESPONSE_LIMIT - 98.0]
    assert "had hung and would never generate a response" in harness.traces("worker_exception")[0]["message"]


def test_wait_until_work_is_cancelled_after_its_limit(probe):
    """The answer goes at once; the waitUntil() work then has WAIT_UNTIL_LIMIT seconds and is cancelled."""
    harness = Harness(kv={"a": "x"}, io_time=1.0)
    start = harness.now
    response = harness.run(probe.handle(request("/wait-forever")))
    assert response == ops.Response(202, "early")
    [respond] = harness.ops(ops.Respond)
    assert respond.response == response
    assert harness.now == start + WAIT_UNTIL_LIMIT  # one read a second, the one at the limit not answered
    assert len(harness.ops(ops.KvGet)) == WAIT_UNTIL_LIMIT
    [trace] = harness.traces("worker_exception")
    assert trace["message"].startswith("waitUntil() tasks did not complete within the allowed time")


def test_a_handler_that_answers_something_else_than_a_response(probe, harness: Harness):
    harness.run(probe.handle(request("/not-a-response")))
    assert "did not resolve to 'Response'" in harness.traces("worker_exception")[0]["message"]


def test_a_syntax_error_is_located(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # paths below the current directory are shown relative to it
    main = tmp_path / "index.js"
    main.write_text("export default {\n  async fetch(request) {\n    return new Response(1 +);\n  },\n};\n")
    with pytest.raises(ScenarioError) as error:
        WorkerCoordinator.start(load_worker_config(main))
    assert [str(p) for p in error.value.problems] == ["index.js:3:28: SyntaxError: Unexpected token ')'"]


def test_a_syntax_error_in_an_imported_file_names_that_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "index.js").write_text("import { f } from './lib.js';\nexport default { fetch: f };\n")
    (tmp_path / "lib.js").write_text("export const f = () => {;\n")
    with pytest.raises(ScenarioError) as error:
        WorkerCoordinator.start(load_worker_config(tmp_path / "index.js"))
    [problem] = error.value.problems
    assert (problem.file, problem.line) == ("lib.js", 2)
    assert problem.message == "SyntaxError: Unexpected end of input"


def test_io_or_randomness_at_top_level_is_refused_as_workers_refuses_it(tmp_path):
    (tmp_path / "index.js").write_text("const id = Math.random();\nexport default { fetch: () => new Response('') };\n")
    with pytest.raises(ScenarioError, match="Disallowed operation called within global scope"):
        WorkerCoordinator.start(load_worker_config(tmp_path / "index.js"))


def test_imports_other_than_the_workers_own_files_are_refused(tmp_path):
    (tmp_path / "index.js").write_text("import x from 'cloudflare:workers';\nexport default {};\n")
    with pytest.raises(ScenarioError, match="import 'cloudflare:workers' is not supported"):
        WorkerCoordinator.start(load_worker_config(tmp_path / "index.js"))


def test_a_host_that_dies_mid_run_fails_it_clearly(tmp_path, harness: Harness):
    (tmp_path / "index.js").write_text(
        "export default { async fetch(r, env) { await env.WORKERS.get('a'); return new Response('x'); } };\n"
    )
    coordinator = WorkerCoordinator.start(load_worker_config(tmp_path / "index.js"))
    gen = coordinator.handle(request("/"))
    op = next(gen)
    while not isinstance(op, ops.KvGet):
        op = gen.send(harness.answer(op))
    os.kill(coordinator.host.pid, signal.SIGKILL)  # type: ignore[attr-defined]
    with pytest.raises(HostDied, match=r"Worker host process \(Node.js, index.js\) exited with status -9 mid-run"):
        harness.run(gen)  # the read's result goes to a dead host
    coordinator.close()


def test_no_node_is_one_line_naming_the_version_needed(monkeypatch):
    monkeypatch.setenv("RMASIM_NODE", "/nonexistent/node")
    with pytest.raises(NodeNotFound, match="cannot run /nonexistent/node --version"):
        find_node()
    monkeypatch.setenv("RMASIM_NODE", "")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(NodeNotFound, match=r"needs Node.js >= 18 on PATH"):
        find_node()


def test_check_worker_loads_once_before_a_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wrangler.toml").write_text('main = "index.js"\n')
    (tmp_path / "index.js").write_text("export default {\n  fetch() { return new Response(; }\n};\n")
    with pytest.raises(ScenarioError) as error:
        check_worker("wrangler.toml")
    assert [str(p) for p in error.value.problems] == ["index.js:2:33: SyntaxError: Unexpected token ';'"]
    with pytest.raises(ScenarioError, match=r"coordinator\.worker: no such file"):
        check_worker("missing.toml")


def test_a_worker_that_loops_without_io_fails_the_run_after_the_reply_timeout(tmp_path, harness: Harness):
    (tmp_path / "index.js").write_text("export default { fetch() { for (;;) {} } };\n")
    config = load_worker_config(tmp_path / "index.js")
    coordinator = WorkerCoordinator(config, NodeHost(config, reply_timeout=0.5))
    with pytest.raises(HostDied, match=r"gave no answer in 0\.5 s of wall time"):
        harness.run(coordinator.handle(request("/")))
    coordinator.close()


def test_check_worker_reports_a_missing_node_as_one_line(tmp_path, monkeypatch):
    (tmp_path / "index.js").write_text("export default {};\n")
    monkeypatch.setenv("RMASIM_NODE", "")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ScenarioError) as error:
        check_worker(tmp_path / "index.js")
    assert [str(p) for p in error.value.problems] == [
        "coordinator.worker: running a Worker needs Node.js >= 18 on PATH (none found; e.g. apt-get install nodejs, "
        "or set RMASIM_NODE)"
    ]


def test_rmasim_run_with_a_bad_worker_is_one_located_line_and_exit_2(tmp_path, monkeypatch):
    """Before the run: the Worker is loaded once by the CLI's checks; nothing is written."""
    from typer.testing import CliRunner

    from rmasim.cli import app

    monkeypatch.chdir(tmp_path)
    source = "export default {\n  async fetch(request) {\n    return new Response(1 +);\n  },\n};\n"
    (tmp_path / "index.js").write_text(source)
    crash = os.path.join(os.path.dirname(__file__), "..", "..", "scenarios", "crash.yaml")
    result = CliRunner().invoke(app, ["run", crash, "--set", "coordinator.worker=index.js", "--out", "out"])
    assert result.exit_code == 2, result.output
    assert result.output == "index.js:3:28: SyntaxError: Unexpected token ')'\n"
    assert not (tmp_path / "out").exists()


def test_rmasim_run_whose_host_dies_fails_with_one_message_and_writes_nothing(tmp_path, monkeypatch):
    """The run's host (the second node started: the first loads the Worker for the CLI's checks) is killed half a
    second in; a crash.yaml run takes longer than that."""
    from typer.testing import CliRunner

    from rmasim.cli import app

    node = tmp_path / "node"
    node.write_text(
        "#!/bin/bash\n"
        f'if [ "$1" = "--version" ]; then exec {find_node()} --version; fi\n'
        f'if [ ! -e {tmp_path}/loaded ]; then touch {tmp_path}/loaded; exec {find_node()} "$@"; fi\n'
        f'exec 3<&0; {find_node()} "$@" 0<&3 & child=$!\n'
        "( sleep 0.5; kill -9 $child ) & wait $child\n"
    )
    node.chmod(0o755)
    monkeypatch.setenv("RMASIM_NODE", str(node))
    crash = os.path.join(os.path.dirname(__file__), "..", "..", "scenarios", "crash.yaml")
    worker = os.path.join(os.path.dirname(__file__), "..", "..", "workers", "baseline", "wrangler.toml")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", crash, "--set", f"coordinator.worker={worker}", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("the run failed: the Worker host process (Node.js, index.js) exited with status")
    assert "mid-run" in result.output.splitlines()[0]
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
