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
