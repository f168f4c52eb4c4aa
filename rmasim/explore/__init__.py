"""Searching for failures (issue 14): swarm fault-search campaigns over a scenario, and their deduplication.

>>> from rmasim.explore import Campaign, explore  # doctest: +SKIP
>>> result = explore(Campaign(load_scenario("scenarios/crash.yaml"), seed=0), "reports/explore", runs=50)
>>> [(f.signature, f.count) for f in result.failures]  # doctest: +SKIP
"""

from .campaign import MAX_RUNS, Campaign, CampaignProgress, ExploreResult, explore, explore_row, schedule_text
from .dedup import Failure, distinct_failures, signature

__all__ = [
    "MAX_RUNS",
    "Campaign",
    "CampaignProgress",
    "ExploreResult",
    "Failure",
    "distinct_failures",
    "explore",
    "explore_row",
    "schedule_text",
    "signature",
]
