"""Reading scenario files: YAML 1.2 in, a validated ``Scenario`` or a ``ScenarioError`` out.

The file is parsed with ruamel.yaml's round-trip loader, which keeps the line and column of every key and
value; duplicate keys are refused. The document becomes plain dicts and lists plus a ``SourceMap`` of
positions, then pydantic validates it and each error is reported at its place in the file. Nothing else
escapes: a missing file, a YAML syntax error, an empty file or a top level that is not a mapping are each one
located problem.

The input is held to the limits of :mod:`rmasim.scenario.limits`, each refused at its place before anything
is built: at most ``MAX_FILE_BYTES`` are read, and only from a regular file or a pipe (``/dev/zero`` is a
device); while the document is composed, nodes repeated through aliases are counted (with their anchors'
subtrees) against ``MAX_ALIAS_NODES``, so an alias bomb is refused at the alias that crosses the budget, never
expanded, and an alias inside its own anchor (``&a [*a]``) is refused as recursive; nesting is at most
``MAX_DEPTH`` levels; only the YAML 1.2 core tags (``!!str``, ``!!int``, ``!!float``, ``!!bool``, ``!!null``,
``!!seq``, ``!!map``) may be written, so ``!!omap``, ``!!set``, ``!!binary``, ``!!python/...`` or a custom
``!tag`` are errors; an unquoted date is a string, as in the core schema. ``--set`` values go through the same
composer (:func:`parse_value`).
"""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from ruamel.yaml.nodes import Node, ScalarNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.tag import Tag

from .errors import Problem, ScenarioError, SourceMap, problems_from_validation
from .limits import MAX_ALIAS_NODES, MAX_DEPTH, MAX_FILE_BYTES, MAX_NUMBER_LENGTH
from .models import Scenario

__all__ = ["YamlLimitError", "load_scenario", "load_scenario_text", "parse_value"]

_CORE = "tag:yaml.org,2002:"
CORE_TAGS = frozenset(_CORE + name for name in ("str", "int", "float", "bool", "null", "seq", "map"))
"""The YAML 1.2 core schema's tags: the only ones a scenario may write explicitly."""


class YamlLimitError(YAMLError):
    """A document that breaks one of the loader's limits, at ``mark`` (0-based line and column)."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _LimitedComposer(Composer):
    """ruamel's composer, counting what aliases repeat and refusing what the module docstring lists."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.warn_double_anchors = False  # redefining an anchor is legal YAML; the later one wins
        self._nodes = 0  # nodes composed so far, an alias counting its anchor's whole subtree
        self._repeated = 0  # nodes repeated through aliases
        self._sizes: dict[int, int] = {}  # id(anchored node) -> nodes in its subtree, aliases expanded
        self._open: set[str] = set()  # anchors whose node is being composed
        self._level = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            return self._alias(event, parent, index)
        if isinstance(event, ScalarEvent | CollectionStartEvent) and event.ctag is not None:
            tag = str(event.ctag)
            if tag != "!" and tag not in CORE_TAGS:
                shown = "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag
                raise YamlLimitError(
                    f"tag {shown} is not allowed: a scenario is plain YAML 1.2 (mappings, lists, strings, numbers, "
                    "true/false, null)",
                    event.start_mark,
                )
        self._level += 1
        if self._level > MAX_DEPTH + 1:  # the top-level mapping is level 1
            raise YamlLimitError(f"nesting deeper than {MAX_DEPTH} levels", event.start_mark)
        start = self._nodes
        self._nodes += 1
        anchor = event.anchor
        if anchor is not None:
            self._open.add(anchor)
        node = super().compose_node(parent, index)
        if anchor is not None:
            self._open.discard(anchor)
            self._sizes[id(node)] = self._nodes - start
        self._level -= 1
        if isinstance(node, ScalarNode):
            self._check_scalar(node)
        return node

    def _alias(self, event: AliasEvent, parent: Any, index: Any) -> Node:
        if event.anchor in self._open:
            raise YamlLimitError(
                f"alias *{event.anchor} is inside its own anchor &{event.anchor}: a recursive structure",
                event.start_mark,
            )
        node: Node = super().compose_node(parent, index)  # refuses an undefined alias
        size = self._sizes.get(id(node), 1)
        self._nodes += size
        self._repeated += size
        if self._repeated > MAX_ALIAS_NODES:
            raise YamlLimitError(
                f"aliases repeat more than {MAX_ALIAS_NODES} nodes (this *{event.anchor} repeats {size}): write "
                "the data out instead of multiplying it",
                event.start_mark,
            )
        return node

    @staticmethod
    def _check_scalar(node: ScalarNode) -> None:
        if node.style is not None:  # quoted or block: a string as written
            return
        if node.tag == _CORE + "timestamp":  # not in the 1.2 core schema: a plain scalar like 2024-01-01 is a string
            node.tag = Tag(suffix=_CORE + "str")
        elif node.tag in (_CORE + "int", _CORE + "float") and len(node.value) > MAX_NUMBER_LENGTH:
            raise YamlLimitError(
                f"a number of {len(node.value)} characters: at most {MAX_NUMBER_LENGTH}", node.start_mark
            )


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    yaml.allow_duplicate_keys = False
    yaml.Composer = _LimitedComposer
    return yaml


def shipped_scenarios() -> Path | None:
    """The directory of the scenarios shipped with rmasim (``scenarios/`` of the repository, package data
    ``rmasim.scenarios`` of a wheel), or None when neither is there."""
    try:
        spec = importlib.util.find_spec("rmasim.scenarios")
    except ImportError:
        spec = None
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        if Path(location).is_dir():
            return Path(location)
    # a source checkout (an editable install does not map a package directory without __init__.py)
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "scenarios").is_dir():
        return checkout / "scenarios"
    return None


def resolve_scenario(path: str | os.PathLike[str]) -> str:
    """``path`` itself when it names anything, else a shipped scenario of that name (``crash`` or ``crash.yaml``
    is ``scenarios/crash.yaml`` of the installed package, so ``rmasim run crash`` works anywhere); a user's file
    of the same name always wins."""
    file = os.fspath(path)
    if os.path.lexists(file) or os.sep in file or (os.altsep and os.altsep in file):
        return file
    shipped = shipped_scenarios()
    name = file if file.endswith(".yaml") else f"{file}.yaml"
    if shipped is not None and (shipped / name).is_file():
        return os.fspath(shipped / name)
    return file


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load and validate a scenario file (or a shipped scenario by name, see :func:`resolve_scenario`); raise
    ``ScenarioError`` listing every problem."""
    file = resolve_scenario(path)
    scenario = load_scenario_text(_read(file), source=file)
    scenario._source = file
    return scenario


def _read(file: str) -> str:
    """The text of ``file``: a regular file (or a pipe) of at most ``MAX_FILE_BYTES`` bytes of UTF-8."""

    def refuse(message: str, line: int = 1, col: int = 1) -> ScenarioError:
        return ScenarioError([Problem(file, line, col, "", message)])

    try:
        mode = os.stat(file).st_mode
    except FileNotFoundError:
        raise refuse("no such file") from None
    except (OSError, ValueError) as exc:
        raise refuse(f"cannot read the file: {getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISDIR(mode):
        raise refuse("is a directory, not a scenario file")
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise refuse("not a regular file (a device or a socket): give a scenario file")
    try:
        with open(file, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise refuse(f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise refuse(f"larger than {MAX_FILE_BYTES // 1024} KiB ({MAX_FILE_BYTES} bytes): not a scenario file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        col = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise refuse(
            f"not UTF-8 text: byte 0x{byte} cannot be decoded", data.count(b"\n", 0, exc.start) + 1, col
        ) from None


def load_scenario_text(text: str, source: str = "<string>") -> Scenario:
    """Load and validate a scenario from YAML text; ``source`` names it in problems."""
    raw, source_map = parse_yaml(text, source)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(problems_from_validation(exc, raw, source_map, source)) from None
    scenario._source_map = source_map
    return scenario


def parse_value(text: str) -> Any:
    """One YAML 1.2 value (a ``--set`` override) as plain data, held to the same limits as a file.

    Raises ``YamlLimitError`` when the value breaks a limit (an alias bomb, a recursive alias, a tag, nesting),
    ruamel's ``YAMLError`` when it is not YAML at all.

    >>> parse_value("[1, 2s]")
    [1, '2s']
    """
    if len(text) > MAX_FILE_BYTES:
        raise YamlLimitError(f"longer than {MAX_FILE_BYTES // 1024} KiB ({len(text)} characters)", None)
    try:
        node = _yaml().load(text)
    except YamlLimitError:
        raise
    except (YAMLError, RecursionError, ValueError, TypeError) as exc:
        raise YAMLError(str(exc)) from None
    return _convert(node, (), SourceMap("<value>"))


def parse_yaml(text: str, source: str) -> tuple[dict[str, Any], SourceMap]:
    """The top-level mapping of a YAML document as plain data, with the positions of its nodes."""
    if len(text) > MAX_FILE_BYTES:
        message = f"larger than {MAX_FILE_BYTES // 1024} KiB ({len(text)} characters): not a scenario"
        raise ScenarioError([Problem(source, 1, 1, "", message)])
    try:
        document = _yaml().load(text)
    except YamlLimitError as exc:
        line, col = (exc.mark.line + 1, exc.mark.column + 1) if exc.mark else (1, 1)
        raise ScenarioError([Problem(source, line, col, "", exc.message)]) from None
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
    if isinstance(value, TaggedScalar):  # an explicit !!str keeps its tag in ruamel's round-trip form
        return str(value.value)
    if isinstance(value, ScalarBoolean | bool):
        return bool(value)
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value
