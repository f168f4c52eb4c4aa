"""Searching for failures (issue 14): swarm fault-search campaigns over a scenario, their deduplication,
shrinking a failing run to a small scenario, and the self-check of the shrunk files in a fresh process.

>>> from rmasim.explore import Campaign, explore  # doctest: +SKIP
>>> result = explore(Campaign(load_scenario("scenarios/crash.yaml"), seed=0), "reports/explore", runs=50,
...                  shrink=True)
>>> [(s.signature, s.file) for s in result.distinct_shrunk], [c.ok for c in result.checks]  # doctest: +SKIP
"""

from .campaign import (
    MAX_RUNS,
    Campaign,
    CampaignProgress,
    ExploreResult,
    ShrunkFailure,
    coverage_table,
    explore,
    explore_row,
    schedule_text,
    shrink_failures,
)
from .dedup import Failure, distinct_failures, signature
from .selfcheck import Replay, self_check
from .shrink import MAX_SHRINK_RUNS, Shrunk, Violation, shrink, shrunk_yaml

__all__ = [
    "MAX_RUNS",
    "MAX_SHRINK_RUNS",
    "Campaign",
    "CampaignProgress",
    "ExploreResult",
    "Failure",
    "Replay",
    "Shrunk",
    "ShrunkFailure",
    "Violation",
    "coverage_table",
    "distinct_failures",
    "explore",
    "explore_row",
    "schedule_text",
    "self_check",
    "shrink",
    "shrink_failures",
    "shrunk_yaml",
    "signature",
]
