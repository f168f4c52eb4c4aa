"""rmasim findings: verdicts computed from the measured values by each claim's written rule."""

from __future__ import annotations

import json
import shlex

import pytest
from typer.testing import CliRunner

from rmasim.cli import app
from rmasim.report.findings import (
    BASELINE,
    CLAIMS,
    FIXES,
    SEED_FIXES,
    Bound,
    Claim,
    NotTested,
    Order,
    findings,
    judge,
    welch_difference,
    write_findings,
)

runner = CliRunner()


def claim(test) -> Claim:
    return Claim("x", "here", "something", "crash", "k", test)


@pytest.mark.parametrize(
    ("test", "values", "verdict"),
    [
        (Bound(BASELINE, "==", 0), {0: 0.0, 1: 0.0, 2: 0.0}, "confirmed"),
        (Bound(BASELINE, "==", 0), {0: 2.0, 1: 2.0, 2: 2.0}, "refuted"),
        (Bound(BASELINE, "==", 0), {0: 0.0, 1: 2.0, 2: 0.0}, "partly"),
        (Bound(BASELINE, ">", 0), {0: 1.0, 1: 1.2, 2: 0.9}, "confirmed"),  # interval 1.03 +- 0.38: above 0
        (Bound(BASELINE, ">", 0), {0: 0.0, 1: 0.0, 2: 3.0}, "partly"),  # one seed only
        (Bound(BASELINE, ">=", 0.99), {0: 0.95, 1: 0.94, 2: 0.96}, "refuted"),  # 0.95 +- 0.025: all below
        (Bound(BASELINE, ">=", 0.99), {0: 0.995, 1: 0.999, 2: 0.9}, "partly"),
        (Bound(BASELINE, ">", 1, some=True), {0: 1.0, 1: 2.0, 2: 0.0}, "confirmed"),  # it can happen: seed 1
        (Bound(BASELINE, ">", 1, some=True), {0: 1.0, 1: 1.0, 2: 0.0}, "partly"),  # not seen is not impossible
    ],
)
def test_a_bound_is_confirmed_refuted_or_partly_from_seeds_and_interval(test, values, verdict):
    assert judge(claim(test), {BASELINE.label: values}).verdict == verdict


def test_an_order_is_welchs_test_at_five_percent():
    """a = (10, 11, 12), b = (8, 9, 10): difference 2, s^2/n = 1/3 each, df = 4, t(0.975, 4) = 2.7764:
    the interval 2 +- 2.7764 * sqrt(2/3) = [-0.267, 4.267] contains 0; a shift of 3 does not."""
    low, high = welch_difference([10, 11, 12], [8, 9, 10])
    assert (low, high) == (pytest.approx(2 - 2.7764 * (2 / 3) ** 0.5, abs=1e-3), pytest.approx(2 + 2.2669, abs=1e-3))
    test = Order(FIXES[4], "<", BASELINE)
    near = {FIXES[4].label: {0: 10.0, 1: 11.0, 2: 12.0}, BASELINE.label: {0: 8.0, 1: 9.0, 2: 10.0}}
    assert judge(claim(test), near).verdict == "partly"
    far = {FIXES[4].label: {0: 13.0, 1: 14.0, 2: 15.0}, BASELINE.label: {0: 8.0, 1: 9.0, 2: 10.0}}
    assert judge(claim(test), far).verdict == "refuted"
    assert judge(claim(Order(BASELINE, "<", FIXES[4])), far).verdict == "confirmed"


def test_a_sentence_nothing_measures_is_not_tested():
    assert judge(claim(NotTested("no definition")), {}).verdict == "not tested"
    assert judge(claim(Bound(BASELINE, ">", 0)), {}).verdict == "not tested"


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """Claims 0 (not tested), 1 and 3 (graceful, Test Case 1 at +90 s) over 2 seeds, written as a report."""
    out = tmp_path_factory.mktemp("findings") / "report"
    chosen = [c for c in CLAIMS if c.number in ("0", "1", "3")]
    result = findings(range(2), out=out, jobs=1, claims=chosen, efforts=())
    write_findings(result, out)
    return result, out


def test_the_reviews_test_case_1_fails_under_its_fixes_without_traffic(measured):
    """Test Case 1 as written: no request is routed, so Fix #2 never runs, and 90 s after the kill (heartbeats
    every 31 s, offline after 90 s) both of the dead worker's index entries (upload, rag) are still there."""
    result, _ = measured
    by_number = {f.claim.number: f for f in result.findings}
    assert by_number["0"].verdict == "not tested"
    assert by_number["1"].verdict == "confirmed"
    three = by_number["3"]
    assert three.verdict == "refuted"
    assert three.values[SEED_FIXES.label] == {0: 2.0, 1: 2.0}


def test_the_report_has_the_table_and_each_replay_reproduces_its_figure(measured, tmp_path):
    _, out = measured
    md = (out / "index.md").read_text()
    assert md.startswith("# The review, tested")
    row = next(line for line in md.splitlines() if line.startswith("| 3 |"))
    assert "| refuted |" in row and "registry.dead_entries.final = 2.0000 ± 0.0000 (seed-fixes" in row
    command = row.split("| ")[-1].rstrip(" |")
    line, expected = command.split("  # ")
    args = shlex.split(line)[2:]
    replay = runner.invoke(app, ["run", *args, "--out", str(tmp_path / "replay"), "-q"])
    assert replay.exit_code in (0, 1), replay.output
    key, value = expected.split(" = ")
    assert json.loads((tmp_path / "replay" / "summary.json").read_text())[key] == float(value)
    assert "<h1>The review, tested</h1>" in (out / "index.html").read_text()
    assert (out / "plots" / "claim-3.png").stat().st_size > 0
    assert not (out / "plots" / "claim-0.png").exists()  # nothing measured, nothing plotted
    assert "| 0 |" in md and "| not tested |" in md


def test_the_command_prints_each_verdict_and_writes_the_report(tmp_path):
    result = runner.invoke(
        app, ["findings", "--claims", "0,1", "--seeds", "1", "--jobs", "1", "--out", str(tmp_path / "f")]
    )
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines() if not line.startswith(("sweep:", "["))]
    assert lines[0][:3] == ["0", "not", "tested"] and lines[1][:2] == ["1", "confirmed"]
    assert (tmp_path / "f" / "index.html").is_file() and (tmp_path / "f" / "runs").is_dir()


def test_unknown_claims_exit_2(tmp_path):
    result = runner.invoke(app, ["findings", "--claims", "3,Z9", "--out", str(tmp_path / "f")])
    assert result.exit_code == 2 and "no claim Z9" in result.output
    assert not (tmp_path / "f").exists()


def test_every_claim_names_a_shipped_scenario_and_a_declared_key():
    from rmasim.observe import declaration_of
    from rmasim.scenario import shipped_scenarios

    shipped = shipped_scenarios()
    assert shipped is not None
    for c in CLAIMS:
        assert (shipped / f"{c.scenario}.yaml").is_file(), c.scenario
        assert declaration_of(c.key) is not None, c.key
    assert [c.number for c in CLAIMS if c.missed] == ["M1", "M2"]
