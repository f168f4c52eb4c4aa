"""Version strings and the per-service version rules of ``versions`` (flaw #6).

A version is a string (``"1.1"``): write it quoted, as an unquoted ``1.10`` is the number 1.1 in YAML and is
refused. A rule says which versions of a service the proxy may route to:

- ``any``: every version;
- ``{pin: "1.0"}``: only that version (no candidate of it: no provider, 503);
- ``{canary: {version: "1.1", weight: 0.1}}``: that share of the requests to the canary version, the rest to the
  others (Istio's weighted split); when only one side has providers, all requests go to it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

__all__ = ["CanaryRule", "CanarySplit", "PinRule", "Version", "VersionRule"]


Version = Annotated[str, Field(min_length=1)]
"""A service version (a non-empty string)."""

_RULE = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PinRule(BaseModel):
    """Route only to ``pin``."""

    model_config = _RULE
    pin: Version


class CanarySplit(BaseModel):
    """``weight`` of the requests go to ``version``."""

    model_config = _RULE
    version: Version
    weight: float = Field(gt=0.0, lt=1.0)


class CanaryRule(BaseModel):
    """A weighted canary split."""

    model_config = _RULE
    canary: CanarySplit


def _rule_kind(value: Any) -> str | None:
    """Which rule ``value`` is, by its shape (None: none, reported as one clear error)."""
    if isinstance(value, str):
        return "any"
    if isinstance(value, PinRule) or (isinstance(value, dict) and "pin" in value):
        return "pin"
    if isinstance(value, CanaryRule) or (isinstance(value, dict) and "canary" in value):
        return "canary"
    return None


VersionRule = Annotated[
    Annotated[Literal["any"], Tag("any")] | Annotated[PinRule, Tag("pin")] | Annotated[CanaryRule, Tag("canary")],
    Discriminator(
        _rule_kind,
        custom_error_type="version_rule",
        custom_error_message="expected `any`, {pin: VERSION} or {canary: {version: VERSION, weight: SHARE}}",
    ),
]
