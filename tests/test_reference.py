"""The generated tables in docs/reference.md and docs/results.md are up to date; the README names the API."""

from __future__ import annotations

from pathlib import Path

import rmasim
from rmasim.report.reference import reference_markdown
from rmasim.report.results import TABLES, rendered_blocks

ROOT = Path(__file__).parent.parent


def test_reference_md_is_current():
    assert (ROOT / "docs" / "reference.md").read_text() == reference_markdown(), (
        "stale: run `python -m rmasim.report.reference`"
    )


def test_results_md_tables_are_current():
    """Each generated block of docs/results.md renders from its committed CSV (docs/results/<table>.csv)."""
    text = (ROOT / "docs" / "results.md").read_text()
    for name, block in rendered_blocks(ROOT).items():
        start, end = f"<!-- results:{name}:start -->", f"<!-- results:{name}:end -->"
        assert f"{start}\n{block}\n{end}" in text, f"stale {name}: run `python -m rmasim.report.results`"
    assert {t.name for t in TABLES} == {p.stem for p in (ROOT / "docs" / "results").glob("*.csv")}


def test_the_readme_is_short_and_its_links_work_in_a_clone():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 250
    import re

    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


def test_public_api_is_documented():
    """Every public name of the package appears in the README, and the README's calls exist."""
    readme = (ROOT / "README.md").read_text()
    for name in rmasim.__all__:
        assert f"rmasim.{name}" in readme, name
    for attribute in ("with_overrides", "summary", "timeseries", "requests", "expectations"):
        assert f".{attribute}" in readme, attribute


def test_knob_values_are_written_as_a_scenario_writes_them():
    """A duration reads as a duration, a fraction as a number, a mapping's default as its value (issue 16)."""
    from rmasim.report.reference import field_text
    from rmasim.scenario import PRESETS, Policy

    fields = Policy.model_fields
    assert field_text(fields["heartbeat_interval"]) == "30s"
    assert field_text(fields["retry_budget_percent"]) == "0.2"
    assert field_text(fields["breaker_failure_rate"]) == "0.5"
    assert field_text(fields["service_timeouts"]) == "{}"
    reference = PRESETS["reference"].policy
    assert field_text(fields["service_timeouts"], reference.service_timeouts) == "{'upload': '2s', 'rag': '10s'}"
    assert "PydanticUndefined" not in reference_markdown()
