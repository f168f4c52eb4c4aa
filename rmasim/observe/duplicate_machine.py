"""The property ``no_duplicate_machine`` (flaw #4): no machine keeps two worker records longer than a bound.

Model: the seed's agent takes a new random id at every start, so a machine that restarts registers again and its
old record stays until something purges it; with a stable identity (Fix #5) the new registration overwrites it.
A machine is known by the tunnel URL every record of it carries (as :mod:`.duplicates` counts them). At each
sample the central store's records are grouped by tunnel URL; a *spell* of a machine begins at the first sample
that shows two or more records of it and ends at the first that shows one or none. The property is violated when
a spell lasts longer than ``duplicate_within``, at the spell's start + ``duplicate_within`` (the start is the
first sample showing it, so the time is at sample resolution and never early), by the machine and its ids.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import BaseModel, Field

from ..scenario.units import PositiveDuration
from .base import Observations, SampleView
from .properties import Property, PropertyResult, _owners, _Params, register_property

__all__ = ["NoDuplicateMachine"]


class _DuplicateWithin(_Params):
    duplicate_within: PositiveDuration = Field(
        default=240.0, description="How long a machine may have two or more worker records in the registry."
    )


@register_property
class NoDuplicateMachine(Property):
    name = "no_duplicate_machine"
    doc = (
        "No machine (known by its tunnel URL) has two or more worker records in the central registry longer than "
        "`duplicate_within` (flaw #4: a restart under a new random id leaves the old record)."
    )
    Params = _DuplicateWithin

    def __init__(self, params: BaseModel, scenario: Any) -> None:
        super().__init__(params, scenario)
        self._since: dict[str, float] = {}
        """Tunnel URL -> first sample of its current spell of duplicates."""
        self.first: tuple[float, tuple[str, ...]] | None = None
        """(violated at, the records' ids) of the earliest breach."""

    def sample(self, view: SampleView) -> None:
        bound = self.params.duplicate_within  # type: ignore[attr-defined]
        ids: dict[str, list[str]] = defaultdict(list)
        for worker_id, record in view.snapshot.workers.items():
            ids[str(record.get("tunnel_url"))].append(worker_id)
        since = {url: self._since.get(url, view.t) for url, records in ids.items() if len(records) >= 2}
        for url, start in since.items():
            at = start + bound
            if view.t > at and (self.first is None or at < self.first[0]):
                self.first = (at, tuple(sorted(ids[url])))
        self._since = since

    def check(self, obs: Observations) -> PropertyResult:
        if self.first is None:
            return self.holds()
        at, ids = self.first
        owners = _owners(obs)
        machine = next((owners[w] for w in ids if w in owners), "?")
        bound = self.params.duplicate_within  # type: ignore[attr-defined]
        return self.violated(
            at, [machine, *ids], f"{machine} has {len(ids)} worker records ({', '.join(ids)}) longer than {bound:g} s"
        )
