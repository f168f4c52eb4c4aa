"""The rmasim pytest plugin, registered as the ``pytest11`` entry point ``rmasim`` (loaded by every pytest run in
an environment where rmasim is installed; ``-p no:rmasim`` turns it off).

- fixture ``rmasim_run``: ``rmasim_run(scenario, properties=None, seed=None, overrides=None) -> RunResult`` runs a
  scenario (a ``Scenario`` or a file's path) with the session's and the test's overrides applied and asserts its
  properties (:func:`rmasim.testing.check_properties`: an ``AssertionError`` naming each violated property and
  holding the scenario's YAML);
- fixture ``rmasim_overrides``: those overrides as a dict, for a test that builds its scenarios itself;
- options ``--rmasim-preset NAME`` (``coordinator.preset``) and ``--rmasim-set KEY=VALUE`` (repeatable, as
  ``rmasim run --set``: ``--rmasim-set coordinator.worker=workers/mine/wrangler.toml``) for the whole session;
- marker ``@pytest.mark.rmasim(preset="reference", overrides={"coordinator.edges": 2})`` for one test, applied
  over the options.

The overrides apply in that order: the scenario file, the options, the marker, then ``rmasim_run``'s own
``overrides``.

    def test_crash_is_purged(rmasim_run):
        rmasim_run("scenarios/crash.yaml", properties=["no_dead_in_index"])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..engine import RunResult
    from ..scenario import Scenario
    from .check import PropertyLike

__all__ = ["rmasim_overrides", "rmasim_run"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rmasim", "rmasim scenarios (rmasim_run fixture)")
    group.addoption("--rmasim-preset", default=None, metavar="NAME",
                    help="coordinator.preset for every scenario rmasim_run runs.")  # fmt: skip
    group.addoption("--rmasim-set", action="append", default=[], metavar="KEY=VALUE",
                    help="A scenario override for every rmasim_run (repeatable), as `rmasim run --set`.")  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "rmasim(preset=None, overrides=None): the preset and overrides rmasim_run applies in this test"
    )


def session_overrides(config: pytest.Config) -> dict[str, Any]:
    """``--rmasim-set`` then ``--rmasim-preset``, as a dict of dotted paths."""
    from ..scenario import parse_value

    overrides: dict[str, Any] = {}
    for item in config.getoption("rmasim_set") or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise pytest.UsageError(f"--rmasim-set {item}: expected KEY=VALUE, e.g. coordinator.edges=2")
        overrides[key.strip()] = parse_value(text) if text.strip() else ""
    preset = config.getoption("rmasim_preset")
    if preset is not None:
        overrides["coordinator.preset"] = preset
    return overrides


def marker_overrides(node: pytest.Item) -> dict[str, Any]:
    """The ``rmasim`` marker's preset and overrides (the closest marker wins)."""
    marker = node.get_closest_marker("rmasim")
    if marker is None:
        return {}
    unknown = set(marker.kwargs) - {"preset", "overrides"}
    if marker.args or unknown:
        raise pytest.UsageError(f"{node.nodeid}: use @pytest.mark.rmasim(preset='reference', overrides={{...}})")
    overrides = dict(marker.kwargs.get("overrides") or {})
    if marker.kwargs.get("preset") is not None:
        overrides["coordinator.preset"] = marker.kwargs["preset"]
    return overrides


@pytest.fixture
def rmasim_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The overrides of ``--rmasim-preset``, ``--rmasim-set`` and the test's ``rmasim`` marker."""
    return {**session_overrides(request.config), **marker_overrides(request.node)}


@pytest.fixture
def rmasim_run(rmasim_overrides: dict[str, Any]) -> Callable[..., RunResult]:
    """``rmasim_run(scenario, properties=None, seed=None, overrides=None)``: run and assert the properties."""

    def run_and_check(
        scenario: Scenario | str,
        properties: Sequence[PropertyLike] | None = None,
        seed: int | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> RunResult:
        from ..scenario import Scenario, load_scenario
        from .check import check_properties

        base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        applied = {**rmasim_overrides, **(overrides or {})}
        return check_properties(base.with_overrides(applied) if applied else base, properties, seed)

    return run_and_check
