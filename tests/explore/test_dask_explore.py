"""``rmasim explore --scheduler``: a campaign's runs on a dask.distributed cluster give the rows of ``--jobs 1``."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from rmasim.cli import app
from rmasim.explore import Campaign, explore
from rmasim.scenario import load_scenario_text

distributed = pytest.importorskip("distributed")

FLEET = """\
name: explore_dask
duration: 4m
coordinator: {preset: reference}
fleet:
  gpu: {count: 3, start_within: 10s, services: {upload: {port: 8103, capacity: 4}}}
workload:
  - {service: upload, rate: 1/s}
explore: {kinds: [crash, partition, kv_outage], max_faults: 2, start: 30s, end: 90s}
"""


def rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["wall_seconds"])


def test_runs_on_a_local_cluster_equal_those_in_this_process(tmp_path):
    campaign = Campaign(load_scenario_text(FLEET), seed=5)
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = explore(campaign, tmp_path / "dask", runs=4, executor=client.get_executor())
    local = explore(campaign, tmp_path / "local", runs=4, jobs=1)
    pd.testing.assert_frame_equal(rows(on_dask.frame), rows(local.frame))
    pd.testing.assert_frame_equal(on_dask.coverage, local.coverage)


def test_cli_scheduler_option_runs_the_campaign_on_the_cluster(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(FLEET)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        result = CliRunner().invoke(
            app,
            ["explore", str(scenario), "--runs", "3", "--seed", "5", "--no-shrink", "--scheduler",
             cluster.scheduler_address, "--out", str(tmp_path / "o")],
        )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    local = CliRunner().invoke(
        app, ["explore", str(scenario), "--runs", "3", "--seed", "5", "--no-shrink", "--jobs", "1",
              "--out", str(tmp_path / "l")],
    )  # fmt: skip
    assert local.exit_code == result.exit_code, local.output
    pd.testing.assert_frame_equal(
        rows(pd.read_parquet(tmp_path / "o" / "results.parquet")),
        rows(pd.read_parquet(tmp_path / "l" / "results.parquet")),
    )
