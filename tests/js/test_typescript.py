"""A ``.ts`` Worker is bundled with esbuild, as wrangler does; without esbuild it is one line saying how to get it."""

from __future__ import annotations

from pathlib import Path

import pytest
from jsharness import Harness, request

from rmasim.scenario import ScenarioError
from rmasim.system.worker import WorkerCoordinator, bundle, load_worker_config

TYPED = Path(__file__).parent / "workers" / "typed" / "index.ts"


@pytest.fixture
def esbuild() -> str:
    """esbuild, which .ci/run installs and names in RMASIM_ESBUILD: these tests never skip there."""
    found = bundle.find_esbuild(TYPED)
    if found is None:
        pytest.skip(f"esbuild is not installed ({bundle.INSTALL_HINT})")
    return found


def test_a_typescript_worker_runs_once_bundled(esbuild, tmp_path):
    before = sorted(p.name for p in TYPED.parent.iterdir())
    config = load_worker_config(TYPED)
    assert config.main.suffix == ".mjs" and config.main.parent != TYPED.parent and config.source == TYPED
    assert sorted(p.name for p in TYPED.parent.iterdir()) == before  # nothing written beside the Worker
    coordinator = WorkerCoordinator.start(config)
    try:
        harness = Harness()
        assert harness.run(coordinator.handle(request("/x"))).body == {"greeting": "typed", "seen": "/x"}
        assert harness.kv == {"seen": "/x"}
    finally:
        coordinator.close()


def test_a_wrangler_main_in_typescript_is_bundled(esbuild, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "index.ts").write_text(TYPED.read_text())
    wrangler = 'name = "t"\nmain = "src/index.ts"\n[[kv_namespaces]]\nbinding = "WORKERS"\n'
    (tmp_path / "wrangler.toml").write_text(wrangler)
    assert load_worker_config(tmp_path / "wrangler.toml").main.suffix == ".mjs"


def test_a_typescript_error_is_located(esbuild, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.ts").write_text("const x: number = ;\nexport default {};\n")
    with pytest.raises(ScenarioError) as error:
        load_worker_config(tmp_path / "bad.ts")
    assert [str(p) for p in error.value.problems] == ['bad.ts:1:19: esbuild: Unexpected ";"']


def test_without_esbuild_a_typescript_worker_is_one_line_saying_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(bundle, "find_esbuild", lambda entry: None)
    (tmp_path / "w.ts").write_text("export default {};\n")
    with pytest.raises(ScenarioError) as error:
        load_worker_config(tmp_path / "w.ts")
    [line] = [str(p) for p in error.value.problems]
    assert "esbuild, which is not installed: npm install --save-dev esbuild" in line
