"""Build a simulation from a :class:`~rmasim.scenario.Scenario`, run it, and return a :class:`RunResult`.

One function assembles a run, Jepsen-style: world (KV, network, clocks, containers, named random streams from
one root seed), system (coordinator at ``coordinator.edges`` edges, one agent per machine), runtime, workload,
faults, observer; then SimPy runs to ``duration``, a last sample is taken, and every registered checker
summarizes what was observed. The same scenario and seed give the same summary, bit for bit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from .chaos import FAULTS, Chaos, FaultRecord
from .observe import Observer, PropertyResult, RequestLog, declaration_of, summarize
from .observe.properties import build_properties, check_properties
from .observe.recovery import TRIGGER_PHASE
from .observe.totals import RequestTotals
from .runtime import Edge, Loop, Machine, Runtime, UniformSource
from .scenario import Problem, Scenario, ScenarioError, register_names
from .scenario.properties import PropertySpec
from .system import BALANCERS, KNOWN_SERVICES, Agent, Coordinator, MachineInfo
from .system.coordinator import Isolate
from .system.worker import CRON_TICK, WorkerCoordinator, check_worker, load_worker_config
from .workload import PoissonClients
from .world import DNS, Clock, Network, ServiceContainer, Streams, StrongKV, build_kv

__all__ = ["ExpectationResult", "RunResult", "run"]


@dataclass(frozen=True, slots=True)
class ExpectationResult:
    """One ``expect`` line checked against the summary."""

    text: str
    passed: bool
    actual: Any


@dataclass
class RunResult:
    """What one run produced: ``summary`` (flat dotted keys), ``timeseries``, ``requests``, ``expectations``."""

    scenario: Scenario
    seed: int
    summary: dict[str, Any]
    timeseries: pd.DataFrame
    expectations: list[ExpectationResult]
    faults: list[FaultRecord]
    events: pd.DataFrame
    wall_seconds: float
    request_log: RequestLog | RequestTotals = field(repr=False)
    """The requests as the run kept them: rows, or running totals (``request_records: false``)."""
    properties: list[PropertyResult] = field(default_factory=list)
    """The verdict of each property the run judged (the scenario's ``properties``, or those passed to ``run``)."""

    @cached_property
    def requests(self) -> pd.DataFrame:
        """One row per finished request (built on first use: a fleet-day has millions). A run that kept totals
        only (``request_records: false``) has no rows: a :class:`LookupError` says so."""
        if not isinstance(self.request_log, RequestLog):
            raise LookupError(f"{self.scenario.name}: this run kept no request rows (request_records: false)")
        return self.request_log.to_frame()

    def request_rows(self) -> pd.DataFrame:
        """:attr:`requests`, or the same columns with no row when the run kept totals only (for reports)."""
        return self.requests if isinstance(self.request_log, RequestLog) else RequestLog().to_frame()

    @property
    def passed(self) -> bool:
        """True when every expectation and every property holds."""
        return all(e.passed for e in self.expectations) and all(p.holds for p in self.properties)

    def __repr__(self) -> str:
        """One line: ``RunResult(crash seed 1, baseline: PASS; 5,142 requests, 71.3% served; 5/5 expectations)``."""
        s = self.summary
        parts = [f"{self.scenario.name} seed {self.seed}, {self.scenario.coordinator.preset}: "
                 f"{'PASS' if self.passed else 'FAIL'}"]  # fmt: skip
        if s.get("routing.requests"):
            parts.append(f"{int(s['routing.requests']):,} requests, {s['routing.success_rate']:.1%} served")
        if self.expectations:
            parts.append(f"{sum(e.passed for e in self.expectations)}/{len(self.expectations)} expectations")
        violated = [p.name for p in self.properties if not p.holds]
        if violated:
            parts.append(f"violated: {', '.join(violated)}")
        return f"RunResult({'; '.join(parts)})"


def check_scenario(scenario: Scenario, *, load_worker: bool = True) -> None:
    """Checks that need the registries of higher layers, located in the scenario file: every ``expect`` line
    names a declared summary key, and the policy's balancer is registered; with ``load_worker``, a
    ``coordinator.worker`` is loaded once in a Node.js host of its own (its configuration, Node.js, every module's
    syntax and its top level), so a bad Worker is located lines before a run starts.

    The scenario's own validation already refuses an unknown key or ``coordinator.balancer`` with the file's
    other problems (through the lookups registered below); this still catches a preset whose balancer is not
    registered, and a scenario validated before this module was imported."""
    if load_worker and scenario.coordinator.worker is not None:
        check_worker(scenario.coordinator.worker, scenario.source)
    problems = []

    def problem(path: tuple[str | int, ...], message: str) -> None:
        where = scenario.locate(path) or (str(scenario.source or "<scenario>"), 1, 1)
        problems.append(Problem(where[0], where[1], where[2], ".".join(map(str, path)), message))

    for path, expectation in scenario.all_expectations():
        if declaration_of(expectation.key) is None:
            problem(path, f"unknown summary key {expectation.key!r}")
    if not scenario.request_records and TRIGGER_PHASE in scenario.phases:
        problem(("phases", TRIGGER_PHASE), f"the recovery time after the {TRIGGER_PHASE!r} phase is read from the "
                "request rows: set request_records: true, or name the phase otherwise")  # fmt: skip
    balancer = scenario.policy.balancer
    if balancer not in BALANCERS:
        where = ("coordinator", "balancer") if scenario.coordinator.balancer else ("coordinator", "preset")
        problem(where, f"unknown balancer {balancer!r}; known: {', '.join(BALANCERS)}")
    if problems:
        raise ScenarioError(problems)


register_names("summary key", lambda key: declaration_of(key) is not None)
register_names("balancer", BALANCERS.__contains__, lambda: BALANCERS)


def run(scenario: Scenario, seed: int | None = None, properties: Sequence[PropertySpec] | None = None) -> RunResult:
    """Run ``scenario`` once with ``seed`` (default: the scenario's own), check its expectations and judge its
    properties: ``properties`` (such as ``rmasim.observe.properties.default_properties()``) instead of the
    scenario's own ``properties`` list when given. Each judged property adds ``property.<name>.violated_at`` to
    the summary (null when it holds); a run that judges none has no such key."""
    check_scenario(scenario, load_worker=False)  # the run's own host start reports a bad Worker
    wall_start = time.perf_counter()
    seed = scenario.seed if seed is None else seed
    sim = _Simulation(scenario, seed)
    judges = build_properties(scenario.properties if properties is None else properties, scenario)
    sim.observer.watchers.extend(judges)
    requests = sim.observer.requests
    if isinstance(requests, RequestTotals):  # the windows the judges read, kept before the first request
        for judge in judges:
            for start, end in judge.request_windows():
                requests.add_window(start, end)
    for judge in judges:  # a judge that watches the Workers KV's answers (a sometimes property)
        watch = getattr(judge, "watch_kv", None)
        if watch is not None and watch(sim.kv):
            sim.runtime.kv_watchers.append(judge)
    try:
        sim.env.run(until=scenario.duration)
    finally:
        sim.close()
    sim.observer.sample(scenario.duration)
    observations = sim.observer.observations()
    observations.extra["leader_duty"] = scenario.policy.leader_duty is not None
    summary = summarize(observations)
    verdicts = check_properties(judges, observations)
    for verdict in verdicts:
        summary[verdict.summary_key] = verdict.summary_value
    expectations = []
    for expectation in scenario.expectations():
        passed, actual = expectation.check(summary)
        expectations.append(ExpectationResult(expectation.text, passed, actual))
    events = pd.DataFrame(
        [(e.t, e.kind, e.machine, e.incarnation, ",".join(e.worker_ids)) for e in sim.observer.events],
        columns=["t", "kind", "machine", "incarnation", "worker_ids"],
    )
    return RunResult(
        scenario=scenario,
        seed=seed,
        summary=summary,
        timeseries=sim.observer.timeseries(observations),
        expectations=expectations,
        faults=sim.chaos.log,
        events=events,
        wall_seconds=time.perf_counter() - wall_start,
        request_log=sim.observer.requests,
        properties=verdicts,
    )


class _Simulation:
    """Everything one run is made of, wired together (see the module docstring)."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.policy = policy = scenario.policy
        streams = Streams(seed)
        self.env = env = Loop()
        n_edges = scenario.coordinator.edges
        self.kv = build_kv(scenario.kv, n_edges, streams.generator("kv"))
        self.strong = StrongKV.from_config(scenario.kv.strong, n_edges, streams.generator("strong"))
        self.network = Network.from_config(scenario.network, streams.generator("network"))
        self.dns = DNS.from_config(scenario.dns)
        self.edges = [self._build_edge(i, streams) for i in range(n_edges)]
        self.machines: dict[tuple[str, int], Machine] = {}
        for group, cfg in scenario.fleet.items():
            for index in range(cfg.count + cfg.spares):
                self.machines[(group, index)] = self._build_machine(group, index, cfg, streams)
        by_tunnel = {m.tunnel_url: m for m in self.machines.values()}
        phases = {name: (phase.start, phase.end) for name, phase in scenario.phases.items()}
        self.observer = Observer(self.kv, by_tunnel, scenario.duration, scenario.warmup, self.strong, phases,
                                 scenario.coordinator.registry_view, scenario.request_records)  # fmt: skip
        worker = scenario.coordinator.worker
        self.coordinator = coordinator = (
            Coordinator(policy)
            if worker is None
            else WorkerCoordinator.start(load_worker_config(worker, scenario.source))
        )

        def agent_factory(machine: Machine) -> Agent:
            info = MachineInfo(machine.tunnel_url, machine.ports, hostname=machine.name, disk=machine.disk)
            return Agent(info, policy)

        self.runtime = Runtime(
            env,
            self.kv,
            self.network,
            coordinator,
            agent_factory,
            self.observer,
            policy.request_timeout,
            list(self.machines.values()),
            self.strong,
            self.dns,
        )
        self.observer.invocations = self.runtime.invocations
        if isinstance(coordinator, WorkerCoordinator):  # the Worker's own Cron Triggers, checked every minute
            if coordinator.crons:
                crons = coordinator.config.crons  # a minute runs scheduled() once per matching cron: the billed ones
                self.runtime.start_cron(CRON_TICK, self.edges[0], lambda now: sum(c.matches(now) for c in crons))
        elif policy.stale_cleanup == "sweeper":
            self.runtime.start_cron(policy.sweep_interval, self.edges[0])
        self._schedule_boots(streams)
        clients: dict[str, list[PoissonClients]] = {}
        for j, spec in enumerate(scenario.workload):
            rng = streams.generator(f"workload/{j}/{spec.service}")
            client = PoissonClients(
                spec, self.runtime, self.edges, rng, scenario.duration, scenario.coordinator.location_weights
            )
            client.install(env)
            clients.setdefault(spec.service, []).append(client)
        self.chaos = Chaos(env, self.runtime, self.machines, scenario.fleet, self.edges, seed=seed, clients=clients)
        for spec in scenario.faults:
            if spec.action not in FAULTS:
                raise ValueError(f"fault action {spec.action!r} has a spec but no injector")
            self.chaos.schedule(spec)
        self._schedule_sampling()

    def close(self) -> None:
        """Release what outlives the run: a Worker coordinator's host process."""
        if isinstance(self.coordinator, WorkerCoordinator):
            self.coordinator.close()

    def _build_machine(self, group: str, index: int, cfg: Any, streams: Streams) -> Machine:
        containers = {
            name: ServiceContainer.from_config(
                svc, name, streams.generator(f"service/{group}/{index}/{name}"), cfg.speed_of(index)
            )
            for name, svc in cfg.services.items()
        }
        if self.policy.admission_wait is not None:  # the agent's admission control, in front of each container
            for container in containers.values():
                container.admission_wait = self.policy.admission_wait
        ports = {}
        for offset, (name, svc) in enumerate(cfg.services.items()):
            ports[name] = svc.port or KNOWN_SERVICES.get(name) or 9000 + offset
        n_edges = len(self.edges)
        home = self.edges[(len(self.machines)) % n_edges]
        return Machine(
            group=group,
            index=index,
            clock=Clock.from_config(cfg.clock),
            containers=containers,
            ports=ports,
            memory_gb=cfg.memory_gb,
            home_edge=home,
            uniform=UniformSource(streams.generator(f"machine/{group}/{index}")),
        )

    def _build_edge(self, index: int, streams: Streams) -> Edge:
        """A location with ``isolates_per_location`` isolates; the platform's picks and evictions draw from streams
        of their own, and only when there is something to draw (the default topology draws nothing)."""
        coordinator = self.scenario.coordinator
        n = coordinator.isolates_per_location
        platform = UniformSource(streams.generator(f"platform/{index}")) if n > 1 else None
        edge = Edge(index, Clock(), UniformSource(streams.generator(f"edge/{index}")), [Isolate() for _ in range(n)],
                    platform)  # fmt: skip
        if coordinator.isolate_lifetime is not None:
            self._schedule_evictions(edge, coordinator.isolate_lifetime, streams.generator(f"eviction/{index}"))
        return edge

    def _schedule_evictions(self, edge: Edge, lifetime: float, rng: Any) -> None:
        """Each isolate lives an exponential time of mean ``lifetime``: the location loses one at rate n / lifetime,
        a uniformly chosen one (memoryless, so it does not matter how old each is)."""
        n = len(edge.isolates)

        def evict(_event: Any) -> None:
            edge.evict(int(rng.random() * n))
            self.env.call_later(float(rng.exponential(lifetime / n)), evict)

        self.env.call_later(float(rng.exponential(lifetime / n)), evict)

    def _schedule_boots(self, streams: Streams) -> None:
        for group, cfg in self.scenario.fleet.items():
            rng = streams.generator(f"fleet/{group}/start")
            within = self.policy.heartbeat_interval if cfg.start_within is None else cfg.start_within
            offsets = rng.uniform(0.0, within, cfg.count).tolist() if within else [0.0] * cfg.count
            for index in range(cfg.count):
                self._at(cfg.start_at + offsets[index], self.runtime.start_machine, self.machines[(group, index)])

    def _at(self, t: float, action: Callable[[Machine], object], machine: Machine) -> None:
        """Call ``action(machine)`` at simulated time ``t``."""

        def fire(_event: Any) -> None:
            action(machine)

        self.env.call_later(t - self.env.now, fire)

    def _schedule_sampling(self) -> None:
        every = self.scenario.sample_every
        end = self.scenario.duration

        env = self.env

        def tick(_call: Any) -> None:
            self.observer.sample(env.now)
            if env.now + every < end:
                env.call_later(every, tick)

        if every < end:
            env.call_later(every, tick)
