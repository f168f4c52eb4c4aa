"""The generated reference tables in docs/reference.md and README.md are up to date."""

from __future__ import annotations

from pathlib import Path

import rmasim
from rmasim.report.reference import README_MARKERS, reference_markdown, summary_key_table

ROOT = Path(__file__).parent.parent


def test_reference_md_is_current():
    assert (ROOT / "docs" / "reference.md").read_text() == reference_markdown(), (
        "stale: run `python -m rmasim.report.reference`"
    )


def test_readme_summary_key_table_is_current():
    readme = (ROOT / "README.md").read_text()
    start, end = README_MARKERS
    assert f"{start}\n{summary_key_table()}\n{end}" in readme, "stale: run `python -m rmasim.report.reference`"


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
