"""Figures per phase: every per-request checker again, over the requests that arrived in each scenario phase.

A scenario's ``phases: {canary: {start: 3m, end: 14m}}`` gives ``phase.canary.routing.success_rate``,
``phase.canary.version.upload.1.1.share``, ... : the same definitions as the run-wide keys, counted over the
requests that arrived in [start, end) instead of [warmup, duration).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .base import CHECKERS, Checker, Observations, SummaryKey, register_checker

__all__ = ["PhaseFigures"]


@register_checker
class PhaseFigures(Checker):
    name = "phases"
    keys = (
        SummaryKey("phase.*", "a per-request key over the requests that arrived in a phase "
                   "(`phase.<name>.<key>`)", "", "none"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for phase, (start, end) in obs.phases.items():
            window = dataclasses.replace(obs, warmup=start, until=end, phases={})
            for checker in CHECKERS.values():
                if checker.per_request:
                    out.update({f"phase.{phase}.{k}": v for k, v in checker.summarize(window).items()})
        return out
