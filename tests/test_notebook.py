"""The balancing notebook: its two paired files agree, and the reference preset deploys what it recommends.

The notebook itself is executed in CI with nbmake at its reduced size (``.ci/run``); its stored outputs are those
of the full-size run (``RMASIM_NOTEBOOK_SIZE`` unset).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rmasim.scenario import PRESETS

jupytext = pytest.importorskip("jupytext")
NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
SCRIPT, NOTEBOOK = NOTEBOOKS / "balancing_strategies.py", NOTEBOOKS / "balancing_strategies.ipynb"


def test_the_script_and_the_notebook_have_the_same_cells():
    script, notebook = jupytext.read(SCRIPT), jupytext.read(NOTEBOOK)
    assert [(c.cell_type, c.source) for c in script.cells] == [(c.cell_type, c.source) for c in notebook.cells]


def test_the_stored_full_size_run_recommends_the_reference_balancer():
    notebook = jupytext.read(NOTEBOOK)
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    found = re.findall(r"RECOMMENDATION: (\S+)", printed)
    assert found, "the notebook has no stored run: execute it at full size (see the README)"
    assert "(20 machines, 20 seeds)" in printed  # the stored outputs are the full size's
    # it recommends the balancer whose worst mean latency over its topologies (1 to 128 isolates) is the lowest
    assert found == [PRESETS["reference"].policy.balancer]
