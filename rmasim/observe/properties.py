"""Properties: named statements about a whole run that either hold or are violated at a time, by some entities.

A checker measures (``pollution.max`` is 0.25); a property judges (``no_dead_in_index`` is violated at 340 s, by
worker ``w-3`` of ``gpu/1``). A scenario names the properties it wants in its ``properties`` list, with their
parameters (:mod:`rmasim.scenario.properties`); :data:`DEFAULT_PROPERTIES` is the built-in set a caller may ask
for (the fault search does), never used behind a scenario's back. Three kinds:

- **safety**, checked all through the run (from time 0, warmup included) on what the checkers observe: the truth
  of which machines are up, the registry of the central store at each sample, the agents' leader beliefs, the
  requests' forwards;
- **liveness**, checked from the time the last fault heals plus a settle time to the end of the run: what must
  be true once the system had the time to repair itself;
- **sometimes** (:mod:`rmasim.observe.sometimes`), states a campaign must reach at least once for its green result
  to mean anything: never violated, they are *reached* at a time, by some entities, or not reached.

Time resolution. The registry is read at each sample (``sample_every``); a property that reads it reports the
instant its bound was exceeded (a crash time + ``purge_within``) when the samples on both sides of that instant
show the violation, and otherwise the first sample that shows it. Leader beliefs and machine events are exact.

To add a property: subclass :class:`Property`, set ``name``, ``kind``, ``doc`` and ``Params`` (a pydantic model
of its parameters, ``extra="forbid"``; durations as :data:`rmasim.scenario.Duration`), override :meth:`check`
(and :meth:`sample` when it needs the registry over time), and decorate the class with :func:`register_property`.
The scenario's validation takes the names and the parameters from :data:`PROPERTIES`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ..registry import Registry
from ..scenario.properties import PropertySpec, register_property_lookup
from ..scenario.units import Duration, PositiveDuration
from .base import Observations, SampleView
from .leader import leader_changes

__all__ = [
    "DEFAULT_PROPERTIES",
    "PROPERTIES",
    "Property",
    "PropertyResult",
    "build_properties",
    "check_properties",
    "default_properties",
    "last_heal",
    "register_property",
    "settle_time",
    "success_rate_dropped",
]

_ENDS = ("crash", "stop", "exit")


@dataclass(frozen=True, slots=True)
class PropertyResult:
    """How one property fared: ``violated_at`` (simulated seconds) and ``entities`` (worker ids, machine names) of
    its first violation, or None and () when it holds. ``checked`` is False for a liveness property whose window
    (heal + settle) starts after the end of the run: nothing was judged. A *sometimes* property always holds: its
    ``reached_at`` (None: not reached) and ``entities`` say when and by whom its state was first reached."""

    name: str
    kind: str
    violated_at: float | None
    entities: tuple[str, ...] = ()
    detail: str = ""
    checked: bool = True
    reached_at: float | None = None

    @property
    def holds(self) -> bool:
        return self.violated_at is None

    @property
    def summary_key(self) -> str:
        if self.kind == "sometimes":
            return f"sometimes.{self.name}.reached_at"
        return f"property.{self.name}.violated_at"

    @property
    def summary_value(self) -> float | None:
        """The value of :attr:`summary_key`: ``reached_at`` for a sometimes property, else ``violated_at``."""
        return self.reached_at if self.kind == "sometimes" else self.violated_at


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Property:
    """Base class of properties; see the module docstring for how to extend it.

    One instance judges one run: it is built with its validated ``params`` and the run's scenario, sees every
    sample through :meth:`sample`, and gives its verdict on the whole record in :meth:`check`."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "safety"
    doc: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = _Params

    def __init__(self, params: BaseModel, scenario: Any) -> None:
        self.params = params
        self.scenario = scenario

    def sample(self, view: SampleView) -> None:
        """Record what this property needs of one sample (default: nothing)."""

    def request_windows(self) -> list[tuple[float, float]]:
        """Windows of arrival time ``(start, end)`` whose request totals :meth:`check` reads with
        ``obs.requests.totals(start, end)`` (default: none). Known before the run, so that a run that keeps
        totals instead of rows (``request_records: false``) keeps these too."""
        return []

    def check(self, obs: Observations) -> PropertyResult:
        raise NotImplementedError

    def holds(self, detail: str = "") -> PropertyResult:
        return PropertyResult(self.name, self.kind, None, (), detail)

    def violated(self, t: float, entities: Iterable[str], detail: str) -> PropertyResult:
        return PropertyResult(self.name, self.kind, t, tuple(dict.fromkeys(entities)), detail)


PROPERTIES: Registry[type[Property]] = Registry("property")

KINDS = ("safety", "liveness", "sometimes")
"""The kinds of property; see the module docstring."""


def register_property(cls: type[Property]) -> type[Property]:
    """Class decorator: register a property class under its ``name`` (duplicates are an error)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.kind not in KINDS:
        raise ValueError(f"property {cls.name!r}: kind must be one of {', '.join(KINDS)}, not {cls.kind!r}")
    PROPERTIES.add(cls.name, cls)
    return cls


register_property_lookup(lambda name: PROPERTIES[name].Params if name in PROPERTIES else None, lambda: PROPERTIES)


# --- helpers on the record --------------------------------------------------------------------------------


def _owners(obs: Observations) -> dict[str, str]:
    """Worker id -> machine name, from the machines' events."""
    return {w: e.machine for e in obs.events for w in e.worker_ids}


def dead_spans(obs: Observations) -> dict[str, list[tuple[float, float]]]:
    """Worker id -> [dead from, dead until) spans: from the end (crash, stop) of the incarnation that held it until
    a later incarnation is issued the same id again (a stable identity), or forever."""
    spans: dict[str, list[tuple[float, float]]] = {}
    open_since: dict[str, float] = {}
    for e in sorted(obs.events, key=lambda e: e.t):
        for worker_id in e.worker_ids:
            if e.kind in _ENDS:
                open_since.setdefault(worker_id, e.t)
            elif e.kind == "register" and worker_id in open_since:
                spans.setdefault(worker_id, []).append((open_since.pop(worker_id), e.t))
    for worker_id, since in open_since.items():
        spans.setdefault(worker_id, []).append((since, float("inf")))
    return spans


def last_heal(faults: Sequence[Any]) -> float:
    """When the last fault of a ``faults`` list is over: ``at`` plus its ``duration``, ``down_for``, ``within`` or
    ``every`` x ``times`` (the longest it has); 0 with no fault. An instant fault (a crash) is over at ``at``."""
    end = 0.0
    for spec in faults:
        length = 0.0
        for name in ("duration", "down_for", "within"):
            value = getattr(spec, name, None)
            if isinstance(value, int | float):
                length = max(length, float(value))
        every, times = getattr(spec, "every", None), getattr(spec, "times", None)
        if isinstance(every, int | float) and isinstance(times, int):
            length = max(length, every * times)
        end = max(end, spec.at + length)
    return end


def settle_time(scenario: Any) -> float:
    """The default settle time, from the knobs: a silent worker is judged stale after the longer of
    ``offline_after`` and ``purge_after``, found by the next sweep (``sweep_interval``), and what it left is seen
    once edge caches expire (``kv.cache_ttl``); one more ``heartbeat_interval`` lets survivors re-register."""
    policy = scenario.policy
    return (
        max(policy.offline_after, policy.purge_after)
        + policy.sweep_interval
        + scenario.kv.cache_ttl
        + policy.heartbeat_interval
    )


# --- safety -----------------------------------------------------------------------------------------------


class _PurgeWithin(_Params):
    purge_within: PositiveDuration = Field(
        default=240.0, description="How long a dead worker may stay listed in a service index."
    )


@register_property
class NoDeadInIndex(Property):
    name = "no_dead_in_index"
    doc = "No service index lists a worker dead (crashed, stopped) longer than `purge_within`."
    Params = _PurgeWithin

    def check(self, obs: Observations) -> PropertyResult:
        bound = self.params.purge_within  # type: ignore[attr-defined]
        changes = obs.index_changes
        change_times = [t for t, _ in changes]
        sample_times = [row["t"] for row in obs.samples]
        owners = _owners(obs)
        first: tuple[float, list[str]] | None = None

        def listed_at(t: float, worker_id: str) -> bool:
            k = bisect_right(change_times, t) - 1
            return k >= 0 and worker_id in changes[k][1]

        for worker_id, spans in dead_spans(obs).items():
            for since, until in spans:
                exceeded = since + bound
                if exceeded >= until or not sample_times or exceeded >= sample_times[-1]:
                    continue
                k = bisect_right(sample_times, exceeded)  # the first sample after the bound
                hit = None
                if listed_at(exceeded, worker_id) and listed_at(sample_times[k], worker_id):
                    hit = exceeded
                else:  # the first later sample (before the id is live again) that lists it
                    for t in sample_times[k:]:
                        if t >= until:
                            break
                        if listed_at(t, worker_id):
                            hit = t
                            break
                if hit is None:
                    continue
                if first is None or hit < first[0]:
                    first = (hit, [worker_id])
                elif hit == first[0]:
                    first[1].append(worker_id)
        if first is None:
            return self.holds()
        t, ids = first
        entities = [x for w in sorted(ids) for x in (w, owners.get(w, "?"))]
        return self.violated(t, entities, f"{', '.join(sorted(ids))} listed, dead longer than {bound:g} s")


@register_property
class SingleLeader(Property):
    name = "single_leader"
    doc = (
        "At no true instant do two agents believe they lead (a positive-length overlap of their beliefs). With "
        "`leader_duty` the detail counts the consequence: duty writes from a stale leader that were accepted."
    )

    def check(self, obs: Observations) -> PropertyResult:
        beliefs, _live = leader_changes(obs)
        found = first_overlap(beliefs, obs.duration)
        if found is None:
            return self.holds()
        t, who = found
        owners = _owners(obs)
        entities = [x for w in who for x in (w, owners.get(w, "?"))]
        return self.violated(t, entities, f"{len(who)} agents believe they lead: {', '.join(who)}{_duty(obs)}")


def _duty(obs: Observations) -> str:
    """The visible consequence of two leaders, with ``leader_duty``: how many duty writes from a leader that was no
    longer the current holder were accepted (:mod:`.duty`)."""
    from .duty import duty_writes

    if not obs.extra.get("leader_duty"):
        return ""
    stale = [w for w in duty_writes(obs.traces) if w.stale]
    if not stale:
        return "; no duty write from a stale leader was accepted"
    first, n = stale[0], len(stale)
    writes = f"{n} duty write{'s' if n > 1 else ''} from a stale leader {'were' if n > 1 else 'was'} accepted"
    return f"; {writes} (first at {first.t:.6g} s by {first.worker_id})"


def first_overlap(beliefs: Sequence[tuple[float, int, str]], end: float) -> tuple[float, list[str]] | None:
    """The first instant (before ``end``) from which two or more believe for a positive time, and who; changes
    at one instant apply together, beginnings before ends."""
    changes = sorted((t, -d, w) for t, d, w in beliefs)
    believers: set[str] = set()
    i = 0
    while i < len(changes):
        t = changes[i][0]
        if t >= end:
            break
        while i < len(changes) and changes[i][0] == t:
            _, neg, who = changes[i]
            if neg < 0:
                believers.add(who)
            else:
                believers.discard(who)
            i += 1
        t_next = changes[i][0] if i < len(changes) else end
        if len(believers) >= 2 and min(t_next, end) > t:
            return t, sorted(believers)
    return None


class _VisibleWithin(_Params):
    visible_within: PositiveDuration = Field(
        default=60.0, description="How long a live, registered provider may be missing from its service index."
    )


@register_property
class NoMissingProvider(Property):
    name = "no_missing_provider"
    doc = (
        "No live provider (its machine serves the service, its agent registered it) is missing from the index "
        "longer than `visible_within` (a lost update). A worker the sweeper purged counts again once it registers."
    )
    Params = _VisibleWithin

    def __init__(self, params: BaseModel, scenario: Any) -> None:
        super().__init__(params, scenario)
        self._spells: dict[tuple[str, str], tuple[float, bool, float]] = {}
        """(id, service) -> (missing since, reported, registration time) of each provider missing now."""
        self._seen: set[tuple[str, str, float]] = set()
        """(id, service, registration time) seen listed after that registration."""
        self.candidates: list[tuple[float, str, str, float]] = []
        """(violated at, id, service, registration time): the first breach of each spell of absence."""

    def sample(self, view: SampleView) -> None:
        bound = self.params.visible_within  # type: ignore[attr-defined]
        spells: dict[tuple[str, str], tuple[float, bool, float]] = {}
        for worker_id, services in view.serving.items():
            registered = view.registered.get(worker_id)
            if registered is None:
                continue
            t_reg, names = registered
            for service in services & names:
                if worker_id in view.snapshot.index.get(service, ()):
                    self._seen.add((worker_id, service, t_reg))
                    continue
                key = (worker_id, service)
                spell = self._spells.get(key)
                if spell is None or spell[2] != t_reg:  # a new spell: missing since its registration, or now
                    spell = (view.t if (worker_id, service, t_reg) in self._seen else t_reg, False, t_reg)
                since, reported, _ = spell
                if not reported and view.t - since > bound:
                    self.candidates.append((since + bound, worker_id, service, t_reg))
                    spell = (since, True, t_reg)
                spells[key] = spell
        self._spells = spells

    def check(self, obs: Observations) -> PropertyResult:
        owners = _owners(obs)
        purged: dict[str, list[float]] = {}
        for t, ids, _live in obs.purges:
            for worker_id in ids:
                purged.setdefault(worker_id, []).append(t)
        # a provider the sweeper purged after it registered is silent, not lost, until it registers again
        valid = [c for c in self.candidates if not any(c[3] < t <= c[0] for t in purged.get(c[1], ()))]
        if not valid:
            return self.holds()
        t = min(c[0] for c in valid)
        hits = sorted({(c[1], c[2]) for c in valid if c[0] == t})
        entities = [x for w, _ in hits for x in (w, owners.get(w, "?"))]
        shown = ", ".join(f"{w} ({s})" for w, s in hits)
        bound = self.params.visible_within  # type: ignore[attr-defined]
        return self.violated(t, entities, f"{shown} missing from the index longer than {bound:g} s")


class _RouteWithin(_Params):
    route_within: PositiveDuration = Field(
        default=60.0, description="How long after a machine died requests may still be forwarded to it."
    )


@register_property
class NoRouteToDead(Property):
    name = "no_route_to_dead"
    doc = (
        "No request is forwarded to a machine dead (crashed, stopped) longer than `route_within`. Judged on each "
        "request's last forward, at its arrival time (the forward is no earlier)."
    )
    Params = _RouteWithin

    def check(self, obs: Observations) -> PropertyResult:
        bound = self.params.route_within  # type: ignore[attr-defined]
        forwards = obs.requests.forwards_to_down()
        if not forwards:
            return self.holds()
        deaths: dict[str, tuple[list[float], list[float | None], list[tuple[str, ...]]]] = {}
        for e in sorted(obs.events, key=lambda e: e.t):
            ends, starts, ids = deaths.setdefault(e.machine, ([], [], []))
            if e.kind in ("crash", "stop"):
                ends.append(e.t)
                starts.append(None)
                ids.append(e.worker_ids)
            elif e.kind == "start" and starts and starts[-1] is None:
                starts[-1] = e.t
        first: tuple[float, str, tuple[str, ...]] | None = None
        for t, machine in forwards:
            record = deaths.get(machine)
            if record is None:
                continue
            ends, starts, ids = record
            k = bisect_right(ends, t) - 1
            restarted = starts[k] if k >= 0 else None
            if k < 0 or (restarted is not None and restarted <= t) or t - ends[k] <= bound:
                continue
            if first is None or t < first[0]:
                first = (t, machine, ids[k])
        if first is None:
            return self.holds()
        t, machine, dead_ids = first
        return self.violated(t, [machine, *dead_ids], f"request forwarded to {machine}, dead longer than {bound:g} s")


# --- liveness ---------------------------------------------------------------------------------------------


class _Settle(_Params):
    settle: Duration | None = Field(
        default=None,
        description="Time after the last fault heals before the system must have settled (default: from the "
        "knobs, see settle_time).",
    )
    success_tolerance: float = Field(
        default=0.02, ge=0.0, le=1.0,
        description="How far below its pre-fault level the settled success rate may be (a difference of rates).",
    )  # fmt: skip
    success_alpha: float = Field(
        default=0.01, gt=0.0, lt=1.0, description="Significance level of the success-rate test (one-sided)."
    )


@register_property
class Settles(Property):
    name = "settles"
    kind = "liveness"
    doc = (
        "From the last fault's heal + `settle` to the end: no dead index entry, no live provider missing, no "
        "duplicate worker record, exactly one agent believing it leads while any is up, and the success rate "
        "back to its pre-fault level (not significantly lower, at `success_alpha`, than the rate before the "
        "first fault minus `success_tolerance`)."
    )
    Params = _Settle

    def __init__(self, params: BaseModel, scenario: Any) -> None:
        super().__init__(params, scenario)
        settle = params.settle  # type: ignore[attr-defined]
        self.settle = settle_time(scenario) if settle is None else settle
        self.start = last_heal(scenario.faults) + self.settle
        self.first: tuple[float, list[str], str] | None = None

    def sample(self, view: SampleView) -> None:
        from .duplicates import count_duplicates
        from .loss import count_lost

        if self.first is not None or view.t < self.start:
            return
        serving = view.serving
        dead = sorted({w for service, w in view.snapshot.index_entries() if service not in serving.get(w, ())})
        if dead:
            self.first = (view.t, dead, f"dead index entries: {', '.join(dead)}")
            return
        if count_lost(view):
            lost = sorted(
                w
                for w, services in serving.items()
                if w in view.registered
                and any(w not in view.snapshot.index.get(s, ()) for s in services & view.registered[w][1])
            )
            self.first = (view.t, lost, f"live providers missing: {', '.join(lost)}")
            return
        if count_duplicates(view.snapshot.workers):
            per_url = Counter(r.get("tunnel_url") for r in view.snapshot.workers.values())
            dup = sorted(w for w, r in view.snapshot.workers.items() if per_url[r.get("tunnel_url")] > 1)
            self.first = (view.t, dup, f"duplicate worker records: {', '.join(dup)}")

    def check(self, obs: Observations) -> PropertyResult:
        if self.start >= obs.duration:
            return PropertyResult(
                self.name, self.kind, None, (),
                f"not checked: the run ends at {obs.duration:g} s, before heal + settle ({self.start:g} s)", False,
            )  # fmt: skip
        candidates = [] if self.first is None else [self.first]
        leader = _leader_count_breach(obs, self.start)
        if leader is not None:
            candidates.append(leader)
        success = self._success_breach(obs)
        if success is not None:  # last: at a tie, the registry's or the leader's breach is the one named
            candidates.append(success)
        if not candidates:
            return self.holds(f"settled from {self.start:g} s")
        t, who, detail = min(candidates, key=lambda c: c[0])
        owners = _owners(obs)
        return self.violated(t, [x for w in who for x in (w, owners.get(w, "?"))], detail)

    def request_windows(self) -> list[tuple[float, float]]:
        """[warmup, first fault) and [heal + settle, duration - request_timeout): the success rates compared."""
        faults = self.scenario.faults
        if not faults:
            return []
        first_fault = min(float(f.at) for f in faults)
        end = float(self.scenario.duration) - float(self.scenario.policy.request_timeout)
        return [(float(self.scenario.warmup), first_fault), (self.start, end)]

    def _success_breach(self, obs: Observations) -> tuple[float, list[str], str] | None:
        """The success-rate part: requests that arrived in [warmup, first fault) against those that arrived in
        [heal + settle, duration - request_timeout) (each could have finished by the end of the run); judged by
        :func:`success_rate_dropped`, dated at the settled window's start. Not judged (None) without a fault or
        with no request in either window."""
        windows = self.request_windows()
        log = obs.requests
        if not windows or log is None or not len(log):
            return None
        before, after = (log.totals(start, end) for start, end in windows)
        n_pre, n_post = before.requests, after.requests
        if not n_pre or not n_post:
            return None
        k_pre, k_post = before.ok, after.ok
        tolerance = self.params.success_tolerance  # type: ignore[attr-defined]
        alpha = self.params.success_alpha  # type: ignore[attr-defined]
        dropped, p_value = success_rate_dropped(k_pre, n_pre, k_post, n_post, tolerance, alpha)
        if not dropped:
            return None
        return (
            self.start,
            [],
            f"success rate {k_post}/{n_post} = {k_post / n_post:.4f} after settling, below {k_pre}/{n_pre} = "
            f"{k_pre / n_pre:.4f} before the first fault minus {tolerance:g} (p = {p_value:.3g} < {alpha:g})",
        )


def success_rate_dropped(
    k_pre: int, n_pre: int, k_post: int, n_post: int, tolerance: float = 0.02, alpha: float = 0.01
) -> tuple[bool, float]:
    """Is the settled success rate ``k_post / n_post`` lower than the pre-fault one ``k_pre / n_pre`` by more than
    ``tolerance``? ``(dropped, p-value)``.

    The rule: a one-sided two-proportion test of non-inferiority with margin ``tolerance``, H0: p_post >= p_pre -
    tolerance against H1: p_post < p_pre - tolerance, at level ``alpha``, with Agresti and Caffo's adjustment (one
    success and one failure added to each sample, so an all-success window still has a variance):
    p~ = (k + 1) / (n + 2), se = sqrt(p~_pre (1 - p~_pre) / (n_pre + 2) + p~_post (1 - p~_post) / (n_post + 2)),
    z = (p~_post - p~_pre + tolerance) / se, p-value = Phi(z) (``scipy.stats.norm.cdf``). Dropped when the p-value
    is below ``alpha``: equivalently, when the upper one-sided 1 - alpha confidence bound of p_post - p_pre is
    below -tolerance."""
    from scipy.stats import norm

    if n_pre <= 0 or n_post <= 0:
        raise ValueError("both windows need at least one request")
    p_pre = (k_pre + 1) / (n_pre + 2)
    p_post = (k_post + 1) / (n_post + 2)
    se = (p_pre * (1 - p_pre) / (n_pre + 2) + p_post * (1 - p_post) / (n_post + 2)) ** 0.5
    p_value = float(norm.cdf((p_post - p_pre + tolerance) / se))
    return p_value < alpha, p_value


def _leader_count_breach(obs: Observations, start: float) -> tuple[float, list[str], str] | None:
    """The first instant in [start, duration) from which, for a positive time, the number of agents believing
    they lead is not one while a machine is up (changes at one instant apply together)."""
    beliefs, live = leader_changes(obs)
    changes = sorted([(t, -d, 0, w) for t, d, w in beliefs] + [(t, -d, 1, w) for t, d, w in live])
    end = obs.duration
    believers: set[str] = set()
    alive: set[str] = set()
    i, at = 0, start
    while True:
        while i < len(changes) and changes[i][0] <= at:
            _, neg, kind, who = changes[i]
            group = believers if kind == 0 else alive
            if neg < 0:
                group.add(who)
            else:
                group.discard(who)
            i += 1
        t_next = changes[i][0] if i < len(changes) else end
        if min(t_next, end) > at and alive and len(believers) != 1:
            leaders = sorted(believers)
            text = f"{len(leaders)} agents believe they lead" + (f": {', '.join(leaders)}" if leaders else "")
            return at, leaders, text
        if t_next >= end:
            return None
        at = t_next


# --- running them -----------------------------------------------------------------------------------------

DEFAULT_PROPERTIES: tuple[dict[str, Any], ...] = (
    {"name": "no_dead_in_index"},
    {"name": "single_leader"},
    {"name": "no_missing_provider"},
    {"name": "no_route_to_dead"},
    {"name": "settles"},
    {"name": "no_duplicate_machine"},
)
"""The built-in set, with each property's default parameters; used only by code that asks for it."""


def default_properties() -> list[PropertySpec]:
    """:data:`DEFAULT_PROPERTIES` as validated specs, for ``rmasim.run(scenario, properties=...)``."""
    from ..scenario.properties import property_specs

    return property_specs([dict(p) for p in DEFAULT_PROPERTIES])


def build_properties(specs: Sequence[PropertySpec], scenario: Any) -> list[Property]:
    """One judging instance per spec (its parameters validated again when they are not yet a model)."""
    out = []
    for spec in specs:
        cls = PROPERTIES[spec.name]
        params = spec.params if isinstance(spec.params, BaseModel) else cls.Params.model_validate(spec.params or {})
        out.append(cls(params, scenario))
    return out


def check_properties(properties: Sequence[Property], obs: Observations) -> list[PropertyResult]:
    """Each property's verdict on the run's record, in the order given."""
    return [p.check(obs) for p in properties]
