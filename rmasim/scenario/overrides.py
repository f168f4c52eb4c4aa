"""Dotted overrides on raw scenario data: ``{"fleet.gpu.count": 5, "faults.0.at": "1m"}``.

An override is applied to the raw (pre-validation) data, then the whole scenario is validated again, so a
value is checked exactly as if it had been written in the file. Dotted paths go into mappings (a missing key
is created, and validation then refuses it if the model has no such field) and into lists by index.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["override_label", "plain", "set_path"]


def plain(data: Any) -> Any:
    """A deep copy of ``data`` as plain dicts, lists and scalars (models dumped as they would be written)."""
    if isinstance(data, BaseModel):
        return data.model_dump()
    if isinstance(data, Mapping):
        return {key: plain(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [plain(item) for item in data]
    return data


def override_label(path: str, value: Any) -> str:
    """How an override is named in problems, as on the command line: ``--set coordinator.edges=2``."""
    return f"--set {path}={value}"


def set_path(raw: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at dotted ``path`` in ``raw``, in place; ``ValueError`` when the path cannot exist."""
    segments = path.split(".")
    if not path or any(not segment for segment in segments):
        raise ValueError(f"invalid override path {path!r}: expected dotted names such as 'fleet.gpu.count'")
    node: Any = raw
    for depth, segment in enumerate(segments):
        last = depth == len(segments) - 1
        where = ".".join(segments[:depth]) or "the scenario"
        if isinstance(node, dict):
            if last:
                node[segment] = plain(value)
            else:
                if node.get(segment) is None:
                    node[segment] = {}
                node = node[segment]
        elif isinstance(node, list):
            if not segment.isdigit():
                raise ValueError(f"{where} is a list: {segment!r} is not an index")
            index = int(segment)
            if index >= len(node):
                raise ValueError(f"{where} has {len(node)} item(s): no index {index}")
            if last:
                node[index] = plain(value)
            else:
                node = node[index]
        else:
            raise ValueError(f"{where} is {node!r}, not a mapping or a list")
