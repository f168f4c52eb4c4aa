"""``rmasim explore``: a small campaign, its files and exit status; bad input is one line and exit status 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rmasim.cli import app

runner = CliRunner()

SCENARIO = """\
name: explore_cli
duration: 6m
coordinator: {preset: baseline}
fleet:
  gpu: {count: 3, start_within: 10s, services: {upload: {port: 8103, capacity: 4}}}
workload:
  - {service: upload, rate: 1/s}
explore: {kinds: [crash, partition], max_faults: 2, start: 30s, end: 90s}
"""


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    return path


def test_a_campaign_against_the_baseline_lists_distinct_failures_and_exits_1(scenario, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["explore", str(scenario), "--runs", "6", "--jobs", "1", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "6 runs (6 run now" in result.output and "distinct failures" in result.output
    assert "no_dead_in_index: crash -> gpu,worker" in result.output
    assert {p.name for p in out.iterdir()} >= {"results.parquet", "results.csv", "failures.csv", "failing", "sweep"}
    again = runner.invoke(app, ["explore", str(scenario), "--runs", "6", "--out", str(out), "--resume"])
    assert again.exit_code == 1 and "6 runs (0 run now" in again.output, again.output
    reference = runner.invoke(
        app, ["explore", str(scenario), "--runs", "2", "--preset", "reference", "--jobs", "1", "--out", str(out)]
    )
    assert "2 runs (2 run now" in reference.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runs", "0"], "--runs 0: give 1 to 1000000 runs"),
        (["--time", "soon"], "--time soon: invalid duration 'soon'"),
        (["--set", "explore.kinds=[crsh]"], "--set explore.kinds=['crsh']: explore.kinds.0: 'crsh' is not a fault"),
        (["--preset", "nope"], "--preset nope: coordinator.preset: unknown preset 'nope'"),
        (["--out", "USER"], "is a directory that is not an rmasim report"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(scenario, tmp_path, args, message):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("precious")
    out = ["--out", str(tmp_path / "out")] if "--out" not in args else []
    args = [str(user) if a == "USER" else a for a in args]
    result = runner.invoke(app, ["explore", str(scenario), *args, *out])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert not (tmp_path / "out").exists()
    assert [p.name for p in user.iterdir()] == ["notes.txt"]


def test_the_campaign_shrinks_its_failures_and_self_checks_them(scenario, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["explore", str(scenario), "--runs", "4", "--jobs", "1", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert (
        "distinct after shrinking" in result.output and "shrunk/no_dead_in_index-crash-gpu-worker.yaml" in result.output
    )
    assert "self-check: " in result.output and "error" not in result.output
    replay = runner.invoke(app, ["run", str(out / "shrunk" / "no_dead_in_index-crash-gpu-worker.yaml"),
                                 "--out", str(tmp_path / "replay"), "-q"])  # fmt: skip
    assert replay.exit_code == 1 and "property violated: no_dead_in_index at 270 s" in replay.output, replay.output
    plain = runner.invoke(app, ["explore", str(scenario), "--runs", "4", "--no-shrink", "--out", str(tmp_path / "p")])
    assert plain.exit_code == 1 and "shrunk" not in plain.output
    assert not (tmp_path / "p" / "shrunk").exists()


def test_a_self_check_mismatch_is_an_error_line_and_exit_1(scenario, tmp_path, monkeypatch):
    from rmasim.explore import campaign
    from rmasim.explore.selfcheck import Replay

    def moved(cases, jobs=None):
        return [Replay(str(path), name, at, at + 1.0) for path, name, at in cases]

    monkeypatch.setattr(campaign, "self_check", moved)
    result = runner.invoke(app, ["explore", str(scenario), "--runs", "2", "--jobs", "1", "--out", str(tmp_path / "o"),
                                 "--shrink-budget", "5"])  # fmt: skip
    assert result.exit_code == 1
    assert (
        "error: self-check failed: " in result.output and "the replay in a fresh process: violated at" in result.output
    )
    assert "self-check: 0/" in result.output


def test_rmasim_shrink_shrinks_one_failing_scenario(tmp_path):
    path = tmp_path / "crash.yaml"
    path.write_text(SCENARIO.replace("explore: {kinds: [crash, partition], max_faults: 2, start: 30s, end: 90s}\n", "")
                    + "faults:\n  - {action: partition, at: 20s, target: gpu/1, duration: 10s}\n"
                    "  - {action: crash, at: 40s, target: gpu/2}\n"
                    "properties:\n  - {name: no_dead_in_index}\n")  # fmt: skip
    out = tmp_path / "shrunk"
    result = runner.invoke(app, ["shrink", str(path), "--property", "no_dead_in_index", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "shrunk 2 -> 1 faults, 3 -> 1 machines" in result.output and "self-check: replayed" in result.output
    assert "- {action: crash, at: " in (out / "shrunk.yaml").read_text()
    held = runner.invoke(app, ["shrink", str(path), "--property", "single_leader", "--out", str(out)])
    assert held.exit_code == 2 and "does not violate 'single_leader'" in held.output, held.output
