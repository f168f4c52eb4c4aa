"""Sometimes-coverage of a campaign: each run's row says which sometimes properties it reached; the campaign
counts them (coverage.csv, campaign.json), shows k/6 in its progress, and a resumed campaign counts the same."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from rmasim.cli import app
from rmasim.explore import Campaign, coverage_table, explore
from rmasim.observe.sometimes import sometimes_names
from rmasim.scenario import load_scenario_text

FLEET = """\
name: explore_coverage
duration: 5m
coordinator: {preset: baseline, edges: 2}
fleet:
  gpu: {count: 3, start_within: 10s, services: {upload: {port: 8103, capacity: 4}}}
workload:
  - {service: upload, rate: 1/s}
explore: {kinds: [crash, partition], max_faults: 2, start: 30s, end: 90s}
"""


def test_each_row_records_what_it_reached_and_the_table_counts_the_rows(tmp_path):
    campaign = Campaign(load_scenario_text(FLEET), seed=1)
    seen = []
    result = explore(campaign, tmp_path / "out", runs=6, jobs=1, progress=seen.append)
    frame = result.frame
    names = sometimes_names()
    for row in frame.to_dict("records"):
        reached = [n for n in names if pd.notna(row[f"sometimes.{n}.reached_at"])]
        assert (row["sometimes"] or "") == ",".join(reached) or (pd.isna(row["sometimes"]) and not reached)
    table = result.coverage
    assert table["property"].tolist() == names
    for row in table.to_dict("records"):
        column = frame[f"sometimes.{row['property']}.reached_at"]
        assert row["runs_reached"] == column.notna().sum() and row["runs"] == 6
        assert row["fraction"] == row["runs_reached"] / 6
        if row["runs_reached"]:
            first = frame[column.notna()]["run"].min()
            assert row["first_run"] == first
            assert row["first_seed"] == frame.loc[frame["run"] == first, "seed"].item()
            assert row["first_reached_at"] == column[frame["run"] == first].item()
    assert (table["runs_reached"] > 0).any()  # the baseline on 2 edges: a stale read, a 429 at least
    stored = pd.read_csv(tmp_path / "out" / "coverage.csv")
    assert stored["runs_reached"].tolist() == table["runs_reached"].tolist()
    coverage = json.loads((tmp_path / "out" / "campaign.json").read_text())["coverage"]
    assert list(coverage) == names
    assert {n: c["runs_reached"] for n, c in coverage.items()} == dict(zip(names, table["runs_reached"], strict=True))
    last = seen[-1]
    assert (last.reached, last.sometimes) == (int((table["runs_reached"] > 0).sum()), 6)
    for path in (tmp_path / "out" / "failing").glob("*.yaml"):  # a person's replay judges what can fail only
        assert not any(n in path.read_text() for n in names)


def test_a_resumed_campaign_reports_the_same_coverage(tmp_path):
    campaign = Campaign(load_scenario_text(FLEET), seed=2)
    whole = explore(campaign, tmp_path / "whole", runs=6, jobs=1)
    explore(campaign, tmp_path / "parts", runs=3, jobs=1)
    seen = []
    resumed = explore(campaign, tmp_path / "parts", runs=6, jobs=1, resume=True, progress=seen.append)
    assert resumed.ran == 3
    pd.testing.assert_frame_equal(whole.coverage, resumed.coverage)
    assert seen[0].row is None and seen[0].sometimes == 6  # the stored runs' coverage, before running the rest
    assert (
        json.loads((tmp_path / "parts" / "campaign.json").read_text())["coverage"]
        == json.loads((tmp_path / "whole" / "campaign.json").read_text())["coverage"]
    )


def test_an_empty_frame_has_a_row_per_property():
    table = coverage_table(pd.DataFrame({"run": [], "seed": []}))
    assert table["property"].tolist() == sometimes_names() and (table["runs_reached"] == 0).all()


def test_the_cli_prints_progress_and_the_coverage_table(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(FLEET)
    result = CliRunner().invoke(app, ["explore", str(scenario), "--runs", "3", "--jobs", "1", "--no-shrink",
                                      "--out", str(tmp_path / "o")])  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    assert "/6 sometimes reached)" in result.output
    assert "sometimes coverage:" in result.output and "cached_miss_hides_registration" in result.output
    assert (tmp_path / "o" / "coverage.csv").exists()
