"""The interpreter: turns the system's operations into calls on the simulated world, in SimPy time.

Rules (see :mod:`rmasim.world` for the models behind them):

- **KV** operations go to the store they name (``kv``: the Workers KV model; ``strong``: the Durable Object), at
  the caller's edge (an agent's calls are served at its home edge); a cache hit costs no
  time, a central fetch or a write costs a latency draw. A rejected write (429), an unavailable store (503) or an
  expiration less than 60 s ahead (400; ``expiration_ttl`` counts from the write's simulated time) comes back as
  :class:`~rmasim.system.ops.KVFailure`.
- **Clocks**: ``Now`` reads the caller's local clock; ``Sleep(d)`` lasts ``d`` seconds of that clock.
- **Agent -> coordinator** calls cross the network to the home edge, run the handler there as a separate
  server-side invocation (it carries on if the agent dies meanwhile), and come back; a lost or partitioned
  message, or an answer later than the call's timeout, is a :class:`~rmasim.system.ops.RequestTimeout` at the
  deadline (a handler that itself runs past the deadline is noticed when it ends).
- **Coordinator -> tunnel** forwards: a machine that is not up refuses only after ``connect_timeout``
  (:class:`~rmasim.system.ops.ConnectError`); a live one queues the request in its FIFO container, whose
  finish time is known on arrival; past the timeout the caller gets ``RequestTimeout`` while the container keeps
  working; a container that is down answers 502; a crash while the request is in the machine fails it (noticed
  when it would have completed). The client <-> edge hop is not modelled: a request's latency runs from its
  arrival at the edge to the edge's answer.
- A call whose **URL is not a string** (a ``tunnel_url`` the baseline stored from a malformed registration) fails
  at once with :class:`~rmasim.system.ops.ConnectError`, as ``fetch()`` rejects a URL it cannot parse.
- **Agent -> localhost** health probes answer at once: 200 with the container's version, or a refused
  connection when the container is down; a hung container answers nothing (a timeout at the probe's deadline).
- **Load reports** (``load_info: header``): a forward that asks with ``x-load-report`` gets, on an answer from
  its container (200, 500, or an admission refusal), the header ``x-in-flight``: the container's requests in
  flight when the machine answers (queued plus in service, the answered request excluded). A forward that does
  not ask is answered exactly as before (same events, same draws).
- **Load probes** (``GET /_load/{service}`` on a tunnel, ``p2c-probe``): the agent answers at once, without
  queueing, with ``{"in_flight": n}`` counted on arrival; a round trip, the tunnel's failures (connection,
  partition, timeout) as for a forward, a container that is down a refused connection. No request record
  counts a probe as an attempt.
- :class:`~rmasim.system.ops.Concurrently` runs each of its calls as its own driver at the caller's node and
  answers, when the last has ended, with every result (failures as values).
- A container's **service faults** (:mod:`rmasim.world.service`): a slow one finishes later, an erroring
  admission is answered 500 at its finish, a hung one never finishes (the caller times out).
- **DNS**: ``Resolve`` is answered by the world's DNS (:mod:`rmasim.world.dns`) after its lookup latency. A
  ``StrongUpdate(clock=True)`` gets the Durable Object's clock, the true time (the platform's clocks are
  synchronised; clock faults hit edges and machines).
- **Caller addresses**: every request reaching the coordinator carries ``cf-connecting-ip``, set here as
  Cloudflare's edge sets it (a value the caller sent is dropped): an agent's (or any calling node's) address is
  stable for its node name (:func:`~rmasim.runtime.nodes.node_address`), so a machine keeps it across restarts;
  client requests arriving at edge ``i`` come from the address of ``client/{i}``.
- **Invocations** of the coordinator, each a Worker request as Cloudflare bills it, are counted in
  :attr:`Runtime.invocations` by kind: ``client`` (a client's request arriving at an edge: the proxied requests),
  ``agent`` (a call from an agent, or from anything that calls as one, that reaches its edge; a call lost on the
  way runs nothing) and ``scheduled`` (a Cron Trigger that runs the handler).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from functools import lru_cache, partial
from typing import Any, Protocol

from ..system.ops import (
    CONNECTING_IP,
    COORDINATOR,
    EXPECTED_VERSION,
    IN_FLIGHT,
    KV,
    LOAD_PATH,
    LOAD_REPORT,
    REQUEST_TIMEOUT,
    STRONG,
    Concurrently,
    ConnectError,
    HttpCall,
    KvCas,
    KvDelete,
    KVFailure,
    KvGet,
    KvGetMany,
    KvList,
    KvPut,
    LiveLoad,
    MachineStats,
    Now,
    Random,
    ReadLoad,
    Request,
    RequestTimeout,
    Resolve,
    Response,
    Sleep,
    StrongUpdate,
    Trace,
)
from ..world import KV_UNAVAILABLE, KVStatus, expiration_error
from .driver import PARK, Driver
from .nodes import Ctx, Edge, Machine, RequestRecord, node_address

__all__ = ["INVOCATION_KINDS", "Hooks", "Runtime"]

LOCALHOST = "http://localhost:"
INVOCATION_KINDS = ("client", "agent", "scheduled")
"""The kinds of coordinator invocation :attr:`Runtime.invocations` counts."""


class Hooks(Protocol):
    """What the runtime tells its observer."""

    def trace(self, event: str, fields: dict[str, Any], node: str, now: float) -> None: ...

    def request_done(self, record: RequestRecord) -> None: ...

    def machine_event(self, kind: str, machine: Machine, now: float) -> None: ...


class Runtime:
    """Runs the coordinator and agents of one simulation over one world."""

    def __init__(
        self,
        env: Any,
        kv: Any,
        network: Any,
        coordinator: Any,
        agent_factory: Callable[[Machine], Any],
        hooks: Hooks,
        platform_timeout: float,
        machines: list[Machine],
        strong: Any = None,
        dns: Any = None,
    ) -> None:
        self.env = env
        self.kv = kv
        self.stores: dict[str, Any] = {KV: kv}
        """Store name (an op's ``store``) -> the world's store; ``strong`` only when a Durable Object is given."""
        if strong is not None:
            self.stores[STRONG] = strong
        self.net = network
        self.dns = dns
        """The world's DNS (:class:`rmasim.world.DNS`), answering ``Resolve``; None: every name is unknown."""
        self.coordinator = coordinator
        self.agent_factory = agent_factory
        self.hooks = hooks
        self.platform_timeout = platform_timeout
        self.tunnels: dict[str, Machine] = {m.tunnel_url: m for m in machines}
        self._next_rid = 0
        self.invocations: dict[str, int] = dict.fromkeys(INVOCATION_KINDS, 0)
        """Coordinator invocations so far by kind (see the module docstring): Worker requests, for the cost model."""
        self.kv_watchers: list[Any] = []
        """Observers of what the Workers KV answers the system, added only when a judge needs them (an empty list
        costs one test per read): ``read(edge, key, value, now)`` after a get (each key of a bulk get) and
        ``listed(edge, prefix, cursor, names, next_cursor, now)`` after a list page; one that returns True needs
        no more and is removed."""
        self._refused = getattr(hooks, "kv_refused", None)
        """``hooks.kv_refused(edge, key, node, now)``, told of each write the Workers KV refused with 429."""
        self._requests: dict[tuple[str, str, int], Request] = {}
        self._ok_responses: dict[tuple[str, str, str], Response] = {}  # immutable, so shared
        self._path_services: dict[str, str] = {}  # a forward's path -> the service it names
        self.sync_ops: dict[type, Callable[[Ctx, Any], tuple[Any, float]]] = {
            KvGet: self._kv_get,
            KvGetMany: self._kv_get_many,
            KvPut: self._kv_put,
            KvDelete: self._kv_delete,
            KvList: self._kv_list,
            KvCas: self._kv_cas,
            StrongUpdate: self._strong_update,
            Now: self._now,
            Random: self._random,
            Sleep: self._sleep,
            Trace: self._trace,
            LiveLoad: self._live_load,
            Resolve: self._resolve,
        }
        self.timed_ops: dict[type, Callable[[Ctx, Any, Driver], Generator[Any, Any, Any]]] = {
            HttpCall: self._http,
            ReadLoad: self._read_load,
            Concurrently: self._concurrently,
        }

    # --- machines ---------------------------------------------------------------------------------------

    def start_machine(self, machine: Machine) -> bool:
        """Boot a machine that is down: containers up, a new agent process (a new incarnation)."""
        if machine.state != "down":
            return False
        now = self.env.now
        machine.state = "up"
        machine.incarnation += 1
        for container in machine.containers.values():
            container.restart(now)
        machine.agent = self.agent_factory(machine)
        ctx = Ctx(machine.node, machine.clock, machine.uniform, machine.home_edge, machine)
        self.hooks.machine_event("start", machine, now)
        machine.driver = Driver(self, machine.agent.run(), ctx, partial(self._agent_exited, machine))
        machine.driver.start()
        return True

    def crash_machine(self, machine: Machine) -> bool:
        """Power loss: agent, tunnel and containers die at once; nothing is unregistered."""
        if machine.state == "down":
            return False
        now = self.env.now
        machine.state = "down"
        if machine.driver is not None:
            machine.driver.kill()
        for container in machine.containers.values():
            container.crash(now)
        self.hooks.machine_event("crash", machine, now)
        return True

    def stop_machine(self, machine: Machine, shutdown: BaseException) -> bool:
        """Graceful stop: services and tunnel go down now; the agent gets ``shutdown`` and may unregister."""
        if machine.state != "up":
            return False
        now = self.env.now
        machine.state = "stopping"
        for container in machine.containers.values():
            container.crash(now)
        self.hooks.machine_event("stop", machine, now)
        machine.driver.throw(shutdown)
        return True

    def _agent_exited(self, machine: Machine, _value: Any, exc: BaseException | None) -> None:
        if exc is not None:
            raise exc
        machine.state = "down"
        self.hooks.machine_event("exit", machine, self.env.now)

    # --- scheduled events ------------------------------------------------------------------------------

    def start_cron(self, interval: float, edge: Edge, invocations: Callable[[float], int] | None = None) -> None:
        """Run the coordinator's ``scheduled`` handler at ``edge`` every ``interval`` (a Cron Trigger).

        ``invocations(now)``: how many Worker invocations the tick at ``now`` makes (default one: a tick of a
        coordinator that checks its own cron expressions each minute may run none, or several)."""

        def fire(_event: Any) -> None:
            self.invocations["scheduled"] += 1 if invocations is None else invocations(self.env.now)
            Driver(self, self.coordinator.scheduled(edge.landing()), edge.ctx, self._cron_done).start()
            self.env.call_later(interval, fire)

        self.env.call_later(interval, fire)

    def _cron_done(self, _response: Response | None, exc: BaseException | None) -> None:
        if exc is not None:
            raise exc

    # --- client requests --------------------------------------------------------------------------------

    def client_request(self, service: str, edge: Edge, path: str = "/process") -> RequestRecord:
        """A client's request for ``service`` arrives at ``edge`` now."""
        record = RequestRecord(self._next_rid, service, edge.index, self.env.now)
        self._next_rid += 1
        self.invocations["client"] += 1
        request = self._requests.get((service, path, edge.index))
        if request is None:
            request = self._requests[(service, path, edge.index)] = Request(
                "POST", f"/api/service/{service}{path}", None, ((CONNECTING_IP, node_address(f"client/{edge.index}")),)
            )
        handler = self.coordinator.handle(request, edge.landing())
        Driver(self, handler, edge.ctx, partial(self._request_done, record), record).start()
        return record

    def _request_done(self, record: RequestRecord, response: Response | None, exc: BaseException | None) -> None:
        if exc is not None:
            raise exc
        record.t_done = self.env.now
        record.status = response.status if response is not None else 500
        if record.status == 503 and response is not None and isinstance(response.body, dict):
            record.reason = response.body.get("reason")
        self.hooks.request_done(record)

    # --- sync operations: (result, delay) -----------------------------------------------------------------

    def _kv_get(self, ctx: Ctx, op: KvGet) -> tuple[Any, float]:
        store = self.kv if op.store is KV else self.stores[op.store]  # identity first: the hot path
        if op.with_metadata:
            (value, metadata), latency = store.get_with_metadata(ctx.edge.index, op.key, self.env.now)
            if value is KV_UNAVAILABLE:
                return KVFailure(503, op.key), latency
            if self.kv_watchers and store is self.kv:
                self._watch_reads(ctx.edge.index, (op.key,), (value,))
            return (value, metadata), latency
        value, latency = store.get(ctx.edge.index, op.key, self.env.now)
        if value is KV_UNAVAILABLE:
            return KVFailure(503, op.key), latency
        if self.kv_watchers and store is self.kv:
            self._watch_reads(ctx.edge.index, (op.key,), (value,))
        return value, latency

    def _watch_reads(self, edge: int, keys: tuple[str, ...], values: tuple[Any, ...]) -> None:
        now = self.env.now
        for watcher in list(self.kv_watchers):
            for key, value in zip(keys, values, strict=True):
                if value is not KV_UNAVAILABLE and watcher.read(edge, key, value, now):
                    self.kv_watchers.remove(watcher)
                    break

    def _kv_get_many(self, ctx: Ctx, op: KvGetMany) -> tuple[Any, float]:
        store = self.kv if op.store is KV else self.stores[op.store]
        if op.with_metadata:
            (values, metadata), latency = store.get_many_with_metadata(ctx.edge.index, op.keys, self.env.now)
        else:
            values, latency = store.get_many(ctx.edge.index, op.keys, self.env.now)
        if store.outage and any(v is KV_UNAVAILABLE for v in values):
            return KVFailure(503, op.keys[values.index(KV_UNAVAILABLE)]), latency
        if self.kv_watchers and store is self.kv:
            self._watch_reads(ctx.edge.index, op.keys, values)
        return ((values, metadata) if op.with_metadata else values), latency

    def _kv_put(self, ctx: Ctx, op: KvPut) -> tuple[Any, float]:
        if op.expiration is None and op.expiration_ttl is None and op.metadata is None:
            status, latency = self.stores[op.store].put(ctx.edge.index, op.key, op.value, self.env.now)
            if status is KVStatus.RATE_LIMITED and self._refused is not None:
                self._refused(ctx.edge.index, op.key, ctx.node, self.env.now)
            return _status_result(status, op.key), latency
        now = self.env.now
        # expiration_ttl counts from the write as the store serves it (the world's clock); it wins over expiration
        expiration = now + op.expiration_ttl if op.expiration_ttl is not None else op.expiration
        store = self.stores[op.store]
        status, latency = store.put(ctx.edge.index, op.key, op.value, now, expiration=expiration, metadata=op.metadata)
        if status is KVStatus.INVALID and expiration is not None:
            return KVFailure(400, op.key, expiration_error(expiration, now)), latency
        if status is KVStatus.RATE_LIMITED and self._refused is not None:
            self._refused(ctx.edge.index, op.key, ctx.node, now)
        return _status_result(status, op.key), latency

    def _kv_delete(self, ctx: Ctx, op: KvDelete) -> tuple[Any, float]:
        status, latency = self.stores[op.store].delete(ctx.edge.index, op.key, self.env.now)
        if status is KVStatus.RATE_LIMITED and self._refused is not None:
            self._refused(ctx.edge.index, op.key, ctx.node, self.env.now)
        return _status_result(status, op.key), latency

    def _kv_list(self, ctx: Ctx, op: KvList) -> tuple[Any, float]:
        store = self.stores[op.store]
        keys, cursor, latency = store.list(ctx.edge.index, op.prefix, self.env.now, op.cursor, op.with_info)
        if keys is KV_UNAVAILABLE:
            return KVFailure(503, op.prefix), latency
        if self.kv_watchers and store is self.kv:
            names = tuple(k[0] for k in keys) if op.with_info else tuple(keys)
            for watcher in list(self.kv_watchers):
                if watcher.listed(ctx.edge.index, op.prefix, op.cursor, names, cursor, self.env.now):
                    self.kv_watchers.remove(watcher)
        return (keys, cursor), latency

    def _kv_cas(self, ctx: Ctx, op: KvCas) -> tuple[Any, float]:
        ok, current, latency = self.stores[op.store].cas(ctx.edge.index, op.key, op.expected, op.new, self.env.now)
        if current is KV_UNAVAILABLE:
            return KVFailure(503, op.key), latency
        return (ok, current), latency

    def _strong_update(self, ctx: Ctx, op: StrongUpdate) -> tuple[Any, float]:
        now = self.env.now
        update = op.update if not op.clock else partial(_clocked, op.update, now)  # the object's clock: true time
        result, latency = self.stores[STRONG].update(ctx.edge.index, op.key, update, op.arg, now)
        if result is KV_UNAVAILABLE:
            return KVFailure(503, op.key), latency
        return result, latency

    def _resolve(self, ctx: Ctx, op: Resolve) -> tuple[Any, float]:
        if self.dns is None:
            return (), 0.0
        return self.dns.resolve(op.name)

    def _now(self, ctx: Ctx, op: Now) -> tuple[Any, float]:
        if op.monotonic:
            return ctx.clock.monotonic(self.env.now), 0.0
        return ctx.clock.local(self.env.now), 0.0

    def _random(self, ctx: Ctx, op: Random) -> tuple[Any, float]:
        return ctx.uniform(), 0.0

    def _sleep(self, ctx: Ctx, op: Sleep) -> tuple[Any, float]:
        return None, ctx.clock.true_duration(op.seconds)

    def _trace(self, ctx: Ctx, op: Trace) -> tuple[Any, float]:
        self.hooks.trace(op.event, op.fields, ctx.node, self.env.now)
        return None, 0.0

    # --- timed operations: runtime generators ----------------------------------------------------------

    def _read_load(self, ctx: Ctx, op: ReadLoad, driver: Driver) -> Generator[Any, Any, MachineStats]:
        window = ctx.clock.true_duration(op.interval)
        yield window
        machine = ctx.machine
        assert machine is not None, "ReadLoad outside a machine"
        now = self.env.now
        return MachineStats(machine_load(machine, now, "cpu", window), machine.memory_gb,
                            machine_load(machine, now, "queue"))  # fmt: skip

    def _live_load(self, ctx: Ctx, op: LiveLoad) -> tuple[tuple[float, ...], float]:
        now, tunnels = self.env.now, self.tunnels
        loads = []
        for url in op.tunnels:
            machine = tunnels.get(url)
            loads.append(machine_load(machine, now, op.signal) if machine is not None else 0.0)
        return tuple(loads), 0.0

    def _http(self, ctx: Ctx, op: HttpCall, driver: Driver) -> Generator[Any, Any, Response]:
        """The generator that carries out one HTTP call, chosen by its URL."""
        if op.url.__class__ is not str:  # a tunnel_url the baseline stored from a malformed registration
            return _invalid_url(op, driver.record)
        if op.url == COORDINATOR:
            return self._call_coordinator(ctx, op, driver)
        if op.url.startswith(LOCALHOST):
            return self._call_localhost(ctx, op)
        if op.path.startswith(LOAD_PATH):
            return self._call_load(ctx, op)
        return self._call_tunnel(ctx, op, driver.record)

    def _concurrently(self, ctx: Ctx, op: Concurrently, driver: Driver) -> Generator[Any, Any, tuple[Any, ...]]:
        """Each call as its own driver at the caller's node (no request record); the tuple of results when the last
        one ends."""
        results: list[Any] = [None] * len(op.calls)
        state = {"left": len(op.calls), "parked": False}
        token = driver.token

        def ended(i: int, value: Any, exc: BaseException | None) -> None:
            if exc is not None and not isinstance(exc, (ConnectError, RequestTimeout)):
                raise exc
            results[i] = exc if exc is not None else value
            state["left"] -= 1
            if state["left"] == 0 and state["parked"]:
                driver.wake(token, tuple(results))

        for i, call in enumerate(op.calls):
            Driver(self, _single(call), ctx, partial(ended, i)).start()
        if state["left"] == 0:
            return tuple(results)
        state["parked"] = True
        return (yield PARK)

    def _call_load(self, ctx: Ctx, op: HttpCall) -> Generator[Any, Any, Response]:
        """The agent's load endpoint: a round trip, answered on arrival with the container's requests in flight."""
        env, net = self.env, self.net
        start = env.now
        timeout = self.platform_timeout if op.timeout is None else op.timeout
        machine = self.tunnels.get(op.url)
        if machine is None or machine.state != "up":
            return (yield from self._fail_connect(None, min(timeout, net.connect_timeout), timeout))
        src, dst = ctx.node, machine.node
        if not net.delivered(src, dst, start):
            return (yield from self._fail_timeout(None, timeout))
        there = net.latency(src, dst)
        back = net.latency(dst, src)
        if there + back > timeout:
            return (yield from self._fail_timeout(None, timeout))
        yield there
        if machine.state != "up":
            return (yield from self._fail_connect(None, start + min(timeout, net.connect_timeout) - env.now, timeout))
        container = machine.containers.get(op.path[len(LOAD_PATH) :])
        if container is None or not container.up:
            yield back
            raise ConnectError(op.url)
        in_flight = container.in_flight(env.now)
        if not net.delivered(dst, src, env.now):
            return (yield from self._fail_timeout(None, start + timeout - env.now))
        yield back
        return Response(200, {"in_flight": in_flight})

    def _call_localhost(self, ctx: Ctx, op: HttpCall) -> Generator[Any, Any, Response]:
        machine = ctx.machine
        container = machine.container_on_port(int(op.url[len(LOCALHOST) :])) if machine else None
        if container is None or not container.up:
            raise ConnectError(op.url)
        if container.hung:
            yield op.timeout if op.timeout is not None else self.platform_timeout
            raise RequestTimeout(op.url)
        return Response(200, {"status": "healthy", "version": container.version})

    def _call_coordinator(self, ctx: Ctx, op: HttpCall, driver: Driver) -> Generator[Any, Any, Response]:
        env, net, edge = self.env, self.net, ctx.edge
        deadline = env.now + (op.timeout if op.timeout is not None else self.platform_timeout)
        if not net.delivered(ctx.node, edge.name, env.now):
            yield deadline - env.now
            raise RequestTimeout(op.path)
        server_ctx = edge.ctx
        request = Request(op.method, op.path, op.body, _with_address(op.headers, ctx.node))
        reply = partial(self._reply_to_agent, ctx.node, edge.name, driver, driver.token, deadline)
        arrive = partial(self._agent_invocation, request, edge, server_ctx, reply)
        env.call_later(net.latency(ctx.node, edge.name), arrive)
        return (yield PARK)

    def _agent_invocation(self, request: Request, edge: Edge, server_ctx: Ctx, reply: Any, _call: Any) -> None:
        """An agent's call reached its edge: the handler runs there, one more Worker invocation."""
        self.invocations["agent"] += 1
        Driver(self, self.coordinator.handle(request, edge.landing()), server_ctx, reply).start()

    def _reply_to_agent(
        self,
        node: str,
        edge_name: str,
        driver: Driver,
        token: int,
        deadline: float,
        resp: Response,
        exc: BaseException | None,
    ) -> None:
        """Carry the coordinator's answer back; a lost answer, or one later than ``deadline``, is a timeout
        at the deadline (or, when the handler itself ran past it, as soon as it ends)."""
        if exc is not None:
            raise exc
        now = self.env.now
        back = self.net.latency(edge_name, node) if self.net.delivered(edge_name, node, now) else None
        if back is not None and now + back <= deadline:
            self.env.call_later(back, lambda _c: driver.wake(token, resp))
        else:
            late = max(0.0, deadline - now)
            self.env.call_later(late, lambda _c: driver.wake(token, None, RequestTimeout("no answer in time")))

    def _call_tunnel(self, ctx: Ctx, op: HttpCall, record: RequestRecord | None) -> Generator[Any, Any, Response]:
        env, net = self.env, self.net
        start = env.now
        timeout = self.platform_timeout if op.timeout is None else op.timeout
        machine = self.tunnels.get(op.url)
        if record is not None:
            record.attempts += 1
            target = record.target = machine.name if machine is not None else op.url
            if record.first_target is None:
                record.first_target = target
            elif record.retried_at is None and target != record.first_target:
                record.retried_at, record.retried_onto = env.now, target
            record.target_up = machine is not None and machine.state == "up"
        if machine is None or machine.state != "up":
            return (yield from self._fail_connect(record, min(timeout, net.connect_timeout), timeout))
        src, dst = ctx.node, machine.node
        if not (net.perfect or net.delivered(src, dst, start)):  # the test first: the call's cost on the hot path
            return (yield from self._fail_timeout(record, timeout))
        yield net.latency(src, dst)
        now = env.now  # the forward reached the machine; no wait from here to the container's schedule
        if machine.state != "up":
            return (yield from self._fail_connect(record, start + min(timeout, net.connect_timeout) - now, timeout))
        incarnation = machine.incarnation
        service = self._path_services.get(op.path)
        if service is None:  # /{service}/...: parsed once per distinct path (a forward's paths are few)
            service = op.path.split("/", 2)[1]
            if len(self._path_services) < 1024:
                self._path_services[op.path] = service
        container = machine.containers.get(service)
        headers = dict(op.headers) if op.headers else None
        if headers and container is not None and container.up and not _accepts(container, headers):
            yield net.latency(dst, src)
            if record is not None:
                record.refused += 1
            return self._answer(record, "version_mismatch", Response(412, {"error": "version mismatch"}))
        if record is not None:  # sticky: did any forward of this request reach a broken container?
            record.target_broken = bool(record.target_broken) or (
                container is None
                or not container.up
                or container.hung
                or container.error_rate > 0.0
                or container.slow != 1.0
            )
        back = net.latency(dst, src)
        if container is None or not container.up:
            yield back
            return self._answer(record, "service_error", Response(502, {"error": "bad gateway"}))
        propagated = headers.get(REQUEST_TIMEOUT) if headers else None
        admission = container.submit(now) if propagated is None else container.submit(now, now + float(propagated))
        assert admission is not None, "an up container admits every request"
        report = headers is not None and LOAD_REPORT in headers
        if admission.refused:  # admission control: a fast 503, nothing queued
            load = container.in_flight(now) if report else None
            yield back
            return self._answer(record, "overloaded", OVERLOADED if load is None else _reporting(OVERLOADED, load))
        done = admission.finish + back
        if done - start > timeout or not (net.perfect or net.delivered(dst, src, admission.finish)):
            # too slow, or the answer is lost (a one-way partition from the machine): the caller times out
            return (yield from self._fail_timeout(record, start + timeout - now))
        if report:  # the figure is read when the machine answers, then the answer travels back
            yield admission.finish - now
            load = container.in_flight(env.now)
            yield done - env.now
        else:
            load = None
            yield done - now
        if machine.incarnation != incarnation or machine.state != "up":
            if record is not None:
                record.forward = "connect_error"
            raise ConnectError(op.url)
        if not container.completed_ok(admission):
            return self._answer(record, "service_error", Response(502, {"error": "connection reset"}))
        if admission.error:
            error = Response(500, {"error": "internal error"})
            return self._answer(record, "service_error", error if load is None else _reporting(error, load))
        if record is not None:
            record.forward = "ok"
            record.version = container.version
        ok = self._ok_responses.get((machine.name, service, container.version))
        if ok is None:
            ok = Response(200, {"served_by": machine.name, "version": container.version})
            self._ok_responses[(machine.name, service, container.version)] = ok
        return ok if load is None else _reporting(ok, load)

    def _fail_connect(self, record: RequestRecord | None, wait: float, timeout: float) -> Generator[Any, Any, Any]:
        yield max(0.0, wait)
        if record is not None:
            record.forward = "connect_error" if wait < timeout else "timeout"
        raise ConnectError("connection failed") if wait < timeout else RequestTimeout("timeout")

    def _fail_timeout(self, record: RequestRecord | None, wait: float) -> Generator[Any, Any, Any]:
        yield max(0.0, wait)
        if record is not None:
            record.forward = "timeout"
        raise RequestTimeout("timeout")

    @staticmethod
    def _answer(record: RequestRecord | None, forward: str, response: Response) -> Response:
        if record is not None:
            record.forward = forward
        return response


#: The answer of a provider whose admission control refused a request (nothing was queued or done).
OVERLOADED = Response(503, {"error": "overloaded", "retry_after": 1})


def machine_load(machine: Machine, now: float, signal: str, window: float = 1.0) -> float:
    """A machine's load over its containers: ``cpu``, busy slot-seconds over the last ``window`` / capacity plus
    a background process's share (at most 1, as psutil); ``queue``, requests in flight / capacity (unbounded)."""
    used = capacity = 0.0
    for container in machine.containers.values():
        if signal == "cpu":
            used += container.busy_fraction(now - window, now) * container.capacity
        else:
            used += container.in_flight(now)
        capacity += container.capacity
    if signal == "cpu":
        return min(1.0, (used / capacity if capacity else 0.0) + machine.cpu_hog)
    return used / capacity if capacity else 0.0


def _reporting(response: Response, in_flight: int) -> Response:
    """``response`` with the load report header :data:`~rmasim.system.ops.IN_FLIGHT`."""
    return Response(response.status, response.body, ((IN_FLIGHT, str(in_flight)),))


def _with_address(headers: tuple[tuple[str, str], ...], node: str) -> tuple[tuple[str, str], ...]:
    """The caller's headers as the coordinator gets them: any ``cf-connecting-ip`` it sent dropped, the platform's
    own (the caller node's address) appended."""
    if not headers:  # an agent's call without credentials: the same headers every time
        return _address_only(node)
    kept = tuple(h for h in headers if h[0].lower() != CONNECTING_IP)
    return (*kept, (CONNECTING_IP, node_address(node)))


@lru_cache(maxsize=4096)
def _address_only(node: str) -> tuple[tuple[str, str], ...]:
    """The headers of a call that sent none: only the platform's ``cf-connecting-ip``."""
    return ((CONNECTING_IP, node_address(node)),)


def _clocked(update: Callable[..., Any], now: float, value: Any, arg: Any) -> Any:
    """A Durable Object method that reads the object's clock (``StrongUpdate(clock=True)``)."""
    return update(value, arg, now)


def _invalid_url(op: HttpCall, record: RequestRecord | None) -> Generator[Any, Any, Any]:
    """A call whose URL is not a string fails at once, as ``fetch()`` rejects a URL it cannot parse (a
    ``TypeError`` the caller sees as a failed connection); a forward's record names the URL by its repr."""
    if record is not None:
        record.attempts += 1
        record.target, record.target_up, record.forward = repr(op.url), False, "connect_error"
    raise ConnectError(f"invalid URL {op.url!r}")
    yield  # a generator, as every timed operation's carrier


def _single(call: HttpCall) -> Generator[Any, Any, Any]:
    """A one-call system generator: a :class:`~rmasim.system.ops.Concurrently` call run as its own driver."""
    return (yield call)


def _accepts(container: Any, headers: dict[str, str]) -> bool:
    """False when the forward names a version (:data:`EXPECTED_VERSION`) other than the container's."""
    expected = headers.get(EXPECTED_VERSION)
    return expected is None or expected == container.version


def _status_result(status: Any, key: str) -> Any:
    if status is KVStatus.OK:
        return None
    return KVFailure(429 if status is KVStatus.RATE_LIMITED else 503, key)
