"""Expectations: assertions on a run's summary, written ``"<key> <op> <value>"``.

``key`` is a flat dotted summary key (``pollution.final``, ``routing.success_rate``), ``op`` one of ``== != >=
<= > <`` and ``value`` a number, ``true``, ``false`` or ``null``. They are checked once, at the end of a run:
a missing key fails, and ``null`` compares only with ``==`` and ``!=`` (``purge.time_max == null``: no crashed
worker was ever purged).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_serializer, model_validator
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = ["OPERATORS", "Expectation", "parse_expectation"]

Op = Literal["==", "!=", ">=", "<=", ">", "<"]
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_KEY = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*"
_NUMBER_RE = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")
_EXPECTATION_RE = re.compile(rf"^\s*({_KEY})\s*(==|!=|>=|<=|>|<)\s*(\S.*?)\s*$", re.ASCII)
EXPECTATION_PATTERN = rf"^\s*{_KEY}\s*(==|!=|>=|<=|>|<)\s*\S.*$"

Value = float | int | bool | None


def _parse_value(text: str) -> Value:
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if _NUMBER_RE.match(text):
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(f"invalid value {text!r}: a number too large to compare with")
        return int(number) if number.is_integer() and re.fullmatch(r"[-+]?\d+", text) else number
    raise ValueError(f"invalid value {text!r}: expected a number, true, false or null")


def parse_expectation(text: str) -> dict[str, Any]:
    """Split ``"pollution.final > 0"`` into its parts (``text``, ``key``, ``op``, ``value``)."""
    match = _EXPECTATION_RE.match(text)
    if match is None:
        raise ValueError(
            f"invalid expectation {text!r}: expected '<summary.key> <op> <value>' with op one of " + " ".join(OPERATORS)
        )
    key, op, value_text = match.groups()
    value = _parse_value(value_text)
    if value is None and op not in ("==", "!="):
        raise ValueError(f"invalid expectation {text!r}: null compares only with == or !=")
    return {"text": text.strip(), "key": key, "op": op, "value": value}


class Expectation(BaseModel):
    """One assertion on the summary; ``check(summary)`` returns ``(passed, actual)``.

    >>> Expectation.model_validate("routing.success_rate >= 0.99").check({"routing.success_rate": 1.0})
    (True, 1.0)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    key: str
    op: Op
    value: Value

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            return parse_expectation(data)
        if not isinstance(data, Mapping | Expectation):
            raise ValueError(f"an expectation is a string like 'pollution.final == 0', got {data!r}")
        return data

    @model_serializer
    def _to_text(self) -> str:
        return self.text

    @classmethod
    def __get_pydantic_json_schema__(cls, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "string", "pattern": EXPECTATION_PATTERN, "examples": ["pollution.final == 0"]}

    def check(self, summary: Mapping[str, Any]) -> tuple[bool, Any]:
        """Compare the summary's value at ``key`` with ``value``; a missing key fails with actual None."""
        if self.key not in summary:
            return False, None
        actual = summary[self.key]
        if actual is None or self.value is None:
            if self.op not in ("==", "!="):
                return False, actual
            both_null = actual is None and self.value is None
            return (both_null if self.op == "==" else not both_null), actual
        if isinstance(actual, float) and math.isnan(actual):
            return self.op == "!=", actual
        try:
            return bool(OPERATORS[self.op](actual, self.value)), actual
        except TypeError:
            return False, actual
