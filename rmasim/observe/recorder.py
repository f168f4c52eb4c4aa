"""The observer: receives the runtime's hooks, samples the registry, and keeps the run's record.

Requests are stored column-wise in typed arrays (a fleet-day is millions of rows); the time series holds one
row per ``sample_every``: the sampling checkers' columns plus the requests and KV writes of that interval, in all
and per service (``service.<name>.requests``, ``service.<name>.success_rate``).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..scenario.models import RegistryView
from ..system import registry_snapshot
from .base import CHECKERS, Checker, MachineEvent, Observations, SampleView
from .leader import believers_at, leader_changes
from .outcomes import OUTCOME_CODES, OUTCOMES, classify
from .totals import ExactLatencies, RequestTotals, ServiceTotals, WindowTotals
from .truth import GroundTruth

__all__ = ["Observer", "RequestLog"]


class RequestLog:
    """Column store of finished requests; ``to_frame()`` gives the ``requests`` DataFrame, ``totals()`` what the
    per-request checkers read of any window (exact; see :mod:`rmasim.observe.totals`)."""

    rows = True

    def __init__(self) -> None:
        self.service = array("H")
        self.edge = array("H")
        self.t_arrival = array("d")
        self.t_done = array("d")
        self.status = array("H")
        self.outcome = array("B")
        self.target = array("i")
        self.target_up = array("b")
        self.target_broken = array("b")
        self.attempts = array("B")
        self.version = array("h")
        self.refused = array("B")
        self.services: dict[str, int] = {}
        self.targets: dict[str, int] = {}
        self.versions: dict[str, int] = {}
        """Version served -> code in ``version`` (-1: not served)."""

    def __len__(self) -> int:
        return len(self.t_arrival)

    def append(self, record: Any, outcome: str) -> None:
        """One finished request (a :class:`~rmasim.runtime.RequestRecord`) and its outcome: a row in every column.
        (Once per request: written for speed, comparisons instead of ``min``/``int`` calls; a bool is stored as
        the int it is.)"""
        services, targets = self.services, self.targets
        service = services.get(record.service)
        if service is None:
            service = services[record.service] = len(services)
        target = -1 if record.target is None else targets.get(record.target)
        if target is None:
            target = targets[record.target] = len(targets)
        self.service.append(service)
        self.edge.append(record.edge)
        self.t_arrival.append(record.t_arrival)
        self.t_done.append(record.t_done)
        self.status.append(record.status)
        self.outcome.append(OUTCOME_CODES[outcome])
        self.target.append(target)
        up, broken, attempts, refused = record.target_up, record.target_broken, record.attempts, record.refused
        self.target_up.append(-1 if up is None else up)
        self.target_broken.append(-1 if broken is None else broken)
        self.attempts.append(attempts if attempts < 255 else 255)
        self.refused.append(refused if refused < 255 else 255)
        if record.version is None:
            self.version.append(-1)
        else:
            version = self.versions.get(record.version)
            if version is None:
                version = self.versions[record.version] = len(self.versions)
            self.version.append(version)

    def outcome_names(self) -> np.ndarray:
        return np.array(list(OUTCOMES), dtype=object)[np.frombuffer(self.outcome, dtype=np.uint8)]

    def arrays(self) -> dict[str, np.ndarray]:
        """Numeric columns as numpy arrays (no copy)."""
        return {
            "t_arrival": np.frombuffer(self.t_arrival, dtype=np.float64),
            "t_done": np.frombuffer(self.t_done, dtype=np.float64),
            "outcome": np.frombuffer(self.outcome, dtype=np.uint8),
            "attempts": np.frombuffer(self.attempts, dtype=np.uint8),
            "service": np.frombuffer(self.service, dtype=np.uint16),
            "target_broken": np.frombuffer(self.target_broken, dtype=np.int8),
            "version": np.frombuffer(self.version, dtype=np.int16),
            "refused": np.frombuffer(self.refused, dtype=np.uint8),
        }

    def totals(self, start: float, end: float) -> WindowTotals:
        """The totals of the requests that arrived in ``[start, end)``, from the rows (exact)."""
        a = self.arrays()
        t_arrival = a["t_arrival"]
        window = t_arrival >= start if end == float("inf") else (t_arrival >= start) & (t_arrival < end)
        outcome, attempts = a["outcome"][window], a["attempts"][window]
        ok = a["outcome"] == OUTCOME_CODES["ok"]
        latency = a["t_done"] - t_arrival
        totals = WindowTotals(
            outcomes=[int(n) for n in np.bincount(outcome, minlength=len(OUTCOMES))],
            attempts=int(attempts.sum()),
            retries=int(np.clip(attempts.astype(np.int64) - 1, 0, None).sum()),
            refused=int(a["refused"][window].sum()),
            latency=ExactLatencies(latency[window & ok]),
            versions=list(self.versions),
        )
        for name, code in self.services.items():
            mine = window & (a["service"] == code)
            n = int(mine.sum())
            if not n:
                continue
            served = mine & ok
            counts = np.bincount(a["version"][served & (a["version"] >= 0)], minlength=len(self.versions))
            totals.services[name] = ServiceTotals(
                requests=n,
                ok=int(served.sum()),
                latency=ExactLatencies(latency[served]),
                served_by={v: int(c) for v, c in zip(self.versions, counts, strict=True) if c},
            )
        broken = t_arrival[window & (a["target_broken"] > 0)]
        totals.to_broken = int(broken.size)
        if broken.size:
            totals.first_broken, totals.last_broken = float(broken.min()), float(broken.max())
        return totals

    def forwards_to_down(self) -> list[tuple[float, str]]:
        """(arrival, target) of each request whose last forward went to a machine that was down, in log order."""
        codes = np.frombuffer(self.target, dtype=np.int32)
        down = (np.frombuffer(self.target_up, dtype=np.int8) == 0) & (codes >= 0)
        names = list(self.targets)
        arrivals = np.frombuffer(self.t_arrival, dtype=np.float64)
        return [(float(arrivals[i]), names[codes[i]]) for i in np.flatnonzero(down)]

    @property
    def bad_requests(self) -> int:
        """Requests the coordinator answered 400, arrived at any time."""
        return int((np.frombuffer(self.status, dtype=np.uint16) == 400).sum())

    @property
    def target_counts(self) -> dict[str, int]:
        """Target of the last forward -> requests, arrived at any time."""
        counts = np.bincount(np.frombuffer(self.target, dtype=np.int32) + 1, minlength=len(self.targets) + 1)
        return {name: int(counts[code + 1]) for name, code in self.targets.items() if counts[code + 1]}

    def to_frame(self) -> pd.DataFrame:
        """One row per request: arrival, completion, latency, service, edge, status, outcome, target."""
        a = self.arrays()
        services = list(self.services)
        targets = list(self.targets)
        target_codes = np.frombuffer(self.target, dtype=np.int32)
        up = np.frombuffer(self.target_up, dtype=np.int8)  # -1: no target, 0: down, 1: up
        return pd.DataFrame(
            {
                "t_arrival": a["t_arrival"],
                "t_done": a["t_done"],
                "latency": a["t_done"] - a["t_arrival"],
                "service": pd.Categorical.from_codes(np.frombuffer(self.service, dtype=np.uint16), services),
                "edge": np.frombuffer(self.edge, dtype=np.uint16),
                "status": np.frombuffer(self.status, dtype=np.uint16),
                "outcome": pd.Categorical.from_codes(a["outcome"], list(OUTCOMES)),
                "target": pd.Categorical.from_codes(target_codes, targets),
                "target_up": pd.arrays.BooleanArray(up > 0, up < 0),
                "target_broken": pd.arrays.BooleanArray(a["target_broken"] > 0, a["target_broken"] < 0),
                "attempts": a["attempts"],
                "version": pd.Categorical.from_codes(a["version"], list(self.versions)),
                "refused": a["refused"],
            }
        )


class Observer:
    """Implements the runtime's hooks and the periodic sample; ``observations()`` closes the record."""

    def __init__(
        self,
        kv: Any,
        machines_by_tunnel: dict[str, Any],
        duration: float,
        warmup: float,
        strong: Any = None,
        phases: dict[str, tuple[float, float]] | None = None,
        registry_view: RegistryView = "index_keys",
        request_records: bool = True,
    ) -> None:
        self.kv = kv
        self.registry_view: RegistryView = registry_view
        """How the registry is read out of the central store (``coordinator.registry_view``)."""
        self.strong = strong
        """The Durable Object beside the KV, when there is one: the registry may live in either."""
        self.truth = GroundTruth(machines_by_tunnel)
        self.machines = list(machines_by_tunnel.values())
        for machine in self.machines:  # the containers' load accounting starts at warmup
            for container in machine.containers.values():
                container.measure_from = warmup
        self.duration = duration
        self.warmup = warmup
        self.phases = dict(phases or {})
        self.requests: RequestLog | RequestTotals = (
            RequestLog() if request_records else RequestTotals([(warmup, float("inf")), *self.phases.values()])
        )
        """One row per request, or running totals of the windows the checkers read (``request_records``)."""
        self._keep: Callable[[Any, str], None] = self.requests.append
        """Its ``append``, bound once (one call per request; the union's method lookup is not on the hot path)."""
        self.samples: list[dict[str, Any]] = []
        self._samplers = [c for c in CHECKERS.values() if type(c).sample is not Checker.sample]
        """The checkers that look at the registry at each sample (the others' ``sample`` gives nothing)."""
        self.events: list[MachineEvent] = []
        self.index_changes: list[tuple[float, frozenset[str]]] = []
        self.traces: list[tuple[float, str, str, dict[str, Any]]] = []
        self.registered: dict[str, tuple[float, frozenset[str]]] = {}
        self._interval_counts = [0] * len(OUTCOMES)
        self._service_counts: dict[str, list[int]] = {}
        """Service -> [requests, ok] finished in the current sample interval."""
        self._last_writes = 0
        self._last_strong = 0
        self.last_snapshot: Any = None
        self.purges: list[tuple[float, tuple[str, ...], tuple[str, ...]]] = []
        """(time, ids purged, of which live) for each purge by the coordinator's sweeper."""
        self.last_serving: dict[str, frozenset[str]] = {}
        self.watchers: list[Any] = []
        """Objects with a ``sample(view)`` method shown every sample after the checkers (the run's properties)."""
        self.invocations: Mapping[str, int] = {}
        self.kv_refusals: list[tuple[float, str, int, str]] = []
        """(time, key, edge, node) of each write the Workers KV refused with 429."""
        self.first_retry: tuple[float, str, str, str] | None = None
        """(time, first machine, second machine, service): the earliest retry onto a second provider."""
        """Coordinator invocations by kind (the runtime's live counters, handed over by the engine)."""

    # --- runtime hooks ---------------------------------------------------------------------------------

    def trace(self, event: str, fields: dict[str, Any], node: str, now: float) -> None:
        if event == "worker_id_assigned":
            machine = self.truth.assign(fields["worker_id"], fields.get("tunnel_url"))
            if machine is not None:
                self.events.append(
                    MachineEvent(now, "register", machine.name, machine.incarnation, (fields["worker_id"],))
                )
        elif event == "registered":
            self.registered[fields["worker_id"]] = (now, frozenset(fields.get("services", ())))
        elif event == "workers_purged":
            live = tuple(w for w in fields["worker_ids"] if self.truth.is_live(w))
            self.purges.append((now, tuple(fields["worker_ids"]), live))
        self.traces.append((now, node, event, fields))

    def kv_refused(self, edge: int, key: str, node: str, now: float) -> None:
        self.kv_refusals.append((now, key, edge, node))

    def request_done(self, record: Any) -> None:
        if record.retried_at is not None and (self.first_retry is None or record.retried_at < self.first_retry[0]):
            self.first_retry = (record.retried_at, record.first_target, record.retried_onto, record.service)
        outcome = classify(record.status, record.forward, record.reason)
        self._keep(record, outcome)
        self._interval_counts[OUTCOME_CODES[outcome]] += 1
        counts = self._service_counts.get(record.service)
        if counts is None:
            counts = self._service_counts[record.service] = [0, 0]
        counts[0] += 1
        if outcome == "ok":
            counts[1] += 1

    def machine_event(self, kind: str, machine: Any, now: float) -> None:
        ids = tuple(self.truth.ids_of.get((machine.name, machine.incarnation), ()))
        self.events.append(MachineEvent(now, kind, machine.name, machine.incarnation, ids))

    # --- sampling --------------------------------------------------------------------------------------

    def sample(self, now: float) -> None:
        """One row of the time series: sampling checkers on the central store vs the truth."""
        store = self.kv.central_snapshot(now)
        if self.strong is not None:
            store.update(self.strong.central_snapshot(now))
        snapshot = registry_snapshot(store, self.registry_view)
        self.last_snapshot = snapshot
        self.last_serving = self.truth.serving()
        view = SampleView(now, snapshot, self.last_serving, self.registered)
        row: dict[str, Any] = {"t": now}
        for checker in self._samplers:
            row.update(checker.sample(view))
        for watcher in self.watchers:
            watcher.sample(view)
        counts = self._interval_counts
        total = sum(counts)
        row["requests"] = total
        row["requests_ok"] = counts[OUTCOME_CODES["ok"]]
        row["success_rate"] = counts[OUTCOME_CODES["ok"]] / total if total else float("nan")
        self._interval_counts = [0] * len(OUTCOMES)
        for service in self.requests.services:  # every service seen so far: a column from its first request on
            n, served = self._service_counts.get(service, (0, 0))
            row[f"service.{service}.requests"] = n
            row[f"service.{service}.success_rate"] = served / n if n else float("nan")
        self._service_counts = {}
        writes = self.kv.stats.mutations()
        row["kv_writes"] = writes - self._last_writes
        self._last_writes = writes
        if self.strong is not None:  # calls the Durable Object answered in the interval
            calls = self.strong.stats.requests
            row["strong_ops"] = calls - self._last_strong
            self._last_strong = calls
        self.samples.append(row)
        ids = frozenset(w for _, w in snapshot.index_entries())
        if not self.index_changes or self.index_changes[-1][1] != ids:
            self.index_changes.append((now, ids))

    def observations(self) -> Observations:
        return Observations(
            duration=self.duration,
            warmup=self.warmup,
            samples=self.samples,
            requests=self.requests,
            events=self.events,
            index_changes=self.index_changes,
            kv_stats=self.kv.stats,
            strong_stats=self.strong.stats if self.strong is not None else None,
            invocations=dict(self.invocations),
            final_snapshot=self.last_snapshot,
            final_serving=self.last_serving,
            traces=self.traces,
            purges=self.purges,
            phases=self.phases,
            kv_refusals=self.kv_refusals,
            first_retry=self.first_retry,
            containers={m.name: {s: c.stats(self.duration) for s, c in m.containers.items()} for m in self.machines},
        )

    def timeseries(self, observations: Observations | None = None) -> pd.DataFrame:
        """The samples, one row each, indexed by simulated time (``time``; the ``t`` column too), with
        ``leaders``: the agents believing they lead at each sample time (from their leadership traces;
        ``observations``: the closed record when the caller has it, else it is made here)."""
        frame = pd.DataFrame(self.samples)
        if len(frame):
            beliefs, _live = leader_changes(observations if observations is not None else self.observations())
            frame["leaders"] = believers_at(beliefs, frame["t"].tolist())
        frame.index = pd.Index(frame["t"] if len(frame) else [], name="time")
        return frame
