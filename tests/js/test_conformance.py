"""Differential conformance, small (issue 12, Build 6): the Python presets against the Workers of the same code.

Where both sides issue the same operations in the same order, the simulation is the same, so every summary key is
equal at the same seed. ``workers/baseline`` does. ``workers/seed-fixes`` keeps one piece of the review's code
that the Python ``seed-fixes`` preset does not reproduce (docs/conformance.md): Fix #2's one ``get()`` per listed
worker (the preset reads them in bulk). With one location every record read hits the cache, so the pair agrees
key for key; with that piece replaced by the preset's choice, it must agree at several locations as well.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rmasim
from rmasim.report.conformance import Pair, conformance, default_pairs, findings_frame, markdown_table

ROOT = Path(__file__).parent.parent.parent
SHORT = {"crash": {"duration": "7m"}, "leader_race": {"duration": "4m", "faults": []}}  # crash at 5 m; the race at boot

#: The review's code in workers/seed-fixes -> what the Python seed-fixes preset does instead.
PER_KEY_READS = """  for (const workerId of workerIds) {
    const workerData = await env.WORKERS.get(`worker:${workerId}`);
    if (!workerData) {
      // Worker deleted but still in service index
      staleWorkers.push(workerId);
      continue;
    }

    const worker = JSON.parse(workerData);
    const ageSeconds = (now - new Date(worker.last_heartbeat)) / 1000;"""
BULK_READS = """  const records = await getRecords(env, workerIds);
  for (const [i, workerId] of workerIds.entries()) {
    const worker = records[i];
    if (!worker) {
      staleWorkers.push(workerId);
      continue;
    }
    const ageSeconds = (new Date() - new Date(worker.last_heartbeat)) / 1000;"""
PYTHON_CHOICES = {PER_KEY_READS: BULK_READS}


@pytest.fixture(scope="module")
def as_python(tmp_path_factory) -> Pair:
    """workers/seed-fixes with the documented difference replaced by the Python preset's choice."""
    target = tmp_path_factory.mktemp("seed-fixes-as-python")
    shutil.copytree(ROOT / "workers" / "seed-fixes", target, dirs_exist_ok=True)
    index = target / "src" / "index.js"
    source = index.read_text()
    for review, python in PYTHON_CHOICES.items():
        assert source.count(review) == 1, f"workers/seed-fixes no longer has: {review[:60]}"
        source = source.replace(review, python)
    index.write_text(source)
    return Pair("seed-fixes-as-python", "seed-fixes", target / "wrangler.toml")


@pytest.fixture(scope="module")
def findings(as_python):
    scenarios = [rmasim.load_scenario(ROOT / "scenarios" / f"{n}.yaml").with_overrides(o) for n, o in SHORT.items()]
    pairs = [*default_pairs(ROOT / "workers"), as_python]
    return {(f.pair, f.scenario): f for f in conformance(scenarios, pairs, seeds=2, jobs=1)}


@pytest.mark.parametrize("scenario", list(SHORT))
def test_the_javascript_baseline_agrees_with_the_python_baseline(findings, scenario):
    finding = findings["baseline", scenario]
    assert finding.differing == ()
    assert finding.intervals is None  # identical: no interval runs


@pytest.mark.parametrize("scenario", list(SHORT))
def test_seed_fixes_agree_but_for_the_documented_difference(findings, scenario):
    finding = findings["seed-fixes-as-python", scenario]
    assert {k: (finding.python[k], finding.javascript[k]) for k in finding.differing} == {}


def test_the_javascript_seed_fixes_purge_the_crashed_worker(findings):
    """Fix #2 in the Worker: the crashed worker leaves the index (the Python preset does the same)."""
    finding = findings["seed-fixes", "crash"]
    assert finding.javascript["purge.crashes"] >= 1
    assert finding.javascript["purge.never"] == finding.python["purge.never"] == 0


def test_the_javascript_seed_fixes_agree_with_the_python_preset_at_one_location(findings):
    """Fix #4 as the review writes it on both sides (``w.current_load || 0.5``), and at one location every record
    read of the stale cleanup hits the cache, so reading them one by one or in bulk is the same simulation."""
    finding = findings["seed-fixes", "crash"]
    assert finding.differing == ()
    assert finding.intervals is None


def test_a_difference_at_the_seed_is_followed_by_intervals(findings):
    """At three locations the review's one ``get()`` per record pays a KV round trip per cache miss where the
    preset pays one bulk read: other timings, other draws, so the summaries differ and both sides ran 2 seeds,
    each with a goodput."""
    finding = findings["seed-fixes", "leader_race"]
    assert finding.differing
    assert finding.seeds == 2 and finding.intervals is not None
    assert {c.key for c in finding.intervals} >= set(finding.differing)
    assert [(c.python[3], c.javascript[3]) for c in finding.intervals if c.key == "goodput"] == [(2, 2)]


def test_report_forms(findings):
    table = markdown_table(list(findings.values()))
    assert table.splitlines()[0].startswith("| pair | scenario |")
    assert "| baseline | crash | 1 | yes | - | - |" in table
    frame = findings_frame(list(findings.values()))
    assert set(frame["pair"]) == {"baseline", "seed-fixes", "seed-fixes-as-python"}
    assert frame[frame["pair"] == "baseline"]["identical"].all()


def test_the_command_prints_the_table_and_writes_a_report(tmp_path):
    from typer.testing import CliRunner

    from rmasim.cli import app

    out = tmp_path / "report"
    args = ["conformance", str(ROOT / "scenarios" / "crash.yaml"), "--pair", "baseline", "--set", "duration=6m",
            "--workers", str(ROOT / "workers"), "--jobs", "1", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "baseline" in result.output and "crash" in result.output
    assert "| baseline | crash | 1 | yes | - | - |" in (out / "conformance.md").read_text()
    assert (out / "conformance.csv").read_text().startswith("pair,scenario,seed,key,python,javascript,identical")


def test_the_command_never_replaces_a_users_directory(tmp_path):
    from typer.testing import CliRunner

    from rmasim.cli import app

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "mine.txt").write_text("keep")
    args = ["conformance", str(ROOT / "scenarios" / "crash.yaml"), "--workers", str(ROOT / "workers"),
            "--out", str(notes)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "is a directory that is not an rmasim report" in result.output
    assert [p.name for p in notes.iterdir()] == ["mine.txt"]
