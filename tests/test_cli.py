"""The command line: exit statuses, located one-line errors, atomic artifacts, byte-identical summaries."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rmasim.cli import app

ROOT = Path(__file__).parent.parent
BAD = sorted((ROOT / "tests" / "bad_scenarios").glob("*.yaml"))
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_there_are_enough_bad_scenarios():
    assert len(BAD) >= 15


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
@pytest.mark.parametrize("verb", ["validate", "run"])
def test_bad_scenarios_exit_2_with_a_located_line(path, verb, tmp_path):
    out = tmp_path / "out"
    result = invoke(verb, path) if verb == "validate" else invoke(verb, path, "--out", out)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    first = result.output.strip().splitlines()[0]
    assert re.match(rf"^{re.escape(str(path))}:\d+:\d+: ", first), first
    assert "Traceback" not in result.output
    assert not out.exists()  # nothing written half-way


def test_validate_accepts_the_shipped_scenarios():
    files = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "scenarios").glob("*/*.yaml"))
    result = invoke("validate", *files)
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok") == len(files)


def test_bad_override_names_the_override(tmp_path):
    result = invoke("run", ROOT / "scenarios" / "crash.yaml", "--set", "coordinator.edges=abc", "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert result.output.startswith("--set coordinator.edges=abc: coordinator.edges: ")
    assert not (tmp_path / "o").exists()


def test_unknown_expect_key_is_located(tmp_path):
    text = (ROOT / "scenarios" / "crash.yaml").read_text().replace("purge.never >= 1", "purge.nevr >= 1")
    path = tmp_path / "typo.yaml"
    path.write_text(text)
    result = invoke("validate", path)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "purge.nevr" in s)
    assert result.exit_code == 2
    assert result.output.startswith(f"{path}:{line}:")
    assert "unknown summary key 'purge.nevr'" in result.output


def test_failed_expectation_exits_1_and_still_writes_artifacts(tmp_path):
    text = (ROOT / "scenarios" / "routing_resilience.yaml").read_text()
    text = text.replace("  - routing.success_rate < 1\n", "  - routing.success_rate == 1\n")
    path = tmp_path / "strict.yaml"
    path.write_text(text)
    result = invoke("run", path, "--out", tmp_path / "out", "--quiet")
    assert result.exit_code == 1
    assert "expectation failed: routing.success_rate == 1" in result.output
    checks = json.loads((tmp_path / "out" / "expectations.json").read_text())
    assert [c["passed"] for c in checks] == [False, True, True, True]


def test_run_writes_every_artifact_and_the_same_seed_gives_the_same_bytes(tmp_path):
    scenario = ROOT / "scenarios" / "routing_resilience.yaml"
    for name in ("a", "b"):
        assert invoke("run", scenario, "--seed", "9", "--out", tmp_path / name, "-q").exit_code == 0
    files = {p.name for p in (tmp_path / "a").iterdir()}
    assert {"summary.json", "timeseries.csv", "requests.parquet", "timeline.png"} <= files
    assert (tmp_path / "a" / "summary.json").read_bytes() == (tmp_path / "b" / "summary.json").read_bytes()
    assert (tmp_path / "a" / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary directories left


def test_a_run_says_what_happened_first_in_under_40_lines(tmp_path):
    """The verdict, then the narrative, then the scenario's headline keys; --quiet the verdict only; --all every
    key; events.jsonl holds the machine events and the faults in time order."""
    scenario = ROOT / "scenarios" / "crash.yaml"
    result = invoke("run", scenario, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) < 40
    assert lines[0].startswith("crash seed 1 (baseline): PASS - expectations 5/5 passed")
    assert lines[1].startswith("  - gpu/0 crashed at 5m00s and stayed down")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    shown = [line.split()[0] for line in lines if line.split() and line.split()[0] in summary]
    assert shown[:3] == ["pollution.final", "registry.dead_entries.final", "purge.never"]  # the file's expect keys
    assert len(shown) <= 10
    quiet = invoke("run", scenario, "--out", tmp_path / "out", "-q")
    assert quiet.output.splitlines() == [lines[0]]
    everything = invoke("run", scenario, "--out", tmp_path / "out", "--all")
    assert all(key in everything.output for key in summary)
    events = [json.loads(line) for line in (tmp_path / "out" / "events.jsonl").read_text().splitlines()]
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
    crash = [e for e in events if e["t"] == 300.0]
    assert [(e["kind"], e.get("action"), e.get("machine")) for e in crash] == [
        ("fault", "crash", None),
        ("crash", None, "gpu/0"),
    ]


def test_rerun_replaces_a_report_whole(tmp_path):
    """A report directory (it carries the marker) is replaced whole: a file left in it by hand goes with it."""
    out = tmp_path / "out"
    scenario = ROOT / "scenarios" / "routing_resilience.yaml"
    assert invoke("run", scenario, "--out", out, "-q", "--set", "duration=5m").exit_code == 0
    (out / "stale.txt").write_text("old")
    assert invoke("run", scenario, "--out", out, "-q", "--set", "duration=5m").exit_code == 0
    assert not (out / "stale.txt").exists() and (out / "summary.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary siblings left


def test_schema_is_json_with_the_sections():
    result = invoke("schema")
    schema = json.loads(result.output)
    assert {"name", "duration", "fleet", "faults", "expect"} <= set(schema["properties"])


def test_console_script_exit_status():
    """The installed entry point, as a user runs it: exit 2 on bad input, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "rmasim", "validate", str(BAD[0])], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"{BAD[0]}:")


def test_the_written_scenario_replays_the_run(tmp_path):
    """scenario.yaml is the scenario as run (overrides applied): replaying it gives the same summary bytes."""
    scenario = ROOT / "scenarios" / "routing_resilience.yaml"
    args = ("--set", "faults.0.at=2m", "--set", "duration=8m", "-q")
    assert invoke("run", scenario, "--seed", "4", "--out", tmp_path / "first", *args).exit_code == 0
    replay = tmp_path / "first" / "scenario.yaml"
    assert invoke("run", replay, "--seed", "4", "--out", tmp_path / "again", "-q").exit_code == 0
    assert (tmp_path / "first" / "summary.json").read_bytes() == (tmp_path / "again" / "summary.json").read_bytes()


def test_presets_lists_every_knob_of_every_preset():
    from rmasim.scenario import PRESETS, Policy

    result = runner.invoke(app, ["presets"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in PRESETS:
        assert name in result.output
    for knob in Policy.model_fields:
        assert knob in result.output
    assert "on_route *" in result.output and "fingerprint *" in result.output


def test_version_prints_the_installed_distributions_version():
    from importlib.metadata import version

    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output == f"rmasim {version('rmasim')}\n"


def test_presets_print_fractions_as_numbers_and_durations_as_durations():
    result = invoke("presets")
    assert result.exit_code == 0
    rows = [line.split("│") for line in result.output.splitlines() if line.count("│") > 2]

    def row(knob: str) -> str:  # a narrow terminal may cut a long knob name short ("retry_budget_perc…")
        return next("│".join(r) for r in rows if knob.startswith(r[1].strip().rstrip("…")) and r[1].strip())

    assert "0.2" in row("retry_budget_percent") and "ms" not in row("retry_budget_percent")
    assert "30s" in row("heartbeat_interval")
