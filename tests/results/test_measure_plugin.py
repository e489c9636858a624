"""The measure fixture and requirement marker in real pytest runs (pytester)."""

import shutil
import sqlite3
import xml.etree.ElementTree as ET

import pytest

from rig.results.config import differing_parts
from rig.results.jsonl import read_jsonl
from rig.results.store import STORE_FILE, ResultsStore

pytest_plugins = ["pytester"]

PLAN = """
import pytest
from rig.results.measure import Limit

LATENCY = Limit(high=500, marginal_high=300, units="ms")

@pytest.mark.requirement("SECMP0028 §3")
def test_fast(measure):
    assert measure.record("total", 120, limit=LATENCY) == "pass"

@pytest.mark.requirement("SECMP0028 §3", "TRT 1")
def test_marginal(measure):
    measure.record("total", 350, limit=LATENCY)

@pytest.mark.requirement("TRT 1")
def test_too_slow(measure):
    measure.record("total", 900, limit=LATENCY)
    measure.record("queue", 10, limit=LATENCY)

@pytest.mark.requirement("TRT 2")
def test_no_measurements():
    pass

@pytest.mark.requirement("TRT 3")
@pytest.mark.skip(reason="no GSME on this bench")
def test_skipped():
    pass
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_plan=PLAN)
    runner = pytester.runpytest_subprocess if "-n" in args else pytester.runpytest_inprocess
    return runner(
        "-p",
        "rig.plugin.measurements",
        "--rig-results",
        "run",
        "--junitxml",
        "junit.xml",
        "-W",
        "error",
        *args,
    )


def test_measurements_and_outcomes_reach_the_store_jsonl_and_junit(pytester):
    result = run(pytester)
    result.assert_outcomes(passed=3, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["total 900 ms > limit 500 ms", "*total: 900 ms fail*"])

    run_dir = pytester.path / "run"
    with ResultsStore(run_dir / STORE_FILE) as store:
        run_id = store.run().id
        measurements = store.measurements(run_id)
        tests = {t["nodeid"].split("::")[1]: t for t in store.tests(run_id)}
    assert [(m["name"], m["value"], m["verdict"]) for m in measurements] == [
        ("total", 120, "pass"),
        ("total", 350, "marginal"),
        ("total", 900, "fail"),
        ("queue", 10, "pass"),
    ]
    assert measurements[1]["requirements"] == ["SECMP0028 §3", "TRT 1"]
    assert {name: t["outcome"] for name, t in tests.items()} == {
        "test_fast": "passed",
        "test_marginal": "passed",
        "test_too_slow": "failed",
        "test_no_measurements": "passed",
        "test_skipped": "skipped",
    }
    assert tests["test_skipped"]["requirements"] == ["TRT 3"]
    assert tests["test_too_slow"]["message"].startswith("total 900 ms > limit 500 ms\n")

    kinds = [r["kind"] for r in read_jsonl(run_dir / "results.jsonl")]
    assert kinds.count("measurement") == 4 and kinds.count("test") == 5

    # pytest's default junit_family, xunit2: properties in the testsuite only, and no warning
    # (-W error), the measurement as numbers.
    xml = ET.parse(pytester.path / "junit.xml")
    cases = {c.get("name"): c for c in xml.iter("testcase")}
    assert not [p for c in cases.values() for p in c.iter("property")]
    suite = {(p.get("name"), p.get("value")) for p in xml.find("testsuite").iter("property")}
    marginal = "test_plan.py::test_marginal"
    assert {p for p in suite if p[0].startswith(marginal)} == {
        (f"{marginal} requirement", "SECMP0028 §3"),
        (f"{marginal} requirement", "TRT 1"),
        (f"{marginal} total.value", "350.0"),
        (f"{marginal} total.units", "ms"),
        (f"{marginal} total.high", "500.0"),
        (f"{marginal} total.marginal_high", "300.0"),
        (f"{marginal} total.verdict", "marginal"),
    }
    (failure,) = cases["test_too_slow"].iter("failure")
    assert failure.get("message").startswith("total 900 ms > limit 500 ms")


@pytest.mark.parametrize("family", ["xunit1", "legacy"])
def test_families_with_testcase_properties_get_the_measurements_there(pytester, family):
    run(pytester, "-o", f"junit_family={family}").assert_outcomes(passed=3, failed=1, skipped=1)
    cases = {c.get("name"): c for c in ET.parse(pytester.path / "junit.xml").iter("testcase")}
    properties = {(p.get("name"), p.get("value")) for p in cases["test_too_slow"].iter("property")}
    assert ("total.value", "900.0") in properties and ("queue.value", "10.0") in properties
    assert ("total.high", "500.0") in properties and ("requirement", "TRT 1") in properties


@pytest.mark.slow
def test_under_xdist_the_controller_writes_the_suite_properties(pytester):
    run(pytester, "-n", "2").assert_outcomes(passed=3, failed=1, skipped=1)
    suite = ET.parse(pytester.path / "junit.xml").find("testsuite")
    names = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert names["test_plan.py::test_too_slow total.value"] == "900.0"


def test_the_requirement_marker_is_registered_under_strict_markers(pytester):
    pytester.makepyfile("import pytest\n@pytest.mark.requirement('R')\ndef test_a():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "rig.plugin.measurements", "--strict-markers")
    result.assert_outcomes(passed=1)


def test_without_a_run_folder_nothing_is_written(pytester):
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "rig.plugin.measurements")
    result.assert_outcomes(passed=1)
    assert not list(pytester.path.rglob(STORE_FILE))


@pytest.mark.slow
def test_xdist_workers_merge_into_one_run_of_a_shared_store(pytester):
    result = run(pytester, "-n", "2", "--rig-store", "history.sqlite")
    result.assert_outcomes(passed=3, failed=1, skipped=1)
    with ResultsStore(pytester.path / "history.sqlite") as store:
        (run_info,) = store.runs()
        assert len(store.tests(run_info.id)) == 5
        assert len(store.measurements(run_info.id)) == 4


def test_a_run_records_the_hash_of_its_configuration(pytester):
    run(pytester, "--rig-store", "history.sqlite", "--rig-results", "all")
    run(pytester, "--rig-store", "history.sqlite", "--rig-results", "some", "-k", "fast")
    with ResultsStore(pytester.path / "history.sqlite") as store:
        every, some = store.runs()
    assert every.config_hash and some.config_hash and every.config_hash != some.config_hash
    assert set(every.config) == {"plan", "bench", "tmm", "options"}
    assert differing_parts(every.config, some.config) == ["plan"]


@pytest.mark.slow
def test_after_an_xdist_run_the_store_file_alone_holds_every_record(pytester, tmp_path):
    """Another connection open on the store (a reader, a second run sharing it) keeps SQLite
    from folding the log in when the workers close: the controller checkpoints it."""
    ResultsStore(pytester.path / "run" / STORE_FILE).close()
    reader = sqlite3.connect(pytester.path / "run" / STORE_FILE)
    reader.execute("SELECT count(*) FROM runs").fetchone()
    try:
        run(pytester, "-n", "2").assert_outcomes(passed=3, failed=1, skipped=1)
        shutil.copy(pytester.path / "run" / STORE_FILE, tmp_path / STORE_FILE)
    finally:
        reader.close()
    with ResultsStore(tmp_path / STORE_FILE) as store:
        run_id = store.run().id
        assert len(store.tests(run_id)) == 5 and len(store.measurements(run_id)) == 4


def test_marginal_measurements_show_in_the_terminal_summary(pytester):
    result = run(pytester)
    result.stdout.fnmatch_lines(
        [
            "*Marginal and failed measurements*",
            "*test_plan.py::test_too_slow*900 ms fail*",
            "*test_plan.py::test_marginal*350 ms marginal*",
            "4 measurements: 1 fail, 1 marginal, 2 pass",
        ]
    )


def test_expected_failures_are_recorded_as_such(pytester):
    pytester.makepyfile(
        test_xfail="""
import pytest

@pytest.mark.xfail(reason="known: 8F30 on a stale counter")
def test_known():
    assert False

@pytest.mark.xfail(reason="fixed since")
def test_fixed():
    pass
"""
    )
    pytester.runpytest_inprocess("-p", "rig.plugin.measurements", "--rig-results", "run")
    with ResultsStore(pytester.path / "run" / STORE_FILE) as store:
        outcomes = {t["nodeid"]: t["outcome"] for t in store.tests(store.run().id)}
    assert outcomes == {
        "test_xfail.py::test_known": "xfailed",
        "test_xfail.py::test_fixed": "xpassed",
    }
