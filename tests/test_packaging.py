"""rmasim as a library people install: shipped scenarios by name, what the wheel carries."""

from __future__ import annotations

import tomllib
from pathlib import Path

from rmasim.scenario import load_scenario, resolve_scenario, shipped_scenarios

ROOT = Path(__file__).parent.parent


def test_a_shipped_scenario_runs_by_name_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = shipped_scenarios()
    assert shipped is not None and (shipped / "crash.yaml").is_file()
    assert Path(resolve_scenario("crash")) == shipped / "crash.yaml"
    assert Path(resolve_scenario("crash.yaml")) == shipped / "crash.yaml"
    assert load_scenario("crash").name == load_scenario(ROOT / "scenarios" / "crash.yaml").name


def test_a_users_file_of_the_same_name_wins_and_paths_are_never_redirected(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "crash.yaml").write_text("mine")
    assert resolve_scenario("crash.yaml") == "crash.yaml"
    assert resolve_scenario("sub/crash.yaml") == "sub/crash.yaml"  # a path names a file, never a shipped one
    assert resolve_scenario("no_such_scenario") == "no_such_scenario"


def test_the_wheel_carries_every_scenario_of_the_repository():
    """The package-data patterns cover every scenario file (a deeper folder would be left out of the wheel)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["rmasim.scenarios"] == "scenarios"
    patterns = config["package-data"]["rmasim.scenarios"]
    depths = {pattern.count("/") + 1 for pattern in patterns if pattern.endswith("*.yaml")}
    scenarios = ROOT / "scenarios"
    for path in scenarios.rglob("*.yaml"):
        assert len(path.relative_to(scenarios).parts) in depths, path
    assert config["package-data"]["rmasim"] == ["py.typed"] and (ROOT / "rmasim" / "py.typed").is_file()


def _compiled_modules() -> list[str]:
    """setup.py's COMPILED list, read without running setup()."""
    import ast

    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == "COMPILED" for t in targets):
                return list(ast.literal_eval(node.value))
    raise AssertionError("setup.py defines no COMPILED")


def test_the_compiled_modules_are_the_layers_under_the_system_code():
    """The optional mypyc build compiles modules that exist, and none of the sans-IO system code, the scenario
    models (pydantic), the CLI or the reports: the layers a fleet-day profile names (benchmarks/compiled.py
    measures what it buys and that the summaries are byte-identical; .ci/run runs it)."""
    modules = _compiled_modules()
    assert modules and all((ROOT / m).is_file() for m in modules)
    assert {Path(m).parts[1] for m in modules} <= {"runtime", "world", "observe"}
