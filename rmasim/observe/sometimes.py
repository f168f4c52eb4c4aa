"""Sometimes properties: states a campaign must reach at least once for its green result to mean anything.

After Antithesis' ``Sometimes`` assertions and P's liveness monitors (issue 14, Build 1): a search that never
crashed a machine while the sweeper ran, never saw two agents race for the lead or a write refused with 429, has
not tested what those states break, however many runs stayed green. A sometimes property is never violated
(``holds`` is always True: it never fails a run, and never makes ``rmasim run`` exit 1); its verdict is *reached
at T, by these entities*, or *not reached*. A run judges one only when its scenario names it in ``properties``
(and every run of ``rmasim explore`` judges them all, :func:`sometimes_properties`); it then adds
``sometimes.<name>.reached_at`` to the summary: the simulated time it was first reached, or **null** (None) when
it was not, as ``property.<name>.violated_at`` is null when a property holds. A campaign counts, per property,
the runs that reached it (its coverage table, :mod:`rmasim.explore.campaign`).

The six built in, each on what a run records (:class:`~rmasim.observe.base.Observations`):

- ``cached_miss_hides_registration``: the Workers KV answered a read of the registry at an edge (from its cache,
  or a lagging refetch) without a worker the central store had registered at that instant: a ``worker:{id}``
  read as missing, a ``service:{name}`` or ``worker_ids`` list without the id, a ``provider:`` or ``worker:``
  list page without its key. Seen by a watcher of the KV's answers (:attr:`rmasim.runtime.Runtime.kv_watchers`,
  only while this property is judged and until it is first reached), which compares each answer with the
  central value at the same instant (:meth:`rmasim.world.WorkersKV.central_value`);
- ``concurrent_leader_claims``: the coordinator granted the lead (a ``leadership_claimed`` trace) to an agent
  while another agent, live at that instant, had held or believed it held the lead less than one KV propagation
  window (``window``, default ``kv.cache_ttl``) before: two claims of one lead that could not both have seen
  each other's;
- ``registry_write_429``: a write (put or delete) of the registry's Workers KV refused with 429, the 1 write per
  second per key limit (:attr:`~rmasim.observe.base.Observations.kv_refusals`);
- ``purge_during_partition``: the sweeper purged workers while a ``partition`` fault was active (``at`` <= t <
  ``at + duration``);
- ``breaker_opens``: an edge's circuit breaker opened (the ``breaker_opened`` trace);
- ``retried_onto_second_provider``: a request was forwarded to a machine other than its first forward's
  (:attr:`~rmasim.observe.base.Observations.first_retry`, among the requests that finished).

Adding one: subclass :class:`Sometimes` (``kind`` is ``sometimes``), answer :meth:`Sometimes.reached` or
:meth:`Sometimes.not_reached` from :meth:`check`, and decorate with
:func:`~rmasim.observe.properties.register_property`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from ..scenario.properties import PropertySpec
from ..scenario.units import Duration
from ..system.coordinator.keys import PROVIDER_PREFIX, SERVICE_PREFIX, WORKER_IDS, WORKER_PREFIX, parse_provider_key
from .base import Observations
from .leader import leader_changes
from .properties import PROPERTIES, Property, PropertyResult, _owners, _Params, dead_spans, register_property

__all__ = [
    "BreakerOpens",
    "CachedMissHidesRegistration",
    "ConcurrentLeaderClaims",
    "PurgeDuringPartition",
    "RegistryWrite429",
    "RetriedOntoSecondProvider",
    "Sometimes",
    "sometimes_names",
    "sometimes_properties",
]


class Sometimes(Property):
    """Base class of the sometimes properties: never violated, reached or not (see the module docstring)."""

    kind = "sometimes"

    def reached(self, t: float, entities: Iterable[str], detail: str) -> PropertyResult:
        return PropertyResult(self.name, self.kind, None, tuple(dict.fromkeys(entities)), detail, True, t)

    def not_reached(self, detail: str = "not reached") -> PropertyResult:
        return PropertyResult(self.name, self.kind, None, (), detail, True, None)


def sometimes_names() -> list[str]:
    """The names of the registered sometimes properties, in registration order."""
    return [name for name, cls in PROPERTIES.items() if cls.kind == "sometimes"]


def sometimes_properties() -> list[PropertySpec]:
    """Every registered sometimes property with its default parameters, as validated specs (what each run of a
    campaign judges besides its scenario's properties)."""
    from ..scenario.properties import property_specs

    return property_specs([{"name": name} for name in sometimes_names()])


def _machines(obs: Observations, ids: Sequence[str]) -> list[str]:
    owners = _owners(obs)
    return [x for w in ids for x in (w, owners.get(w, "?"))]


@register_property
class CachedMissHidesRegistration(Sometimes):
    name = "cached_miss_hides_registration"
    doc = (
        "An edge's Workers KV answered a registry read without a worker the central store had registered then (a "
        "record read as missing, an index list or list page without it): a stale cache hiding a registration."
    )

    def __init__(self, params: BaseModel, scenario: Any) -> None:
        super().__init__(params, scenario)
        self.kv: Any = None
        self.first: tuple[float, list[str], int, str] | None = None
        """(time, hidden ids, edge, key or prefix) of the first stale read."""

    def watch_kv(self, kv: Any) -> bool:
        """Watch the answers of ``kv`` (True) when it can tell its central values (the Workers KV model)."""
        if not hasattr(kv, "central_value"):
            return False
        self.kv = kv
        return True

    def read(self, edge: int, key: str, value: Any, now: float) -> bool:
        """One value the KV answered at ``edge``; True once reached (no more reads needed)."""
        if key.startswith(WORKER_PREFIX):
            if value is not None or self.kv.central_value(key, now) is None:
                return False
            hidden = [key[len(WORKER_PREFIX) :]]
        elif key.startswith(SERVICE_PREFIX) or key == WORKER_IDS:
            central = self.kv.central_value(key, now)
            if not isinstance(central, list | tuple) or not central:
                return False
            have = set(value) if isinstance(value, list | tuple) else set()
            hidden = [w for w in central if isinstance(w, str) and w not in have]
        else:
            return False
        return self._hit(now, hidden, edge, key)

    def listed(
        self, edge: int, prefix: str, cursor: str | None, names: Sequence[str], next_cursor: str | None, now: float
    ) -> bool:
        """One list page the KV answered at ``edge``; True once reached."""
        provider = prefix.startswith(PROVIDER_PREFIX)
        if not provider and not prefix.startswith(WORKER_PREFIX):
            return False
        upper = names[-1] if next_cursor is not None and names else None  # a full page: keys after it are not due
        got = set(names)
        missing = [
            k
            for k in self.kv.central_keys(prefix, now)
            if (cursor is None or k > cursor) and (upper is None or k <= upper) and k not in got
        ]
        hidden = [parse_provider_key(k)[1] if provider else k[len(WORKER_PREFIX) :] for k in missing]
        return self._hit(now, hidden, edge, f"list {prefix}")

    def _hit(self, now: float, hidden: list[str], edge: int, what: str) -> bool:
        if not hidden:
            return False
        self.first = (now, hidden, edge, what)
        return True

    def check(self, obs: Observations) -> PropertyResult:
        if self.first is None:
            return self.not_reached()
        t, hidden, edge, what = self.first
        shown = ", ".join(hidden)
        return self.reached(
            t,
            [*_machines(obs, hidden), f"edge/{edge}"],
            f"edge {edge} read {what} without {shown}, registered centrally",
        )


class _Window(_Params):
    window: Duration | None = Field(
        default=None,
        description="How close two claims of the lead must be (default: kv.cache_ttl, one KV propagation window).",
    )


def _worker_id(value: object) -> str:
    """A claim's worker id as a string: the baseline grants the lease to whatever JSON a malformed claim carried
    (a list, an object), which is then no agent's id."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


@register_property
class ConcurrentLeaderClaims(Sometimes):
    name = "concurrent_leader_claims"
    doc = (
        "The coordinator granted the lead to an agent while another agent, live then, had held or believed it "
        "held the lead less than `window` (one KV propagation window) before: contended leadership."
    )
    Params = _Window

    def check(self, obs: Observations) -> PropertyResult:
        window = self.params.window  # type: ignore[attr-defined]
        window = float(self.scenario.kv.cache_ttl) if window is None else window
        claims = sorted(
            (t, _worker_id(fields["worker_id"]))
            for t, _node, event, fields in obs.traces
            if event == "leadership_claimed"
        )
        if len(claims) < 2:
            return self.not_reached()
        spans: dict[str, list[tuple[float, float]]] = {}  # who -> [led from, led until]
        for t, who in claims:
            spans.setdefault(who, []).append((t, t))
        beliefs, _live = leader_changes(obs)
        since: dict[str, float] = {}
        for t, delta, who in sorted(beliefs, key=lambda b: (b[0], -b[1])):
            if delta > 0:
                since.setdefault(who, t)
            elif who in since:
                spans.setdefault(who, []).append((since.pop(who), t))
        for who, t in since.items():
            spans.setdefault(who, []).append((t, float("inf")))
        dead = dead_spans(obs)

        def live(who: str, t: float) -> bool:
            return not any(a <= t < b for a, b in dead.get(who, ()))

        for t, who in claims:
            for other, led in spans.items():
                if other == who or not live(other, t):
                    continue
                if any(start <= t and end > t - window for start, end in led):
                    return self.reached(
                        t,
                        _machines(obs, [other, who]),
                        f"{who} granted the lead while {other}, live, led less than {window:g} s before",
                    )
        return self.not_reached()


@register_property
class RegistryWrite429(Sometimes):
    name = "registry_write_429"
    doc = "A write of the registry's Workers KV was refused with 429 (the same key written within 1 s)."

    def check(self, obs: Observations) -> PropertyResult:
        if not obs.kv_refusals:
            return self.not_reached()
        t, key, edge, node = min(obs.kv_refusals, key=lambda r: r[0])
        ids: list[str] = []
        if key.startswith(WORKER_PREFIX):
            ids = [key[len(WORKER_PREFIX) :]]
        elif key.startswith(PROVIDER_PREFIX):
            ids = [parse_provider_key(key)[1]]
        return self.reached(
            t, [key, *_machines(obs, ids), f"edge/{edge}"], f"write of {key} at edge {edge} ({node}) refused with 429"
        )


@register_property
class PurgeDuringPartition(Sometimes):
    name = "purge_during_partition"
    doc = "The sweeper purged workers while a `partition` fault was active."

    def check(self, obs: Observations) -> PropertyResult:
        partitions = [
            (float(f.at), float(f.at) + float(f.duration), str(f.target))
            for f in self.scenario.faults
            if getattr(f, "action", None) == "partition"
        ]
        for t, ids, live in sorted(obs.purges, key=lambda p: p[0]):
            active = [p for p in partitions if p[0] <= t < p[1] and ids]
            if active:
                start, end, target = active[0]
                return self.reached(
                    t,
                    [*_machines(obs, ids), target],
                    f"purged {', '.join(ids)} ({len(live)} live) during the partition of {target} "
                    f"({start:g} s to {end:g} s)",
                )
        return self.not_reached()


@register_property
class BreakerOpens(Sometimes):
    name = "breaker_opens"
    doc = "A circuit breaker of an edge opened (the `breaker_opened` trace)."

    def check(self, obs: Observations) -> PropertyResult:
        for t, node, event, fields in obs.traces:
            if event == "breaker_opened":
                worker_id = fields.get("worker_id", "?")
                return self.reached(
                    t,
                    [*_machines(obs, [worker_id]), node],
                    f"{node} opened its breaker for {worker_id} ({fields.get('service')}) after "
                    f"{fields.get('failures')} failed forwards",
                )
        return self.not_reached()


@register_property
class RetriedOntoSecondProvider(Sometimes):
    name = "retried_onto_second_provider"
    doc = "A request was forwarded to a machine other than its first forward's (a retry onto a second provider)."

    def check(self, obs: Observations) -> PropertyResult:
        if obs.first_retry is None:
            return self.not_reached()
        t, first, second, service = obs.first_retry
        return self.reached(t, [first, second], f"a request for {service} forwarded to {first}, then to {second}")
