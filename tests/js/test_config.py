"""A Worker's configuration, read as wrangler reads it, and its Cron Triggers."""

from __future__ import annotations

import pytest

from rmasim.scenario import ScenarioError
from rmasim.system.worker import CronSchedule, load_worker_config

WRANGLER = """\
name = "coordinator"
main = "src/index.js"
compatibility_date = "2024-09-23"

[[kv_namespaces]]
binding = "REGISTRY"
id = "abc"

[vars]
REGION = "eu"
LIMIT = 3

[triggers]
crons = ["*/5 * * * *", "0 3 * * SUN"]
"""


def test_wrangler_toml(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "index.js").write_text("export default {};\n")
    (tmp_path / "wrangler.toml").write_text(WRANGLER)
    config = load_worker_config(tmp_path / "wrangler.toml")
    assert config.main == tmp_path / "src" / "index.js"
    assert (config.kv_bindings, dict(config.vars), config.name) == (("REGISTRY",), {"REGION": "eu", "LIMIT": 3},
                                                                    "coordinator")  # fmt: skip
    assert [c.expression for c in config.crons] == ["*/5 * * * *", "0 3 * * SUN"]


def test_a_bare_module_gets_the_reviews_binding(tmp_path):
    (tmp_path / "w.js").write_text("export default {};\n")
    assert load_worker_config(tmp_path / "w.js").kv_bindings == ("WORKERS",)


def test_problems_are_located(tmp_path):
    (tmp_path / "wrangler.toml").write_text('main = "missing.js"\n[triggers]\ncrons = ["61 * * * *"]\n')
    with pytest.raises(ScenarioError) as error:
        load_worker_config(tmp_path / "wrangler.toml")
    assert sorted(p.field for p in error.value.problems) == ["main", "triggers.crons.0"]
    (tmp_path / "wrangler.toml").write_text('main = "x.js"\nname = \n')
    with pytest.raises(ScenarioError) as error:
        load_worker_config(tmp_path / "wrangler.toml")
    [problem] = error.value.problems
    assert (problem.line, problem.col, problem.field) == (2, 8, "TOML")


def test_two_kv_namespaces_are_refused(tmp_path):
    (tmp_path / "x.js").write_text("export default {};\n")
    (tmp_path / "wrangler.toml").write_text(
        'main = "x.js"\n[[kv_namespaces]]\nbinding = "A"\n[[kv_namespaces]]\nbinding = "B"\n'
    )
    with pytest.raises(ScenarioError, match="at most one"):
        load_worker_config(tmp_path / "wrangler.toml")


@pytest.mark.parametrize(
    ("expression", "minutes"),
    [
        ("*/20 * * * *", [0, 20, 40, 60, 80, 100]),
        ("3-5 * * * *", [3, 4, 5, 63, 64, 65]),
        ("0,7 * * * *", [0, 7, 60, 67]),
        ("0 1 * * *", [60]),
        ("0 0 * * THU", [0]),  # 1970-01-01 was a Thursday
        ("0 0 * * 5", [0]),  # 1 = Sunday ... 5 = Thursday
        ("0 0 2 * *", []),
    ],
)
def test_cron_minutes(expression, minutes):
    schedule = CronSchedule.parse(expression)
    assert [m for m in range(0, 120) if schedule.matches(m * 60.0)] == minutes


@pytest.mark.parametrize("bad", ["* * * *", "60 * * * *", "*/0 * * * *", "0 0 L * *", "0 0 * * MON#2"])
def test_bad_crons(bad):
    with pytest.raises(ValueError):
        CronSchedule.parse(bad)
