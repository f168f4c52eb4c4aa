"""Property specs: the entries of a scenario's ``properties`` list, named properties with their parameters.

An entry is a mapping with a ``name`` and the property's own parameters, flat::

    properties:
      - {name: no_dead_in_index, purge_within: 240s}
      - {name: single_leader}

The properties themselves (what they check, their parameters) are defined by the checkers' layer
(:mod:`rmasim.observe.properties`), which this package does not import. So that layer registers a lookup here,
:func:`register_property_lookup`: name -> the pydantic model of that property's parameters. Each entry is then
validated on its own: an unknown name is reported at the entry's ``name``, a bad parameter at the parameter,
with the file's other problems. Without a registered lookup (``rmasim.scenario`` imported alone) the parameters
are kept unvalidated and the name unchecked; ``import rmasim`` always registers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_serializer
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import CoreSchema

from .errors import LocatedErrors
from .errors import _message as error_message

__all__ = ["PropertySpec", "property_specs", "register_property_lookup"]

Errors = list[tuple[tuple[str | int, ...], str]]


@dataclass(frozen=True)
class _Lookup:
    params_of: Callable[[str], type[BaseModel] | None]
    choices: Callable[[], Iterable[str]]


_LOOKUP: list[_Lookup] = []


def register_property_lookup(
    params_of: Callable[[str], type[BaseModel] | None], choices: Callable[[], Iterable[str]]
) -> None:
    """Validate ``properties`` entries with ``params_of(name)`` (None: unknown name); ``choices`` lists the known
    names in messages. Registering again replaces the lookup."""
    _LOOKUP[:] = [_Lookup(params_of, choices)]


class PropertySpec(BaseModel):
    """One ``properties`` entry: ``name`` and ``params`` (the property's parameter model, validated)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    params: Any = None

    @model_serializer
    def _flat(self) -> dict[str, Any]:
        params = self.params
        if isinstance(params, BaseModel):
            params = params.model_dump(mode="json")
        return {"name": self.name, **(params or {})}

    @classmethod
    def __get_pydantic_json_schema__(cls, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        names = list(_LOOKUP[0].choices()) if _LOOKUP else []
        schema: dict[str, Any] = {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string", **({"enum": names} if names else {})}},
            "additionalProperties": True,
            "examples": [{"name": "no_dead_in_index", "purge_within": "240s"}],
        }
        return schema


def _entry(item: Any, i: int) -> tuple[PropertySpec | None, Errors]:
    if not isinstance(item, Mapping):
        return None, [((i,), f"expected a mapping such as {{name: single_leader}}, got {item!r}")]
    name = item.get("name")
    if not isinstance(name, str):
        return None, [((i,), "a property needs a `name` (a string), such as {name: single_leader}")]
    raw = {k: v for k, v in item.items() if k != "name"}
    if not _LOOKUP:
        return PropertySpec(name=name, params=raw), []
    lookup = _LOOKUP[0]
    params_model = lookup.params_of(name)
    if params_model is None:
        return None, [((i, "name"), f"unknown property {name!r}; known: {', '.join(lookup.choices())}")]
    try:
        params = params_model.model_validate(raw)
    except ValidationError as exc:
        return None, [
            ((i, *e["loc"], *(("[key]",) if e["type"] == "extra_forbidden" else ())), error_message(e))
            for e in exc.errors()
        ]
    return PropertySpec(name=name, params=params), []


def property_specs(items: Any) -> list[PropertySpec]:
    """The ``properties`` list validated entry by entry (every bad entry reported, located): ``LocatedErrors``."""
    if not isinstance(items, list):
        raise ValueError("expected a list of properties such as [{name: single_leader}]")
    out: list[PropertySpec] = []
    errors: Errors = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        spec, found = (item, []) if isinstance(item, PropertySpec) else _entry(item, i)
        errors += found
        if spec is None:
            continue
        if spec.name in seen:
            errors.append(((i, "name"), f"property {spec.name!r} is listed twice (its summary key is one)"))
            continue
        seen.add(spec.name)
        out.append(spec)
    if errors:
        raise LocatedErrors(errors)
    return out
