"""``rmasim check``: the verdict rule on hand-made tables, the baseline file, exit statuses, and the HTML report
rendered by a headless Chromium (``-m browser``; skipped without ``/usr/bin/chromium``)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from rmasim.cli import app
from rmasim.report.check import (
    MD_LIMIT,
    BaselineError,
    baseline_json,
    check_markdown,
    compare_to_baseline,
    load_baseline,
    verdict,
)

ROOT = Path(__file__).parent.parent.parent
CHROMIUM = Path("/usr/bin/chromium")
runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


# --- the rule ------------------------------------------------------------------------------------------------


def table(rows: list[tuple[str, str, float, float, str]], scenario: str = "s", variant: str = "baseline"):
    """(key, better, mean, half_width, ...) rows -> an interval table with n = 3."""
    return pd.DataFrame(
        [
            {"scenario": scenario, "variant": variant, "key": k, "mean": m, "half_width": hw, "n": 3, "better": b}
            for k, b, m, hw, *_ in rows
        ]
    )


def test_verdicts_of_a_hand_made_table():
    base = table(
        [
            ("a.drop", "higher", 0.90, 0.01, ""),  # falls by 0.2, Welch noise 0.0091: regression
            ("b.rise_in_noise", "lower", 10.0, 1.0, ""),  # rises by 0.8, Welch noise 0.913 (df 4): unchanged
            ("c.fall", "lower", 10.0, 0.5, ""),  # falls by 5: improvement
            ("d.none", "none", 100.0, 0.0, ""),  # doubles, but better is none: unchanged
            ("e.flat_dust", "lower", 1000.0, 0.0, ""),  # + 1e-10 on 1000, no variance: unchanged (tolerance)
            ("f.flat_real", "lower", 2.0, 0.0, ""),  # + 1e-6, no variance: regression
            ("g.gone", "lower", 1.0, 0.0, ""),  # not measured now: missing
            ("h.overlap", "higher", 1.0, 0.3, ""),  # falls by 0.5: the intervals overlap, Welch's (0.33) does not
        ]
    )
    now = table(
        [
            ("a.drop", "higher", 0.70, 0.01, ""),
            ("b.rise_in_noise", "lower", 10.8, 1.0, ""),
            ("c.fall", "lower", 5.0, 0.5, ""),
            ("d.none", "none", 200.0, 0.0, ""),
            ("e.flat_dust", "lower", 1000.0 + 1e-10, 0.0, ""),
            ("f.flat_real", "lower", 2.0 + 1e-6, 0.0, ""),
            ("h.overlap", "higher", 0.5, 0.4, ""),
            ("i.fresh", "lower", 3.0, 0.0, ""),  # no baseline: new
        ]
    )
    result = compare_to_baseline(base, now)
    assert list(zip(result["key"], result["verdict"], strict=True)) == [
        ("a.drop", "regression"),
        ("f.flat_real", "regression"),
        ("h.overlap", "regression"),
        ("c.fall", "improvement"),
        ("i.fresh", "new"),
        ("g.gone", "missing"),
        ("b.rise_in_noise", "unchanged"),
        ("d.none", "unchanged"),
        ("e.flat_dust", "unchanged"),
    ]
    row = result.set_index("key").loc["a.drop"]
    assert row["change"] == pytest.approx(-0.2)
    # Welch: s/sqrt(n) = hw / t(0.975, 2) = 0.01 / 4.3027 on each side, df = 4, t(0.975, 4) = 2.7764
    assert row["noise"] == pytest.approx(2.7764 * math.sqrt(2) * 0.01 / 4.3027 + 1e-9, rel=1e-4)
    assert row["rule"] == "welch" and row["identical"] is None
    assert (row["base_n"], row["now_n"]) == (3, 3)
    assert math.isnan(result.set_index("key").loc["g.gone", "now_mean"])


def test_the_same_key_in_two_scenarios_and_variants_is_kept_apart():
    base = pd.concat([table([("k", "higher", 1.0, 0.0, "")], "s1"), table([("k", "higher", 1.0, 0.0, "")], "s2")])
    now = pd.concat(
        [table([("k", "higher", 1.0, 0.0, "")], "s1"), table([("k", "higher", 0.5, 0.0, "")], "s2", "reference")]
    )
    result = compare_to_baseline(base, now)
    assert list(zip(result["scenario"], result["variant"], result["verdict"], strict=True)) == [
        ("s2", "reference", "new"),
        ("s2", "baseline", "missing"),
        ("s1", "baseline", "unchanged"),
    ]


@pytest.mark.parametrize(
    ("better", "base", "now", "expected"),
    [
        ("higher", 1.0, 0.5, "regression"),
        ("higher", 0.5, 1.0, "improvement"),
        ("lower", 0.5, 1.0, "regression"),
        ("lower", 1.0, 0.5, "improvement"),
        ("none", 1.0, 0.5, "unchanged"),
        ("lower", 0.0, 0.0, "unchanged"),
        ("lower", None, 1.0, "new"),
        ("lower", 1.0, math.nan, "missing"),
        ("lower", None, None, "unchanged"),
    ],
)
def test_verdict_of_one_key(better, base, now, expected):
    assert verdict(better, base, 0.0, now, 0.0) == expected


def test_the_markdown_of_a_large_failing_suite_fits_in_one_github_comment():
    """24 scenarios x 3 presets x 300 keys, a tenth of them regressed: the report stays under 65,536 characters,
    regressions first, and says what it left out."""
    keys = [f"family{k // 10}.key{k}" for k in range(300)]
    base, now = [], []
    for s in range(24):
        for v in ("baseline", "seed-fixes", "reference"):
            rows = [(k, "higher", 1.0, 0.01, "") for k in keys]
            base.append(table(rows, f"scenario_{s:02d}", v))
            now.append(table([(k, b, 0.5 if i % 10 == 0 else m, hw, "") for i, (k, b, m, hw, _) in enumerate(rows)],
                             f"scenario_{s:02d}", v))  # fmt: skip
    comparison = compare_to_baseline(pd.concat(base), pd.concat(now))
    assert (comparison["verdict"] == "regression").sum() == 24 * 3 * 30
    md = check_markdown(comparison, seeds=[0, 1, 2], base_seeds=[0, 1, 2], suite="scenarios")
    assert len(md) <= MD_LIMIT
    assert md.startswith("# Regression check: FAIL") and md.index("## Regressions") < md.index("left out")
    assert "rmasim run scenarios/scenario_00.yaml --seed 0 --set coordinator.preset=baseline" in md
    small = check_markdown(comparison.head(5), seeds=[0], base_seeds=[0], suite="scenarios")
    assert "left out" not in small


# --- the baseline file ---------------------------------------------------------------------------------------


def test_baseline_round_trip(tmp_path):
    now = table([("a", "higher", 0.5, 0.1, ""), ("b", "none", 3.0, 0.0, "")])
    now = pd.concat([now, table([("c", "lower", math.nan, math.nan, "")]).assign(n=0)], ignore_index=True)
    path = tmp_path / "baseline.json"
    path.write_text(baseline_json(now, [0, 1, 2]))
    loaded = load_baseline(path)
    assert loaded.seeds == (0, 1, 2)
    common = {"scenario": "s", "variant": "baseline", "n": 3}
    assert loaded.table.to_dict("records") == [
        {**common, "key": "a", "mean": 0.5, "half_width": 0.1, "better": "higher", "values": None},
        {**common, "key": "b", "mean": 3.0, "half_width": 0.0, "better": "none", "values": None},
    ]


def seeded(rows: list[tuple[str, str, dict[int, float]]], variant: str = "baseline") -> pd.DataFrame:
    """(key, better, {seed: value}) rows -> an interval table with per-seed values (mean over the seeds)."""
    return pd.DataFrame(
        [
            {"scenario": "s", "variant": variant, "key": k, "mean": sum(v.values()) / len(v), "half_width": 0.5,
             "n": len(v), "better": b, "values": v}
            for k, b, v in rows
        ]
    )  # fmt: skip


def test_runs_paired_by_seed_catch_a_shift_too_small_for_the_intervals():
    """The same seeds before and after: a shift every seed shows is a move however small; a change that goes
    both ways is not; a key equal in every seed is identical."""
    base = seeded(
        [
            ("shift", "lower", {0: 1.0, 1: 2.0, 2: 3.0}),  # every seed +0.01: regression (the 0.5 hw would hide it)
            ("both_ways", "lower", {0: 1.0, 1: 2.0, 2: 3.0}),  # d = +0.1, -0.1, +0.05: mean 0.0167, noise 0.24
            ("same", "higher", {0: 1.0, 1: 2.0, 2: 3.0}),
            ("better", "higher", {0: 1.0, 1: 2.0, 2: 3.0}),  # +0.3, +0.2, +0.4: mean 0.3, noise 0.248
        ]
    )
    now = seeded(
        [
            ("shift", "lower", {0: 1.01, 1: 2.01, 2: 3.01}),
            ("both_ways", "lower", {0: 1.1, 1: 1.9, 2: 3.05}),
            ("same", "higher", {0: 1.0, 1: 2.0, 2: 3.0}),
            ("better", "higher", {0: 1.3, 1: 2.2, 2: 3.4}),
        ]
    )
    result = compare_to_baseline(base, now).set_index("key")
    assert dict(result["verdict"]) == {
        "shift": "regression",
        "better": "improvement",
        "both_ways": "unchanged",
        "same": "unchanged",
    }
    assert set(result["rule"]) == {"paired"}
    assert list(result.loc[["shift", "both_ways", "same"], "identical"]) == [False, False, True]
    # d = (0.1, -0.1, 0.05): sd 0.1041, t(0.975, 2) = 4.3027, noise = 4.3027 * 0.1041 / sqrt(3) = 0.2586
    assert result.loc["both_ways", "noise"] == pytest.approx(4.3027 * 0.104083 / math.sqrt(3), rel=1e-4)
    assert result.loc["both_ways", "worst_seed"] == 0  # lower is better: +0.1 at seed 0 is its worst move
    assert result.loc["better", "worst_seed"] == 1  # the smallest gain


def test_a_baseline_keeps_each_seeds_value_and_refuses_a_hand_edited_mean(tmp_path):
    now = seeded([("a", "higher", {0: 1.0, 2: 3.0})])
    path = tmp_path / "baseline.json"
    path.write_text(baseline_json(now, [0, 1, 2]))
    entry = json.loads(path.read_text())["entries"][0]
    assert entry["values"] == [1.0, None, 3.0] and entry["mean"] == 2.0
    assert load_baseline(path).table.loc[0, "values"] == {0: 1.0, 2: 3.0}
    data = json.loads(path.read_text())
    data["entries"][0]["mean"] = 2.5
    path.write_text(json.dumps(data))
    with pytest.raises(BaselineError, match=r"entries\.0\.values: their mean 2\.0 is not the entry's mean 2\.5"):
        load_baseline(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "no such baseline file"),
        ("{not json", ":1:2: not valid JSON"),
        ('{"format": 1, "variant_by": "coordinator.preset", "seeds": [0]}', "entries: Field required"),
        ('{"format": 3, "variant_by": "coordinator.preset", "seeds": [0], "entries": []}', "format: "),
        (
            '{"format": 1, "variant_by": "coordinator.preset", "seeds": [0], "entries": [{"scenario": "s",'
            ' "variant": "v", "key": "k", "mean": "x", "half_width": 0, "n": 1, "better": "up"}]}',
            "entries.0.mean: ",
        ),
    ],
)
def test_bad_baseline_files_raise_one_line(tmp_path, text, message):
    path = tmp_path / "baseline.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(BaselineError) as caught:
        load_baseline(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


# --- the command ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """Two short scenarios and a fresh baseline of them (3 seeds)."""
    root = tmp_path_factory.mktemp("check")
    suite = root / "suite"
    suite.mkdir()
    text = (ROOT / "scenarios" / "routing_resilience.yaml").read_text()
    (suite / "routing_resilience.yaml").write_text(text.replace("duration: 15m", "duration: 4m"))
    text = (ROOT / "scenarios" / "graceful.yaml").read_text()
    (suite / "graceful.yaml").write_text(text.replace("duration: 20m", "duration: 4m").replace("at: 5m", "at: 2m"))
    baseline = root / "baseline.json"
    result = invoke("check", "--suite", suite, "--seeds", 3, "--jobs", 1, "--baseline", baseline, "--update-baseline")
    assert result.exit_code == 0, result.output
    return suite, baseline


def test_a_fresh_baseline_passes(suite, tmp_path):
    path, baseline = suite
    out = tmp_path / "ci"
    result = invoke("check", "--suite", path, "--baseline", baseline, "--out", out, "--jobs", 1)
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output
    assert {p.name for p in out.iterdir()} >= {"index.md", "index.html", "plots", "comparison.csv"}
    verdicts = pd.read_csv(out / "comparison.csv")["verdict"]
    assert set(verdicts) == {"unchanged"}
    data = json.loads(baseline.read_text())
    assert data["seeds"] == [0, 1, 2]
    assert {e["scenario"] for e in data["entries"]} == {"graceful", "routing_resilience"}


def test_a_baseline_better_than_reality_fails_and_names_the_key(suite, tmp_path):
    path, baseline = suite
    data = json.loads(baseline.read_text())
    for entry in data["entries"]:
        if (entry["scenario"], entry["variant"], entry["key"]) == (
            "routing_resilience",
            "baseline",
            "routing.success_rate",
        ):
            entry["mean"] += 0.2
            entry["values"] = [v + 0.2 for v in entry["values"]]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    out = tmp_path / "ci"
    result = invoke("check", "--suite", path, "--baseline", tampered, "--out", out, "--jobs", 1)
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output
    md = (out / "index.md").read_text()
    assert md.startswith("# Regression check: FAIL")
    section = md.split("## Regressions", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| **")]
    assert len(rows) == 1
    assert re.match(r"^\| \*\*routing_resilience\*\* \| \*\*baseline\*\* \| \*\*routing\.success_rate\*\* \|", rows[0])
    assert "regression" in rows[0]
    # its reproducer replays the seed that moved furthest, and gives that seed's value
    command = re.search(r"`(rmasim run [^`]+)`", rows[0]).group(1).split()
    assert command[2] == str(path / "routing_resilience.yaml") and command[5:] == [
        "--set",
        "coordinator.preset=baseline",
    ]
    replay = invoke(*command[1:], "--out", tmp_path / "replay", "-q")
    assert replay.exit_code in (0, 1), replay.output
    replayed = json.loads((tmp_path / "replay" / "summary.json").read_text())["routing.success_rate"]
    runs = pd.read_parquet(out / "results.parquet")
    seed = int(command[4])
    mine = runs[(runs["scenario"] == "routing_resilience") & (runs["variant"] == "baseline") & (runs["seed"] == seed)]
    assert replayed == mine["routing.success_rate"].item()
    assert "## Scenario x preset" in md and "| routing_resilience | FAIL (1) | pass | pass |" in md
    html = (out / "index.html").read_text()
    assert '<tr class="regression">' in html
    # one plot per scenario and variant: each file runs under baseline, seed-fixes and reference (its expect names them)
    assert html.count('src="data:image/png;base64,') == 6

    # --update-baseline rewrites the tampered file from this run; it then passes
    result = invoke("check", "--suite", path, "--baseline", tampered, "--jobs", 1, "--update-baseline")
    assert result.exit_code == 0, result.output
    assert tampered.read_text() == baseline.read_text()
    result = invoke("check", "--suite", path, "--baseline", tampered, "--out", out, "--jobs", 1)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("content", [None, "{}", "[1, 2"])
def test_a_missing_or_malformed_baseline_exits_2_with_one_line(suite, tmp_path, content):
    path, _ = suite
    baseline = tmp_path / "baseline.json"
    if content is not None:
        baseline.write_text(content)
    out = tmp_path / "ci"
    result = invoke("check", "--suite", path, "--baseline", baseline, "--out", out, "--jobs", 1)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(baseline)), result.output
    assert not out.exists()


def test_an_empty_suite_exits_2(tmp_path):
    result = invoke("check", "--suite", tmp_path, "--baseline", tmp_path / "b.json", "--out", tmp_path / "ci")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"{tmp_path}: --suite: no *.yaml scenario files in it"]


# --- the page in a browser -----------------------------------------------------------------------------------


def dump_dom(page: Path, profile: Path) -> str:
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")


@pytest.mark.browser
@needs_chromium
def test_the_report_renders_in_chromium(suite, tmp_path):
    path, baseline = suite
    data = json.loads(baseline.read_text())
    for entry in data["entries"]:  # something moves, so the page has a non-empty regressions table too
        if (entry["scenario"], entry["variant"], entry["key"]) == ("graceful", "baseline", "routing.success_rate"):
            entry["mean"] += 1.0
            entry["values"] = [v + 1.0 for v in entry["values"]]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    out = tmp_path / "ci"
    invoke("check", "--suite", path, "--baseline", tampered, "--out", out, "--jobs", 1)
    dom = dump_dom(out / "index.html", tmp_path / "profile")
    assert re.search(r'<body[^>]*data-rendered="ok"', dom), dom[:500]
    ids = re.findall(r'<table id="([^"]+)"', dom)
    variants = ("baseline", "reference", "seed-fixes")
    # the regression's group shows its moved key, and every group its other keys collapsed
    groups = [f"{s}--{v}" for s in ("graceful", "routing_resilience") for v in variants]
    assert ids == ["regressions", "matrix", "t-graceful--baseline", *(f"u-{g}" for g in groups)]
    assert dom.count("<details>") == len(groups)
    assert dom.count("<img ") == 6


@pytest.mark.browser
@needs_chromium
@pytest.mark.skipif(not os.environ.get("RMASIM_CHECK_REPORT"), reason="RMASIM_CHECK_REPORT is not set (CI sets it)")
def test_the_ci_report_renders_in_chromium(tmp_path):
    """The report ``rmasim check`` left in CI (``RMASIM_CHECK_REPORT=reports/ci/index.html``)."""
    page = Path(os.environ["RMASIM_CHECK_REPORT"])
    dom = dump_dom(page, tmp_path / "profile")
    assert re.search(r'<body[^>]*data-rendered="ok"', dom), dom[:500]
    assert len(re.findall(r"<table ", dom)) == len(re.findall(r"<table ", page.read_text())) >= 2


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<p>no images</p>", "ok"),
        ('<img alt="x" src="data:image/png;base64,AAAA">', "broken"),
        ("<script>undefinedFunction();</script>", "error"),
    ],
)
def test_the_render_probe_tells_ok_broken_and_error_apart(tmp_path, body, expected):
    from rmasim.report.html import page

    path = tmp_path / "page.html"
    path.write_text(page("probe", body))
    dom = dump_dom(path, tmp_path / "profile")
    assert re.search(rf'<body[^>]*data-rendered="{expected}"', dom), dom[:500]
