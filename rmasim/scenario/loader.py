"""Reading scenario files: YAML 1.2 in, a validated ``Scenario`` or a ``ScenarioError`` out.

The file is parsed with ruamel.yaml's round-trip loader, which keeps the line and column of every key and
value; duplicate keys are refused. The document becomes plain dicts and lists plus a ``SourceMap`` of
positions, then pydantic validates it and each error is reported at its place in the file. Nothing else
escapes: a missing file, a YAML syntax error, an empty file or a top level that is not a mapping are each one
located problem.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarbool import ScalarBoolean

from .errors import Problem, ScenarioError, SourceMap, problems_from_validation
from .models import Scenario

__all__ = ["load_scenario", "load_scenario_text"]

MAX_DEPTH = 64
"""Deeper nesting (or a recursive alias) is refused: no scenario needs it."""


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load and validate a scenario file; raise ``ScenarioError`` listing every problem."""
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(file, 1, 1, "", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(file, 1, 1, "", f"cannot read the file: {exc}")]) from None
    scenario = load_scenario_text(text, source=file)
    scenario._source = file
    return scenario


def load_scenario_text(text: str, source: str = "<string>") -> Scenario:
    """Load and validate a scenario from YAML text; ``source`` names it in problems."""
    raw, source_map = parse_yaml(text, source)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(problems_from_validation(exc, raw, source_map, source)) from None
    scenario._source_map = source_map
    return scenario


def parse_yaml(text: str, source: str) -> tuple[dict[str, Any], SourceMap]:
    """The top-level mapping of a YAML document as plain data, with the positions of its nodes."""
    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    yaml.allow_duplicate_keys = False
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        raise ScenarioError([Problem(source, line, col, "", f"YAML syntax error: {message}")]) from None
    except ReaderError as exc:
        line, col = _line_col(text, exc.position)
        raise ScenarioError([Problem(source, line, col, "", f"unreadable character: {exc.reason}")]) from None
    except (YAMLError, RecursionError, ValueError, TypeError) as exc:
        raise ScenarioError([Problem(source, 1, 1, "", f"YAML error: {exc}")]) from None
    if document is None:
        raise ScenarioError([Problem(source, 1, 1, "", "empty scenario file")])
    if not isinstance(document, CommentedMap):
        line, col = _node_position(document) or (1, 1)
        kind = "a list" if isinstance(document, CommentedSeq) else f"a {type(document).__name__}"
        message = f"the top level must be a mapping of sections (name, duration, fleet, ...), not {kind}"
        raise ScenarioError([Problem(source, line, col, "", message)])
    source_map = SourceMap(source)
    source_map.values[()] = _node_position(document) or (1, 1)
    return _convert(document, (), source_map), source_map


def _line_col(text: str, offset: int) -> tuple[int, int]:
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _node_position(node: Any) -> tuple[int, int] | None:
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return None
    return lc.line + 1, lc.col + 1


def _position(data: dict[Any, Any], key: Any, index: int) -> tuple[int, int] | None:
    """Recorded 0-based position entry ``data[key][index]`` as 1-based, if ruamel recorded it."""
    entry = data.get(key)
    return None if not entry else (entry[index] + 1, entry[index + 1] + 1)


def _convert(node: Any, path: tuple[Any, ...], source_map: SourceMap) -> Any:
    """Plain data for ``node``, recording the positions of nested keys and values."""
    if len(path) > MAX_DEPTH:
        line, col = source_map.locate(path) or (1, 1)
        raise ScenarioError([Problem(source_map.file, line, col, "", f"nesting deeper than {MAX_DEPTH} levels")])
    if isinstance(node, CommentedMap):
        result = {}
        for key, value in node.items():
            plain_key = _scalar(key)
            child = (*path, plain_key)
            key_pos = _position(node.lc.data, key, 0)
            value_pos = _node_position(value) if isinstance(value, CommentedMap) else None
            value_pos = value_pos or _position(node.lc.data, key, 2) or source_map.values.get(path)
            if key_pos:
                source_map.keys[child] = key_pos
            if value_pos:
                source_map.values[child] = value_pos
            result[plain_key] = _convert(value, child, source_map)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            position = _position(node.lc.data, index, 0) or source_map.values.get(path)
            if position:
                source_map.values[(*path, index)] = position
            items.append(_convert(value, (*path, index), source_map))
        return items
    if isinstance(node, list | dict):  # merged or constructed containers without positions
        return _convert(CommentedMap(node) if isinstance(node, dict) else CommentedSeq(node), path, source_map)
    return _scalar(node)


def _scalar(value: Any) -> Any:
    """ruamel's round-trip scalars (ScalarFloat, ScalarInt, quoted strings, ...) as builtin types."""
    if isinstance(value, ScalarBoolean | bool):
        return bool(value)
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value
