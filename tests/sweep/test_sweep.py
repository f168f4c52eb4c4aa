"""Sweeps: the plan, identical rows whatever the executor, storage run by run, resume after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import rmasim
from rmasim.sweep import RunStore, plan_runs, sweep

ROOT = Path(__file__).parent.parent.parent
SCENARIO = ROOT / "scenarios" / "routing_resilience.yaml"


@pytest.fixture(scope="module")
def small() -> rmasim.Scenario:
    return rmasim.load_scenario(SCENARIO).with_overrides({"duration": "4m", "faults.0.at": "2m"})


def test_plan_is_the_cartesian_product_in_order(small):
    specs = plan_runs([small], {"coordinator.edges": [1, 2], "network.connect_timeout": ["5s", "15s"]}, range(2))
    assert [(s.grid_point["coordinator.edges"], s.grid_point["network.connect_timeout"], s.seed) for s in specs] == [
        (e, t, seed) for e in (1, 2) for t in ("5s", "15s") for seed in (0, 1)
    ]
    assert [s.index for s in specs] == list(range(8))
    assert len({s.run_id for s in specs}) == 8
    assert specs[0].scenario.coordinator.edges == 1 and specs[4].scenario.coordinator.edges == 2
    again = plan_runs([small], {"coordinator.edges": [1, 2], "network.connect_timeout": ["5s", "15s"]}, range(2))
    assert [s.run_id for s in again] == [s.run_id for s in specs]  # stable across calls and processes


def test_run_id_changes_with_the_scenario(small):
    (a,) = plan_runs([small], None, [0])
    (b,) = plan_runs([small.with_overrides({"duration": "5m"})], None, [0])
    assert a.run_id != b.run_id


def test_a_bad_grid_value_is_refused_before_anything_runs(small, tmp_path):
    with pytest.raises(rmasim.ScenarioError, match=r"coordinator\.edges"):
        sweep([small], {"coordinator.edges": [1, "many"]}, range(1), out=tmp_path)
    assert not (tmp_path / "runs").exists()


def test_rows_are_identical_serially_and_in_a_process_pool(small):
    grid = {"coordinator.edges": [1, 2]}
    serial = sweep([small], grid, range(2), jobs=1)
    with ProcessPoolExecutor(max_workers=2) as pool:
        pooled = sweep([small], grid, range(2), pool)
    pd.testing.assert_frame_equal(serial, pooled)
    assert list(serial.columns[:5]) == ["run", "run_id", "scenario", "coordinator.edges", "seed"]
    assert serial["routing.success_rate"].notna().all()
    # each row is the summary of rmasim.run with that scenario and seed
    direct = rmasim.run(small.with_overrides({"coordinator.edges": 2}), seed=1).summary
    assert serial.loc[3, "routing.requests"] == direct["routing.requests"]


def test_resume_runs_only_what_is_missing(small, tmp_path):
    grid = {"coordinator.edges": [1, 2]}
    full = sweep([small], grid, range(2), jobs=1, out=tmp_path / "full")
    partial = RunStore(tmp_path / "partial")
    kept = full.iloc[[0, 3]]
    for _, row in kept.iterrows():
        partial.write(row["run_id"], row.to_dict())
    executed = []
    resumed = sweep(
        [small], grid, range(2), jobs=1, out=tmp_path / "partial", resume=True,
        progress=lambda done, total, spec: executed.append(spec and spec.index),
    )  # fmt: skip
    assert executed == [None, 1, 2]  # the initial call, then the two missing runs
    pd.testing.assert_frame_equal(resumed, full)


def test_a_store_written_as_parquet_by_an_earlier_rmasim_resumes(small, tmp_path):
    """Runs stored as one-row parquet files (the format before Arrow IPC) count as finished and read back the
    same; a sweep without --resume replaces them with its own files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    full = sweep([small], None, range(2), jobs=1, out=tmp_path / "full")
    old = RunStore(tmp_path / "old")
    old.write(full.loc[0, "run_id"], full.loc[0].to_dict())  # makes the store (a report) and runs/
    old.path(full.loc[0, "run_id"]).unlink()
    for _, row in full.iterrows():
        pq.write_table(pa.Table.from_pylist([row.to_dict()]), old.runs / f"{row['run_id']}.parquet")
    assert old.finished() == set(full["run_id"])
    executed = []
    resumed = sweep([small], None, range(2), jobs=1, out=tmp_path / "old", resume=True,
                    progress=lambda done, total, spec: executed.append(spec))  # fmt: skip
    assert executed == [None]
    pd.testing.assert_frame_equal(resumed, full)
    again = sweep([small], None, range(2), jobs=1, out=tmp_path / "old")
    pd.testing.assert_frame_equal(again, full)
    assert sorted(p.suffix for p in old.runs.iterdir()) == [".arrow", ".arrow"]


def test_sigkill_halfway_then_resume_equals_an_uninterrupted_sweep(tmp_path):
    """Kill a real `rmasim sweep` process with SIGKILL after some runs; --resume finishes the rest, and no run
    that had finished is executed again."""
    args = ["--grid", "coordinator.edges=1,2", "--seeds", "4", "--jobs", "1"]
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO.read_text().replace("duration: 15m", "duration: 6m"))
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "rmasim", "sweep", str(scenario), *args, "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = RunStore(out)
    deadline = time.monotonic() + 60
    while len(store.finished()) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = store.finished()
    assert 3 <= len(before) < 8, "the sweep should have been killed halfway"
    executed = []
    plan = plan_runs([scenario], {"coordinator.edges": [1, 2]}, range(4))
    resumed = sweep(
        [scenario], {"coordinator.edges": [1, 2]}, range(4), jobs=1, out=out, resume=True,
        progress=lambda d, t, spec: spec and executed.append(spec.run_id),
    )  # fmt: skip
    assert set(executed) == {s.run_id for s in plan} - before
    uninterrupted = sweep([scenario], {"coordinator.edges": [1, 2]}, range(4), jobs=1)
    pd.testing.assert_frame_equal(resumed, uninterrupted)


def test_cli_writes_results_and_refuses_a_bad_grid(tmp_path):
    from typer.testing import CliRunner

    from rmasim.cli import app

    runner = CliRunner()
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO.read_text().replace("duration: 15m", "duration: 4m"))
    ok = runner.invoke(app, ["sweep", str(scenario), "--grid", "coordinator.edges=1,2", "--seeds", "2",
                             "--jobs", "1", "--out", str(tmp_path / "o")])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "[4/4]" in ok.output  # plain progress lines when not on a terminal
    results = pd.read_parquet(tmp_path / "o" / "results.parquet")
    assert list(results["coordinator.edges"]) == [1, 1, 2, 2] and list(results["seed"]) == [0, 1, 0, 1]
    bad = runner.invoke(app, ["sweep", str(scenario), "--grid", "coordinator.edges=1,x", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2
    assert "--grid coordinator.edges=x: coordinator.edges:" in bad.output


def test_rmasim_sweep_is_the_function_and_the_package_stays_importable(small):
    from rmasim.sweep import plan_runs as again

    assert rmasim.sweep is sweep and again is plan_runs
    frame = rmasim.sweep([small], {"coordinator.edges": [1]}, range(1), jobs=1)
    assert list(frame["seed"]) == [0]


def test_a_mapping_grid_value_is_stored_as_its_json_text(small):
    """``--grid 'coordinator.versions.upload={pin: "1.0"}'``: the row keeps the value as text, so the intervals
    can group by it."""
    from rmasim.report.stats import interval_table

    grid = {"coordinator.versions.upload": [{"pin": "1.0"}, "any"]}
    rows = sweep([small], grid, range(2), jobs=1)
    assert list(rows["coordinator.versions.upload"]) == ['{"pin": "1.0"}'] * 2 + ["any"] * 2
    table = interval_table(rows, list(grid))
    assert set(table["coordinator.versions.upload"]) == {'{"pin": "1.0"}', "any"}
