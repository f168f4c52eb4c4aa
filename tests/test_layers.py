"""Imports point downwards only (DESIGN.md section 3); the system and the world never import SimPy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "rmasim"

#: layer -> rank; a module may import only from layers of lower rank (or from its own layer)
RANKS = {
    "registry": -1,
    "outputs": -1,
    "scenario": 0,
    "system": 1,
    "world": 1,
    "runtime": 2,
    "observe": 3,
    "chaos": 3,
    "workload": 3,
    "engine": 4,
    "sweep": 5,
    "explore": 6,
    "report": 6,
    "plot": 7,
    "testing": 6,
    "cli": 7,
    "__init__": 8,
    "__main__": 8,
}


def layer_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def rmasim_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported layer) for every import of another rmasim module."""
    tree = ast.parse(path.read_text())
    module_parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(module_parts[: len(module_parts) - node.level])
                target = [*base, *(node.module.split(".") if node.module else [])]
                if len(target) == 1:  # "from .. import x": x is the layer
                    found += [(node.lineno, alias.name) for alias in node.names]
                    continue
            elif node.module and node.module.split(".")[0] == "rmasim":
                target = node.module.split(".")
            else:
                continue
            if len(target) > 1:
                found.append((node.lineno, target[1]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "rmasim" and len(parts) > 1:
                    found.append((node.lineno, parts[1]))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_downwards(path):
    layer = layer_of(path)
    bad = [
        (line, target)
        for line, target in rmasim_imports(path)
        if target != layer and RANKS.get(target, -1) >= RANKS[layer]
    ]
    assert not bad, f"{path.relative_to(PACKAGE)} ({layer}) imports a layer at or above it: {bad}"


@pytest.mark.parametrize("layer", ["system", "world", "scenario"])
def test_no_simpy_below_the_runtime(layer):
    for path in (PACKAGE / layer).rglob("*.py"):
        names = {
            alias.name.split(".")[0]
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            (node.module or "").split(".")[0]
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and not node.level
        }
        assert "simpy" not in names and "asyncio" not in names, path


def test_every_layer_module_is_known():
    assert {layer_of(p) for p in MODULES} <= set(RANKS)
