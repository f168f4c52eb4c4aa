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
    BaselineError,
    baseline_json,
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
            ("a.drop", "higher", 0.90, 0.01, ""),  # falls by 0.2, noise ~0.014: regression
            ("b.rise_in_noise", "lower", 10.0, 1.0, ""),  # rises by 1.0, noise sqrt(2): unchanged
            ("c.fall", "lower", 10.0, 0.5, ""),  # falls by 5: improvement
            ("d.none", "none", 100.0, 0.0, ""),  # doubles, but better is none: unchanged
            ("e.flat_dust", "lower", 1000.0, 0.0, ""),  # + 1e-10 on 1000, no variance: unchanged (tolerance)
            ("f.flat_real", "lower", 2.0, 0.0, ""),  # + 1e-6, no variance: regression
            ("g.gone", "lower", 1.0, 0.0, ""),  # not measured now: missing
            ("h.edge", "higher", 1.0, 0.3, ""),  # falls by exactly the noise (0.5): unchanged
        ]
    )
    now = table(
        [
            ("a.drop", "higher", 0.70, 0.01, ""),
            ("b.rise_in_noise", "lower", 11.0, 1.0, ""),
            ("c.fall", "lower", 5.0, 0.5, ""),
            ("d.none", "none", 200.0, 0.0, ""),
            ("e.flat_dust", "lower", 1000.0 + 1e-10, 0.0, ""),
            ("f.flat_real", "lower", 2.0 + 1e-6, 0.0, ""),
            ("h.edge", "higher", 0.5, 0.4, ""),
            ("i.fresh", "lower", 3.0, 0.0, ""),  # no baseline: new
        ]
    )
    result = compare_to_baseline(base, now)
    assert list(zip(result["key"], result["verdict"], strict=True)) == [
        ("a.drop", "regression"),
        ("f.flat_real", "regression"),
        ("c.fall", "improvement"),
        ("i.fresh", "new"),
        ("g.gone", "missing"),
        ("b.rise_in_noise", "unchanged"),
        ("d.none", "unchanged"),
        ("e.flat_dust", "unchanged"),
        ("h.edge", "unchanged"),
    ]
    row = result.set_index("key").loc["a.drop"]
    assert row["change"] == pytest.approx(-0.2)
    assert row["noise"] == pytest.approx(math.hypot(0.01, 0.01) + 1e-9)
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
        {**common, "key": "a", "mean": 0.5, "half_width": 0.1, "better": "higher"},
        {**common, "key": "b", "mean": 3.0, "half_width": 0.0, "better": "none"},
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "no such baseline file"),
        ("{not json", ":1:2: not valid JSON"),
        ('{"format": 1, "variant_by": "coordinator.preset", "seeds": [0]}', "entries: Field required"),
        ('{"format": 2, "variant_by": "coordinator.preset", "seeds": [0], "entries": []}', "format: "),
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
    data["entries"][0]["mean"] += 1.0  # something moves, so the page has a non-empty regressions table too
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    out = tmp_path / "ci"
    invoke("check", "--suite", path, "--baseline", tampered, "--out", out, "--jobs", 1)
    dom = dump_dom(out / "index.html", tmp_path / "profile")
    assert re.search(r'<body[^>]*data-rendered="ok"', dom), dom[:500]
    ids = re.findall(r'<table id="([^"]+)"', dom)
    variants = ("baseline", "reference", "seed-fixes")
    assert ids == ["regressions", *(f"t-{s}--{v}" for s in ("graceful", "routing_resilience") for v in variants)]
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
