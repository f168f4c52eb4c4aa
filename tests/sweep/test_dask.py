"""The same sweep on a dask.distributed cluster (a real scheduler and worker processes on loopback)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import rmasim
from rmasim.sweep import sweep

distributed = pytest.importorskip("distributed")

SCENARIO = Path(__file__).parent.parent.parent / "scenarios" / "routing_resilience.yaml"


def test_rows_on_a_local_cluster_equal_the_process_pool(tmp_path):
    scenario = rmasim.load_scenario(SCENARIO).with_overrides({"duration": "4m", "faults.0.at": "2m"})
    grid = {"coordinator.edges": [1, 2]}
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = sweep([scenario], grid, range(2), client.get_executor(), tmp_path / "dask")
        assert len(client.scheduler_info()["workers"]) == 2
    pooled = sweep([scenario], grid, range(2), jobs=2)
    pd.testing.assert_frame_equal(on_dask, pooled)


def test_cli_scheduler_option_runs_on_the_cluster(tmp_path):
    from typer.testing import CliRunner

    from rmasim.cli import app

    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO.read_text().replace("duration: 15m", "duration: 4m"))
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        result = CliRunner().invoke(
            app,
            ["sweep", str(scenario), "--seeds", "2", "--scheduler", cluster.scheduler_address,
             "--out", str(tmp_path / "o")],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    local = sweep([scenario], None, range(2), jobs=1)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "o" / "results.parquet"), local)
