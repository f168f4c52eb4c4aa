"""The lockstep protocol between the Python runtime and the Node.js Worker host (``rmasim/js/host.mjs``).

Line-delimited JSON over the host's stdin/stdout. Python sends one message and reads exactly one reply (see the
host's header comment for the message shapes). This module is the typed edge of that pipe: it turns a host's
operation request into an :mod:`rmasim.system.ops` operation, the world's answer back into what the host expects,
and a reply into a :class:`Reply` value; it does no I/O.

KV values: the world stores JSON-compatible values. A Worker ``put()``s strings; a string that is JSON and reads
back identically travels as ``{"json": text}`` and is stored parsed (so the registry checkers read records and
lists as the Python coordinator writes them); any other string travels as ``{"text": s}`` and is stored as a
Python ``str``. A read sends a ``str`` back as text. An object or array a Worker wrote is stored as a
:class:`WrittenDict` / :class:`WrittenList` (a ``dict`` / ``list`` that also keeps the text it was parsed from),
and a read sends that text back spliced into the message as JSON (``{"parsed": ...}``, :class:`RawJson`): it is
not serialised again in Python, and the host's one parse of the message gives the Worker its objects (a
``"text"`` read gives ``JSON.stringify`` of them: the text written, which is why only such texts travel as JSON).
Any other value (one the world wrote) goes as JSON text that the host re-serialises in JavaScript, so the Worker
reads what ``JSON.stringify`` would have written.

Key expiration and metadata: a ``put`` carries ``expiration`` / ``expirationTtl`` / ``metadata`` only when the
Worker gave them; ``get_meta`` / ``get_many_meta`` (``getWithMetadata``) answer ``{"v": value, "m": metadata}``;
a ``list`` is always read with its keys' info and answers ``{"keys": [names], "cursor", "info": [[index,
expiration, metadata], ...]}``, ``info`` only for the keys that have an expiration or metadata (none: absent).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import ops

__all__ = [
    "Completion",
    "HostLink",
    "HostOp",
    "RawJson",
    "Reply",
    "WrittenDict",
    "WrittenList",
    "decode_body",
    "decode_op",
    "decode_reply",
    "dumps",
    "encode_failure",
    "encode_message",
    "encode_result",
    "encode_value",
]

Message = dict[str, Any]


class HostLink(Protocol):
    """One Worker host process, seen from Python: send a message, get its one reply."""

    def exchange(self, message: Mapping[str, Any]) -> Message:
        """Send ``message`` and return the host's reply (raises when the host is gone)."""
        ...

    def close(self) -> None:
        """Stop the host."""
        ...


#: One encoder for every message: json.dumps with arguments builds an encoder per call, which was a third of a
#: message's encoding time; no check for circular values (messages are trees).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False)


def dumps(value: Any) -> str:
    """Compact JSON, as both ends write it (no NaN: JavaScript's JSON has none)."""
    return _ENCODER.encode(value)


# --- values ----------------------------------------------------------------------------------------------------


class WrittenDict(dict[str, Any]):
    """A JSON object a Worker wrote: the parsed ``dict``, and ``text``, the exact string the Worker put."""

    __slots__ = ("text",)
    text: str


class WrittenList(list[Any]):
    """A JSON array a Worker wrote: the parsed ``list``, and ``text``, the exact string the Worker put."""

    __slots__ = ("text",)
    text: str


def encode_value(value: Any) -> Message | None:
    """A stored value as the host reads it: ``None`` (missing), ``{"text": s}`` or ``{"json": text}``."""
    if value is None:
        return None
    kind = value.__class__
    if kind is WrittenDict or kind is WrittenList:
        return {"text": value.text}
    if isinstance(value, str):
        return {"text": value}
    return {"json": dumps(value)}


class RawJson(str):
    """JSON text to put into a message as it is (a value of :func:`encode_result`, spliced by
    :func:`encode_message`): the records a Worker wrote go back as the JSON they are, not as strings of JSON."""

    __slots__ = ()


def _raw_value(value: Any) -> str:
    """One stored value as message JSON: ``null``, ``{"parsed": <the JSON a Worker wrote>}``, or as
    :func:`encode_value` gives it."""
    kind = value.__class__
    if kind is WrittenDict or kind is WrittenList:
        return '{"parsed":' + value.text + "}"
    return dumps(encode_value(value))


def encode_message(message: Mapping[str, Any]) -> bytes:
    """A message as one protocol line; a :class:`RawJson` ``value`` is spliced in without being serialised."""
    value = message.get("value")
    if value.__class__ is not RawJson:
        return (dumps(message) + "\n").encode()
    rest = dumps({k: v for k, v in message.items() if k != "value"})
    return (rest[:-1] + ',"value":' + value + "}\n").encode()


def decode_stored(stored: Mapping[str, Any]) -> Any:
    """What a Worker ``put()`` stores: the parsed JSON (an object or array keeps its text), or the text itself."""
    if "json" in stored:
        text = stored["json"]
        value = json.loads(text)
        kind = value.__class__
        if kind is dict:
            value = WrittenDict(value)
        elif kind is list:
            value = WrittenList(value)
        else:
            return value
        value.text = text
        return value
    return str(stored["text"])


def decode_body(text: str | None) -> Any:
    """An HTTP body as the system's ``Request``/``Response`` carry it: JSON parsed, else the text, else None."""
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


# --- operations ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HostOp:
    """A host's operation request, translated: the operation to yield and how to answer the host with its result."""

    op: ops.Op
    kind: str
    """The host's name for it (``get``, ``get_meta``, ``get_many``, ``get_many_meta``, ``put``, ``delete``, ``list``,
    ``fetch``, ``sleep``)."""


def _get(raw: Mapping[str, Any]) -> ops.Op:
    return ops.KvGet(raw["key"])


def _get_meta(raw: Mapping[str, Any]) -> ops.Op:
    return ops.KvGet(raw["key"], with_metadata=True)


def _get_many(raw: Mapping[str, Any]) -> ops.Op:
    return ops.KvGetMany(tuple(raw["keys"]))


def _get_many_meta(raw: Mapping[str, Any]) -> ops.Op:
    return ops.KvGetMany(tuple(raw["keys"]), with_metadata=True)


def _put(raw: Mapping[str, Any]) -> ops.Op:
    if len(raw) == 3:  # k, key and the value: no options (the common case)
        return ops.KvPut(raw["key"], decode_stored(raw))
    return ops.KvPut(raw["key"], decode_stored(raw), expiration=raw.get("expiration"),
                     expiration_ttl=raw.get("expirationTtl"), metadata=raw.get("metadata"))  # fmt: skip


def _delete(raw: Mapping[str, Any]) -> ops.Op:
    return ops.KvDelete(raw["key"])


def _list(raw: Mapping[str, Any]) -> ops.Op:
    return ops.KvList(raw.get("prefix") or "", raw.get("cursor"), with_info=True)


def _fetch(raw: Mapping[str, Any]) -> ops.Op:
    headers = tuple((str(name), str(value)) for name, value in raw.get("headers", ()))
    return ops.HttpCall(raw["url"], raw["method"], raw["path"], decode_body(raw.get("body")), raw.get("timeout"),
                        headers)  # fmt: skip


def _sleep(raw: Mapping[str, Any]) -> ops.Op:
    return ops.Sleep(float(raw["seconds"]))


#: The host's operation kinds -> their translation into system operations.
OPERATIONS: Mapping[str, Callable[[Mapping[str, Any]], ops.Op]] = {
    "get": _get,
    "get_meta": _get_meta,
    "get_many": _get_many,
    "get_many_meta": _get_many_meta,
    "put": _put,
    "delete": _delete,
    "list": _list,
    "fetch": _fetch,
    "sleep": _sleep,
}


def decode_op(raw: Mapping[str, Any]) -> HostOp:
    """The system operation a host's request ``{"k": kind, ...}`` stands for."""
    kind = raw.get("k")
    translate = OPERATIONS.get(str(kind))
    if translate is None:
        raise ValueError(f"the Worker host asked for an unknown operation {kind!r}")
    return HostOp(translate(raw), str(kind))


def encode_result(kind: str, result: Any) -> Any:
    """The world's answer to an operation of ``kind``, as the host expects it."""
    if kind == "get":
        return RawJson(_raw_value(result))
    if kind == "get_many":
        return RawJson("[" + ",".join([_raw_value(v) for v in result]) + "]")
    if kind == "list":
        keys, cursor = result
        info = [[i, expiration, metadata] for i, (_, expiration, metadata) in enumerate(keys)
                if expiration is not None or metadata is not None]  # fmt: skip
        answer = {"keys": [name for name, _, _ in keys], "cursor": cursor}
        if info:
            answer["info"] = info
        return answer
    if kind == "get_meta":
        value, metadata = result
        return RawJson('{"v":' + _raw_value(value) + ',"m":' + dumps(metadata) + "}")
    if kind == "get_many_meta":
        values, metadata = result
        return RawJson('{"v":[' + ",".join([_raw_value(v) for v in values]) + '],"m":' + dumps(list(metadata)) + "}")
    if kind == "fetch":
        return {"status": result.status, "body": encode_value(result.body)}
    return None


def encode_failure(error: BaseException) -> Message:
    """An operation's failure, as the host throws it into the Worker."""
    if isinstance(error, ops.KVFailure):
        if error.detail:
            return {"kind": "kv", "status": error.status, "key": error.key, "detail": error.detail}
        return {"kind": "kv", "status": error.status, "key": error.key}
    if isinstance(error, ops.ConnectError):
        return {"kind": "connect", "message": str(error)}
    if isinstance(error, ops.RequestTimeout):
        return {"kind": "timeout", "message": str(error)}
    return {"kind": "error", "message": f"{type(error).__name__}: {error}"}


# --- replies ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Completion:
    """An invocation ended: its HTTP answer (``status``, ``body`` text), or the ``error`` it threw."""

    status: int | None = None
    body: str | None = None
    error: Mapping[str, Any] | None = None
    """``{"name", "message", "stack"}`` of an uncaught exception (``hung`` when it could never respond)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One reply of the host: the next operation, or the completion; and what else the drain produced."""

    invocation: int
    operation: HostOp | None
    completion: Completion | None
    used: int
    """Random floats of the isolate's buffer consumed during the drain."""
    logs: tuple[tuple[str, str], ...] = field(default=())
    """``console`` lines (level, text) written during the drain."""
    early: bool = False
    """The completion is a response sent while the invocation goes on (its ``ctx.waitUntil()`` work)."""


def decode_reply(raw: Mapping[str, Any]) -> Reply:
    """A host reply (``op``, ``respond`` or ``done``) as a :class:`Reply`."""
    lines = raw.get("logs")
    logs = tuple((str(level), str(text)) for level, text in lines) if lines else ()
    kind = raw.get("t")
    if kind == "op":
        return Reply(raw["inv"], decode_op(raw["op"]), None, int(raw.get("used", 0)), logs)
    if kind in ("done", "respond"):
        completion = Completion(raw.get("status"), raw.get("body"), raw.get("error"))
        return Reply(raw["inv"], None, completion, int(raw.get("used", 0)), logs, kind == "respond")
    raise ValueError(f"unexpected reply from the Worker host: {dumps(raw)[:300]}")
