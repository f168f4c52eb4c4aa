"""Scenario problems, located in the file they come from.

Every problem reads ``file:line:col: field.path: message`` (1-based line and column), and a ``ScenarioError``
carries all of a scenario's problems at once, so a user fixes a file in one pass.

A ``SourceMap`` remembers where each value and each key of the YAML document sits.
``problems_from_validation`` turns pydantic's error locations into those positions: a bad value points at the
value, an unknown key at the key, a missing field at the mapping that lacks it. Validators that check one
field against another raise ``LocatedErrors`` with paths relative to the validated field, so such problems are
located too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

__all__ = ["LocatedErrors", "Problem", "ScenarioError", "SourceMap", "problems_from_validation"]

Path = tuple[str | int, ...]
Position = tuple[int, int]

# Fields that tag a discriminated union: pydantic puts the tag value in the error location.
_DISCRIMINATORS = ("dist", "action")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario; ``str()`` gives ``file:line:col: field: message``."""

    file: str
    line: int | None
    col: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ScenarioError(Exception):
    """A scenario that cannot be loaded or validated; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(list(problems))

    @property
    def problems(self) -> list[Problem]:
        return self.args[0]

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


class LocatedErrors(ValueError):
    """Raised by a validator: problems at paths relative to the field being validated."""

    def __init__(self, errors: Iterable[tuple[Path, str]]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{'.'.join(map(str, path))}: {msg}" for path, msg in self.errors))


@dataclass
class SourceMap:
    """Positions (1-based line, col) of a YAML document's values and keys, by path."""

    file: str
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> Position | None:
        """Position of the value (or key) at ``path``, else of its nearest enclosing node."""
        if key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            if path[:end] in self.values:
                return self.values[path[:end]]
        return None


def _has(node: Any, seg: str | int) -> bool:
    """Whether ``seg`` is a key of mapping ``node`` or an index of list ``node``."""
    if isinstance(node, Mapping):
        return seg in node
    return isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node)


def _resolve(loc: Path, raw: Any) -> tuple[Path, Path, bool]:
    """Map a pydantic ``loc`` onto the raw data: (path that exists in raw, field path to print, at key?)."""
    node, found, printed, at_key = raw, [], [], False
    for depth, seg in enumerate(loc):
        if seg == "[key]":
            at_key = True
        elif _has(node, seg):
            found.append(seg)
            printed.append(seg)
            node = node[seg]
        elif isinstance(node, Mapping) and any(node.get(tag) == seg for tag in _DISCRIMINATORS):
            continue  # the union member chosen by the tag: not a path in the file
        elif isinstance(node, Mapping | list):
            printed.extend(s for s in loc[depth:] if s != "[key]")  # missing below an existing node
            break
        else:
            break  # below a scalar: the scalar itself is the bad value
    return tuple(found), tuple(printed), at_key


def _message(error: Mapping[str, Any]) -> str:
    kind, msg, ctx = error["type"], error["msg"], error.get("ctx") or {}
    if kind == "union_tag_invalid":
        discriminator = ctx["discriminator"].strip("'")
        return f"unknown {discriminator} {ctx['tag']!r}; expected one of {ctx['expected_tags']}"
    if kind == "union_tag_not_found":
        return "Field required"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "int_parsing_size":  # pydantic's "Unable to parse input string as an integer, exceeded maximum size"
        return "number too large for this field (`rmasim schema` gives each field's maximum)"
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def _expand(errors: Iterable[Mapping[str, Any]]) -> list[tuple[Path, str, bool]]:
    """(loc, message, at_key) per problem, unpacking ``LocatedErrors`` and union tag errors."""
    out: list[tuple[Path, str, bool]] = []
    for error in errors:
        loc = tuple(error["loc"])
        ctx = error.get("ctx") or {}
        if isinstance(ctx.get("error"), LocatedErrors):
            out.extend((loc + path, msg, False) for path, msg in ctx["error"].errors)
            continue
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, ctx["discriminator"].strip("'"))
        out.append((loc, _message(error), error["type"] == "extra_forbidden"))
    return out


def problems_from_validation(exc: ValidationError, raw: Any, source: SourceMap | None, file: str) -> list[Problem]:
    """One located ``Problem`` per pydantic error, sorted by position."""
    problems = []
    for loc, message, unknown_key in _expand(exc.errors()):
        found, printed, at_key = _resolve(loc, raw)
        position = source.locate(found, key=at_key or unknown_key) if source else None
        line, col = position if position else (None, None)
        problems.append(Problem(file, line, col, ".".join(map(str, printed)), message))
    problems.sort(key=lambda p: (p.line is None, p.line or 0, p.col or 0))
    return problems
