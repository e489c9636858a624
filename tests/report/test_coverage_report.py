"""The requirement coverage matrix in the terminal (pytest summary and rig report) and in the
JUnit XML: which requirements were covered, passed, marginal, failed or skipped."""

import io

import pytest
from click.testing import CliRunner
from report_data import write_run
from rich.console import Console

from rig.cli import main
from rig.report.coverage import render_coverage
from rig.report.junit import junit_tree
from rig.report.run import load_run
from rig.results.measure import coverage_matrix

pytest_plugins = ["pytester"]


def result_of(nodeid: str, outcome: str, *requirements: str) -> dict:
    return {
        "kind": "test",
        "nodeid": nodeid,
        "outcome": outcome,
        "duration_s": 0.1,
        "requirements": list(requirements),
    }


RECORDS = [
    result_of("p.py::test_a", "passed", "seed 002 §4.1", "SECMP0028"),
    result_of("p.py::test_b", "failed", "seed 002 §4.1"),
    result_of("p.py::test_c", "passed", "SECMP0028"),
    result_of("p.py::test_d", "skipped", "SECMP0062"),
    result_of("p.py::test_e", "passed"),
]


def rendered(records: list[dict]) -> str:
    buffer = io.StringIO()
    tests = [r for r in records if r["kind"] == "test"]
    render_coverage(coverage_matrix(tests, []), Console(file=buffer, width=120))
    return buffer.getvalue()


def test_the_terminal_table_shows_each_requirement_its_verdict_and_what_did_not_pass() -> None:
    text = rendered(RECORDS)
    lines = {line.split("│")[1].strip(): line for line in text.splitlines() if "│" in line}
    assert "fail" in lines["seed 002 §4.1"] and "1 fail, 1 pass" in lines["seed 002 §4.1"]
    assert "fail: p.py::test_b" in lines["seed 002 §4.1"]
    assert "2 pass" in lines["SECMP0028"]
    assert "skipped" in lines["SECMP0062"]
    assert "3 requirements: 1 fail, 1 pass, 1 skipped" in text


def test_no_requirement_markers_no_table() -> None:
    assert rendered([result_of("p.py::test_e", "passed")]) == ""


def test_junit_suite_properties_carry_the_matrix(tmp_path) -> None:
    write_run(tmp_path / "run", RECORDS)
    suite = junit_tree(load_run(tmp_path / "run")).getroot().find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iterfind("properties/property")}
    assert props["requirement seed 002 §4.1"] == "fail (1 fail, 1 pass)"
    assert props["requirement SECMP0028"] == "pass (2 pass)"
    assert props["requirement SECMP0062"] == "skipped (1 skipped)"


def test_rig_report_prints_the_matrix_after_the_latency_table(tmp_path) -> None:
    write_run(tmp_path / "run", RECORDS)
    result = CliRunner().invoke(main, ["report", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "Requirement coverage" in result.output
    assert "fail: p.py::test_b" in result.output


PLAN = """
import pytest

@pytest.mark.requirement("seed 002 §4.1")
def test_ok():
    pass

@pytest.mark.requirement("seed 002 §4.1", "SECMP0067")
def test_broken():
    assert False
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_the_pytest_summary_shows_the_matrix_merged_across_workers(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    pytester.makepyfile(test_cov_plan=PLAN)
    result = pytester.runpytest_subprocess("--rig-results", "run", *workers)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Requirement coverage*",
            "*SECMP0067*fail*1 fail*",
            "*seed 002 §4.1*fail*1 fail, 1 pass*",
            "*2 requirements: 2 fail*",
        ]
    )
