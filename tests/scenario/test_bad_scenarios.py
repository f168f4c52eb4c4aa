"""Every file in tests/bad_scenarios/ starts with ``# expect: LINE:COL substring`` of its one problem."""

import re
from pathlib import Path

import pytest

from rmasim.scenario import ScenarioError, load_scenario

BAD = sorted((Path(__file__).parent.parent / "bad_scenarios").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+):(\d+) (.+)$")


def test_there_are_enough_bad_scenarios():
    assert len(BAD) >= 18


@pytest.mark.parametrize("path", BAD, ids=[path.stem for path in BAD])
def test_bad_scenario(path):
    match = EXPECT.match(path.read_text().splitlines()[0])
    assert match, f"{path.name} must start with '# expect: LINE:COL message'"
    line, col, substring = int(match[1]), int(match[2]), match[3]
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [(p.file, p.line, p.col, substring in str(p)) for p in info.value.problems] == [
        (str(path), line, col, True)
    ], str(info.value)
