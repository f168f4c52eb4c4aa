"""A Cloudflare Worker module as the coordinator: each invocation a generator that yields the system's operations.

``WorkerCoordinator`` has the interface the runtime drives for the Python coordinator (:class:`Invocable`):
``handle(request, isolate)`` and ``scheduled(isolate)`` return generators that yield :mod:`rmasim.system.ops`
operations and return an :class:`~rmasim.system.ops.Response`. Behind them a Node.js host
(:class:`~.host.NodeHost`, any :class:`~.protocol.HostLink`) runs the JavaScript in lockstep. One invocation is
the loop:

1. read the edge clock (``Now``) and, when the isolate's random buffer needs it, draw floats from the edge's
   stream (``Random``: the same stream the Python coordinator draws from, in the order the Worker consumes them);
2. send the host one message (the request, or the result of the operation in flight) and read its one reply;
3. yield a ``Trace("console", ...)`` per ``console`` line, and the coordinator-side facts the checkers need
   (below);
4. the reply is an operation: yield it and go to 1 with its result (a failure is thrown into the Worker as
   Workers throws it); or the completion: return the Worker's ``Response`` (an uncaught exception: a 500, as
   Workers answers, with a ``worker_exception`` trace carrying the stack). When the handler answered while its
   ``ctx.waitUntil()`` work goes on, yield :class:`~rmasim.system.ops.Respond` (the caller gets the answer now)
   and go on until that work ends.

Each ``Isolate`` the runtime passes (one per edge) is one JavaScript context in the host, made on first use, so
module-level state lives as long as the edge. The Worker's Cron Triggers are checked once a simulated minute
(:data:`CRON_TICK`: the runtime's ``start_cron``); a minute that matches no cron costs nothing.

The checkers learn who is who from traces the Python coordinator emits (``worker_id_assigned``,
``leadership_claimed``). A JavaScript Worker does not emit them, so a :class:`Witness` reads them off the
operations of the baseline KV layout (:class:`BaselineWitness`; :data:`WITNESSES`).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..coordinator import Isolate
from ..coordinator.keys import HEARTBEAT_LEADER, WORKER_PREFIX
from ..ops import WORKER_EXCEPTION, KvPut, Now, Op, Random, Request, Respond, Response, Sleep, Trace
from .config import WorkerConfig
from .host import NodeHost
from .protocol import (
    Completion,
    HostLink,
    HostOp,
    Message,
    decode_body,
    decode_reply,
    dumps,
    encode_failure,
    encode_result,
)

__all__ = [
    "CRON_TICK",
    "ORIGIN",
    "RANDOM_BUFFER",
    "RESPONSE_LIMIT",
    "SCHEDULED_LIMIT",
    "WAIT_UNTIL_LIMIT",
    "BaselineWitness",
    "Invocable",
    "Witness",
    "WorkerCoordinator",
]

#: Seconds between two checks of the Worker's Cron Triggers (their resolution: one minute).
CRON_TICK = 60.0
#: The origin of the URLs a Worker sees in ``request.url`` (paths are the runtime's).
ORIGIN = "https://coordinator.invalid"
#: Simulated seconds a ``fetch`` handler may take to respond. Workers sets no wall-time limit while the client
#: stays connected; Cloudflare's edge gives up on an answer after 100 s (error 524), and every caller in the world
#: times out sooner, so a handler still running then is ended with Workers' "hung" error (a 500).
RESPONSE_LIMIT = 100.0
#: Simulated seconds ``ctx.waitUntil()`` work may go on after the response ("up to 30 seconds", Workers docs:
#: runtime-apis/context); then it is cancelled and counted as an error.
WAIT_UNTIL_LIMIT = 30.0
#: Simulated seconds a ``scheduled()`` invocation may run (Cron Triggers: 15 minutes of wall time).
SCHEDULED_LIMIT = 900.0
#: Random floats the host keeps per isolate; a Worker drawing more between two I/O operations gets an error.
RANDOM_BUFFER = 256

_NOW = Now()
_RANDOM = Random()
Invocation = Generator[Op, Any, Response]


class Invocable(Protocol):
    """What the runtime drives: the Python :class:`~rmasim.system.coordinator.Coordinator` and this class."""

    def handle(self, req: Request, isolate: Isolate | None = None) -> Invocation: ...

    def scheduled(self, isolate: Isolate | None = None) -> Invocation: ...


class Witness(Protocol):
    """Emits the traces the checkers rely on, from what an invocation does (the Worker cannot know them)."""

    def before(self, request: Request, op: Op, state: dict[str, Any]) -> list[Trace]:
        """Traces to yield before ``op`` (``state``: this invocation's scratch space)."""
        ...

    def after(self, request: Request, op: Op, state: dict[str, Any]) -> list[Trace]:
        """Traces to yield once ``op`` succeeded."""
        ...


class BaselineWitness:
    """The baseline layout's facts, read off a registration's writes: the first ``worker:{id}`` record written by
    ``POST /api/worker/register`` assigns ``id`` to the record's ``tunnel_url``; an accepted write of
    ``heartbeat_leader`` there is a leadership claim (the Python coordinator traces both, at its id draw and
    after that write)."""

    REGISTER = "/api/worker/register"

    def before(self, request: Request, op: Op, state: dict[str, Any]) -> list[Trace]:
        if request.path != self.REGISTER or op.__class__ is not KvPut or "assigned" in state:
            return []
        assert isinstance(op, KvPut)
        if not op.key.startswith(WORKER_PREFIX) or not isinstance(op.value, dict):
            return []
        state["assigned"] = True
        worker_id = op.key[len(WORKER_PREFIX) :]
        return [Trace("worker_id_assigned", {"worker_id": worker_id, "tunnel_url": op.value.get("tunnel_url")})]

    def after(self, request: Request, op: Op, state: dict[str, Any]) -> list[Trace]:
        if request.path == self.REGISTER and op.__class__ is KvPut:
            assert isinstance(op, KvPut)
            if op.key == HEARTBEAT_LEADER:
                return [Trace("leadership_claimed", {"worker_id": op.value})]
        return []


#: Registry layouts a Worker may keep -> the witness of its facts.
WITNESSES: Mapping[str, Witness] = {"shared_lists": BaselineWitness()}


def _exception_fields(req: Request, error: Mapping[str, Any]) -> dict[str, Any]:
    return {"path": req.path, "message": error.get("message"), "stack": error.get("stack")}


@dataclass
class _IsolateState:
    """The Python side's view of one JavaScript context: its id and how full its random buffer is."""

    number: int
    random_level: int = 0


@dataclass
class WorkerCoordinator:
    """A Worker module served by a host (see the module docstring). Implements :class:`Invocable`."""

    config: WorkerConfig
    host: HostLink
    witness: Witness = field(default_factory=BaselineWitness)
    random_buffer: int = RANDOM_BUFFER
    _isolates: list[_IsolateState] = field(default_factory=list, repr=False)
    _next_invocation: int = field(default=0, repr=False)
    _ticks: int = field(default=0, repr=False)
    _default_isolate: Isolate = field(default_factory=Isolate, repr=False)

    @classmethod
    def start(cls, config: WorkerConfig, node: str | None = None) -> WorkerCoordinator:
        """Start a Node.js host for the Worker ``config`` names and load it (a load error is raised here)."""
        return cls(config, NodeHost(config, node))

    @property
    def crons(self) -> tuple[str, ...]:
        """The Worker's Cron Trigger expressions."""
        return tuple(c.expression for c in self.config.crons)

    def close(self) -> None:
        """Stop the host."""
        self.host.close()

    def _isolate(self, isolate: Isolate | None) -> _IsolateState:
        if isolate is None:  # a caller without edges (a test): one context for all its calls
            isolate = self._default_isolate
        return isolate.kept("js_context", self._new_isolate)

    def _new_isolate(self) -> _IsolateState:
        state = _IsolateState(len(self._isolates))
        self._isolates.append(state)
        return state

    def handle(self, req: Request, isolate: Isolate | None = None) -> Invocation:
        """Serve one request in the Worker's ``fetch`` handler, in the edge's context."""
        headers = [["content-type", "application/json"]] if req.body is not None else []
        headers += [[name, value] for name, value in req.headers]
        message: Message = {
            "t": "fetch",
            "req": {
                "method": req.method,
                "url": ORIGIN + req.path,
                "headers": headers,
                "body": None if req.body is None else dumps(req.body),
            },
        }
        return self._invoke(message, self._isolate(isolate), req)

    def scheduled(self, isolate: Isolate | None = None) -> Invocation:
        """One tick of the Cron Triggers (every :data:`CRON_TICK` from t = CRON_TICK): run ``scheduled()`` once for
        each cron that matches this minute, in the order of the configuration."""
        state = self._isolate(isolate)
        self._ticks += 1
        minute = self._ticks * CRON_TICK
        response = Response(200, {"crons": []})
        for cron in self.config.crons:
            if cron.matches(minute):
                message: Message = {"t": "scheduled", "cron": cron.expression, "time": minute * 1000.0}
                response = yield from self._invoke(message, state, Request("SCHEDULED", cron.expression))
        return response

    def _invoke(self, message: Message, isolate: _IsolateState, req: Request) -> Invocation:
        invocation = self._next_invocation
        self._next_invocation += 1
        message["inv"] = invocation
        message["iso"] = isolate.number
        scratch: dict[str, Any] = {}
        witness = self.witness
        responded: Response | None = None
        deadline = None
        while True:
            now = yield _NOW
            if deadline is None:
                deadline = now + (SCHEDULED_LIMIT if message["t"] == "scheduled" else RESPONSE_LIMIT)
            elif now >= deadline and message["t"] in ("result", "fail"):  # past the limit: the platform ends it
                message = {"t": "cancel", "inv": invocation, "responded": responded is not None}
            message["now"] = now * 1000.0
            need = self.random_buffer - isolate.random_level
            if need:
                floats = []
                for _ in range(need):
                    floats.append((yield _RANDOM))
                message["rand"] = floats
                isolate.random_level = self.random_buffer
            reply = decode_reply(self.host.exchange(message))
            isolate.random_level -= reply.used
            for level, text in reply.logs:
                yield Trace("console", {"level": level, "message": text})
            if reply.completion is not None:
                if responded is not None:  # the caller has its answer; the waitUntil() work is over
                    if reply.completion.error is not None:  # cut at the limit
                        yield Trace(WORKER_EXCEPTION, _exception_fields(req, reply.completion.error))
                    return responded
                response = yield from self._complete(reply.completion, req)
                if not reply.early:
                    return response
                yield Respond(response)
                responded = response
                deadline = now + WAIT_UNTIL_LIMIT
                message = {"t": "next", "inv": invocation}
                continue
            operation: HostOp = reply.operation  # type: ignore[assignment]  # not a completion: an operation
            op = operation.op
            if op.__class__ is Sleep and now + op.seconds > deadline:  # type: ignore[attr-defined]
                op = Sleep(max(0.0, deadline - now))  # a timer past the limit: the invocation ends first
            for trace in witness.before(req, op, scratch):
                yield trace
            try:
                result = yield op
            except Exception as error:  # an operation's failure, thrown into the Worker
                message = {"t": "fail", "inv": invocation, "error": encode_failure(error)}
                continue
            for trace in witness.after(req, op, scratch):
                yield trace
            message = {"t": "result", "inv": invocation, "value": encode_result(operation.kind, result)}

    def _complete(self, completion: Completion, req: Request) -> Invocation:
        """The invocation's answer: the Worker's response, or a 500 for an uncaught exception."""
        if completion.error is not None:
            error = completion.error
            yield Trace(WORKER_EXCEPTION, _exception_fields(req, error))
            return Response(500, {"error": f"{error.get('name', 'Error')}: {error.get('message')}",
                                  "worker_exception": True})  # fmt: skip
        if completion.status is None:  # a scheduled() invocation
            return Response(200, {"crons": [req.path]})
        return Response(completion.status, decode_body(completion.body))
