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
