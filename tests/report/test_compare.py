"""``rmasim compare``: the printed table, intervals.csv, one PNG per key family, and the plotting helpers."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from rmasim.cli import app
from rmasim.report.compare import (
    family_of,
    family_plots,
    format_interval,
    interval_cells,
    interval_text,
    markdown_cells,
    plot_intervals,
    variant_label,
)
from rmasim.report.stats import interval_table, mean_ci, summary_columns

ROOT = Path(__file__).parent.parent.parent
PNG = b"\x89PNG\r\n\x1a\n"
EDGES = "coordinator.edges"
runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, ["compare", *(str(a) for a in args)])


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "short.yaml"
    text = (ROOT / "scenarios" / "routing_resilience.yaml").read_text()
    path.write_text(text.replace("duration: 15m", "duration: 4m"))
    return path


@pytest.fixture(scope="module")
def compared(scenario, tmp_path_factory):
    """One small comparison: 2 variants x 3 seeds, in this process."""
    out = tmp_path_factory.mktemp("compare") / "out"
    result = invoke(scenario, "--grid", f"{EDGES}=1,2", "--seeds", 3, "--jobs", 1, "--out", out)
    return result, out


def test_exit_0_and_the_table_names_every_variant_and_key(compared):
    result, _ = compared
    assert result.exit_code == 0, result.output
    assert "edges=1" in result.output and "edges=2" in result.output
    line = next(x for x in result.output.splitlines() if "routing.success_rate" in x)
    assert "↑" in line and line.count("±") == 2  # better direction, then one cell per variant


def test_keys_option_prints_only_those_keys_and_refuses_unknown_ones(scenario, tmp_path):
    out = tmp_path / "out"
    result = invoke(scenario, "--grid", f"{EDGES}=1,2", "--seeds", 2, "--jobs", 1, "--out", out,
                    "--keys", "routing.success_rate,pollution.final")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [x for x in result.output.splitlines() if x.startswith("│")]
    assert len(rows) == 2 and "routing.success_rate" in rows[1] and "pollution.final" in rows[0]
    assert "kv.writes" in (out / "intervals.csv").read_text()  # the file keeps every key
    bad = invoke(
        scenario, "--grid", f"{EDGES}=1", "--seeds", 2, "--out", tmp_path / "bad", "--keys", "pollution.finale"
    )
    assert bad.exit_code == 2 and "--keys: pollution.finale: unknown summary key" in bad.output
    assert not (tmp_path / "bad").exists()


def test_intervals_csv_has_one_row_per_variant_and_key_matching_mean_ci(compared):
    _, out = compared
    table = pd.read_csv(out / "intervals.csv")
    rows = pd.read_parquet(out / "sweep" / "results.parquet")
    assert len(rows) == 6
    assert set(table["variant"]) == {"edges=1", "edges=2"}
    assert not table.duplicated(["variant", "key"]).any()
    assert len(table) == 2 * table["key"].nunique()
    assert "purge.time_max" in set(table["key"])  # optional keys (null when nothing was purged) are kept
    finite = table[table["mean"].map(math.isfinite)]
    assert (finite["ci_low"] <= finite["mean"]).all() and (finite["mean"] <= finite["ci_high"]).all()
    for edges in (1, 2):
        got = table[(table[EDGES] == edges) & (table["key"] == "routing.success_rate")].iloc[0]
        mean, half, n = mean_ci(rows.loc[rows[EDGES] == edges, "routing.success_rate"].to_numpy())
        assert (got["mean"], got["half_width"], got["n"]) == pytest.approx((mean, half, n))
        assert got["better"] == "higher"


def test_one_png_per_family_present(compared):
    _, out = compared
    table = pd.read_csv(out / "intervals.csv")
    families = {family_of(k) for k in table.loc[table["mean"].map(math.isfinite), "key"]}
    assert {"routing", "latency", "pollution", "registry", "purge", "kv", "cost"} <= families
    pngs = sorted(out.glob("*.png"))
    assert {p.stem for p in pngs} == families
    for png in pngs:
        assert png.read_bytes()[:8] == PNG


def test_default_out_dir_is_named_after_the_scenario(scenario, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(scenario, "--seeds", 2, "--jobs", 1)
    assert result.exit_code == 0, result.output
    out = tmp_path / "reports" / "compare" / "routing_resilience"
    assert (out / "intervals.csv").exists() and (out / "sweep" / "results.parquet").exists()
    assert "all" in result.output  # no grid: one variant


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", f"{EDGES}=1,x"], f"--grid {EDGES}=x: {EDGES}: "),
        (["--grid", "edges"], "--grid edges: expected KEY=V1,V2,..."),
        (["--grid", "warmup=60s,1m"], "--grid warmup=60s,1m: the values 60s and 1m give the same scenario"),
        (["--grid", f"{EDGES}=1", "--grid", f"{EDGES}=2"], f"--grid {EDGES}=2: {EDGES} is already given by --grid"),
        (["--grid", "coordinator.nope=1"], "--grid coordinator.nope=1: "),
    ],
)
def test_bad_grid_exits_2_with_a_located_line_and_writes_nothing(scenario, tmp_path, args, message):
    result = invoke(scenario, *args, "--seeds", 2, "--out", tmp_path / "o")
    assert result.exit_code == 2, result.output
    assert result.output.startswith(message), result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_bad_scenario_exits_2_with_a_located_line(tmp_path):
    bad = ROOT / "tests" / "bad_scenarios" / "bad_duration_unit.yaml"
    result = invoke(bad, "--seeds", 2, "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert result.output.startswith(f"{bad}:")
    assert not (tmp_path / "o").exists()


def test_summary_columns_keep_optional_keys_and_drop_text():
    frame = pd.DataFrame(
        {"run": [0, 1], "run_id": ["a", "b"], "scenario": ["s", "s"], EDGES: [1, 2], "seed": [0, 0],
         "routing.success_rate": [0.5, 0.7], "purge.time_max": pd.Series([None, 3.0], dtype=object),
         "purge.time_mean": [None, None], "note": ["x", None]}
    )  # fmt: skip
    assert frame["purge.time_max"].dtype == object
    assert summary_columns(frame, [EDGES]) == ["routing.success_rate", "purge.time_max", "purge.time_mean"]


def test_variant_label_uses_the_last_component_unless_ambiguous():
    row = {"coordinator.preset": "baseline", "coordinator.edges": 2, "kv.latency": 0.5, "net.latency": 1.0}
    assert variant_label(row, ["coordinator.edges"]) == "edges=2"
    assert variant_label(row, ["coordinator.preset", "coordinator.edges"]) == "preset=baseline,edges=2"
    assert variant_label(row, ["kv.latency", "net.latency"]) == "kv.latency=0.5,net.latency=1"
    assert variant_label(row, []) == "all"


def _table(means: dict[str, list[float]], n: int = 5) -> pd.DataFrame:
    """An interval table for variants edges=1,2 of scenario ``s``; each key's half-width is 0.1."""
    rows = [
        {"scenario": "s", EDGES: edges, "key": key, "mean": m, "half_width": 0.1, "ci_low": m - 0.1,
         "ci_high": m + 0.1, "n": n, "better": "higher" if key.startswith("routing") else "lower"}
        for key, values in means.items()
        for edges, m in zip((1, 2), values, strict=True)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_interval_cells_and_formatting():
    table = _table(
        {"routing.success_rate": [0.71634, 0.9], "kv.reads": [3412.4, 12.0], "purge.time_max": [math.nan] * 2}
    )
    table.loc[1, "n"] = 3  # routing.success_rate at edges=2: summarized over fewer runs
    cells = interval_cells(table, [EDGES])
    fewer = "0.9000 ± 0.1000 (n=3)"
    assert cells.to_dict("records") == [
        {"key": "routing.success_rate", "better": "higher", "edges=1": "0.7163 ± 0.1000", "edges=2": fewer},
        {"key": "kv.reads", "better": "lower", "edges=1": "3412 ± 0", "edges=2": "12 ± 0"},
        {"key": "purge.time_max", "better": "lower", "edges=1": "-", "edges=2": "-"},
    ]  # fmt: skip
    assert format_interval(45.312, 2.1) == "45.31 ± 2.10"
    assert format_interval(math.nan, math.nan) == "-"
    assert markdown_cells(cells, ["kv.reads", "routing.success_rate", "nope"]).splitlines() == [
        "| key | edges=1 | edges=2 |",
        "|---|---|---|",
        "| `kv.reads` | 3412 ± 0 | 12 ± 0 |",
        f"| `routing.success_rate` | 0.7163 ± 0.1000 | {fewer} |",
        "| `nope` | - | - |",
    ]
    assert len(markdown_cells(cells).splitlines()) == 2 + 3  # no keys: every row


def test_plot_intervals_draws_one_series_per_value(tmp_path):
    now = _table({"routing.success_rate": [0.7, 0.9], "latency.p50": [0.2, 0.3]}).assign(series="now")
    base = _table({"routing.success_rate": [0.6, 0.8], "latency.p50": [0.2, 0.2]}).assign(series="baseline")
    keys = ["routing.success_rate", "latency.p50", "purge.time_max"]  # the last has no row: skipped
    path = plot_intervals(pd.concat([base, now]), [EDGES], tmp_path / "series.png", keys, title="check")
    assert path == tmp_path / "series.png"
    assert path.read_bytes()[:8] == PNG


def test_plot_intervals_from_a_real_interval_table(compared, tmp_path):
    _, out = compared
    rows = pd.read_parquet(out / "sweep" / "results.parquet")
    table = interval_table(rows, [EDGES])
    path = plot_intervals(table, [EDGES], tmp_path / "r.png", ["routing.success_rate", "routing.failures.dead_target"])
    assert path.read_bytes()[:8] == PNG


def test_family_plots_skip_keys_and_families_without_a_finite_mean(tmp_path):
    table = _table({"routing.success_rate": [0.7, 0.9], "purge.time_max": [math.nan] * 2})
    assert family_plots(table, [EDGES], tmp_path) == [tmp_path / "routing.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["routing.png"]


def test_yes_no_keys_get_a_binomial_interval_and_non_negative_keys_are_clipped_at_0():
    """``cost.free_tier_exceeded`` (unit bool) in 2 of 3 runs: 2/3 with Clopper-Pearson's exact interval
    (0.0943, 0.9916); ``routing.failures.dead_target`` (a count) of 0, 0, 3: the t-interval 1 ± 4.30 * 1.732 / 1.732
    would reach -3.30, so it is [0, 5.30]; a key that can be negative keeps its t-interval."""
    frame = pd.DataFrame(
        {
            "scenario": ["s"] * 3,
            "seed": [0, 1, 2],
            "cost.free_tier_exceeded": [1.0, 0.0, 1.0],
            "routing.failures.dead_target": [0.0, 0.0, 3.0],
            "unknown.signed": [0.0, 0.0, 3.0],
        }
    )
    table = interval_table(frame, []).set_index("key")
    flag = table.loc["cost.free_tier_exceeded"]
    assert flag["interval"] == "proportion"
    assert (flag["ci_low"], flag["ci_high"]) == (pytest.approx(0.094299, abs=1e-6), pytest.approx(0.991596, abs=1e-6))
    assert interval_text(flag) == "2/3"
    count = table.loc["routing.failures.dead_target"]
    half = 4.302653 * math.sqrt(3) / math.sqrt(3)
    assert count["interval"] == "clipped" and count["ci_low"] == 0.0
    assert count["ci_high"] == pytest.approx(1 + half, rel=1e-6)
    assert interval_text(count) == f"1.0000 [0, {1 + half:.4f}]"
    other = table.loc["unknown.signed"]
    assert other["interval"] == "mean" and other["ci_low"] == pytest.approx(1 - half, rel=1e-6)
