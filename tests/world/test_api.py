"""The world package's public API: explicit __all__, the names the runtime and engine rely on, no SimPy."""

from __future__ import annotations

import ast
from pathlib import Path

import rmasim.world as world

CONTRACT_NAMES = {
    "Streams", "Sampler", "WorkersKV", "StrongKV", "KVStatus", "KVStats", "KV_UNAVAILABLE",
    "Clock", "Network", "ServiceContainer", "Admission",
}  # fmt: skip


def test_all_is_exact_and_importable() -> None:
    """Every name in __all__ exists, and __all__ covers the names the other layers rely on."""
    assert len(set(world.__all__)) == len(world.__all__)
    assert all(hasattr(world, name) for name in world.__all__)
    assert set(world.__all__) >= CONTRACT_NAMES


def test_world_never_imports_simpy_or_upper_layers() -> None:
    """The world is pure data with explicit time: no SimPy, no runtime/system/engine imports."""
    for path in Path(world.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith("simpy"), path
                if name.startswith("rmasim."):
                    assert name.startswith(("rmasim.world", "rmasim.scenario")), (path, name)


def test_module_examples_run() -> None:
    """The runnable examples in the world modules' docstrings pass (doctest)."""
    import doctest
    import importlib

    for path in sorted(Path(world.__file__).parent.glob("*.py")):
        module = importlib.import_module(f"rmasim.world.{path.stem}" if path.stem != "__init__" else "rmasim.world")
        failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert failed == 0, path.name
