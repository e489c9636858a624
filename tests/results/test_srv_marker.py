"""The ``srv`` marker: SRVs count as requirements in the coverage matrix; ``--srv`` selects."""

import pytest

from rig.results.jsonl import read_jsonl

pytest_plugins = ["pytester"]

PLAN = """
import pytest

@pytest.mark.srv("7.2")
@pytest.mark.requirement("GBCS ECS43")
def test_disable():
    pass

@pytest.mark.srv("7.1", "7.3")
def test_enable_and_arm():
    pass

def test_unmarked():
    pass
"""


def test_srvs_become_requirements(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_srv_plan=PLAN)
    result = pytester.runpytest_inprocess("--rig-results", "run")
    result.assert_outcomes(passed=3)
    tests = {
        r["nodeid"].split("::")[1]: r["requirements"]
        for r in read_jsonl(pytester.path / "run" / "results.jsonl")
        if r["kind"] == "test"
    }
    assert tests == {
        "test_disable": ["DUIS SRV 7.2", "GBCS ECS43"],
        "test_enable_and_arm": ["DUIS SRV 7.1", "DUIS SRV 7.3"],
        "test_unmarked": [],
    }


@pytest.mark.parametrize(
    ("args", "passed"),
    [(["--srv", "7.3"], 1), (["--srv", "7.2", "--srv", "7.1"], 2), (["--srv", "11.2"], 0)],
)
def test_srv_option_selects_marked_tests(
    pytester: pytest.Pytester, args: list[str], passed: int
) -> None:
    pytester.makepyfile(test_srv_plan=PLAN)
    result = pytester.runpytest_inprocess(*args)
    assert result.parseoutcomes().get("passed", 0) == passed
    assert result.parseoutcomes()["deselected"] == 3 - passed
