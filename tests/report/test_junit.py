import xml.etree.ElementTree as ET

from report_data import measurement, outcome, write_run

from rig.report.junit import write_junit
from rig.report.run import capture_dir, load_run


def test_junit_has_measurements_requirements_outcomes_and_attachments(tmp_path):
    records = [
        {
            "kind": "test",
            "nodeid": "plans/test_p.py::TestX::test_a",
            "outcome": "passed",
            "duration_s": 0.5,
            "requirements": ["SECMP0028 §3"],
        },
        {
            "kind": "test",
            "nodeid": "plans/test_p.py::TestX::test_a",
            "outcome": "error",
            "duration_s": 0.1,
            "requirements": ["SECMP0028 §3"],
            "message": "teardown broke",
        },
        {
            "kind": "test",
            "nodeid": "plans/test_p.py::test_b",
            "outcome": "failed",
            "duration_s": 0.2,
            "requirements": [],
            "message": "boom\nmore",
        },
        {
            "kind": "test",
            "nodeid": "plans/test_p.py::test_c",
            "outcome": "skipped",
            "duration_s": 0.0,
            "requirements": [],
            "message": "no GSME",
        },
        {
            "kind": "measurement",
            "nodeid": "plans/test_p.py::TestX::test_a",
            "name": "total",
            "value": 120.0,
            "units": "ms",
            "low": None,
            "high": 500.0,
            "marginal_low": None,
            "marginal_high": None,
            "verdict": "pass",
            "requirements": [],
        },
    ]
    write_run(tmp_path / "run", records)
    capture = capture_dir(tmp_path / "run", "plans/test_p.py::test_b")
    capture.mkdir(parents=True)
    (capture / "esme.log").write_text("log")
    out = tmp_path / "junit.xml"
    write_junit(load_run(tmp_path / "run"), out)

    root = ET.parse(out).getroot()
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    assert suite.get("name") == "run" and suite.get("hostname")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    a = cases["test_a"]
    assert a.get("classname") == "plans.test_p.TestX" and a.get("time") == "0.600"
    props = [(p.get("name"), p.get("value")) for p in a.iter("property")]
    assert props == [
        ("requirement", "SECMP0028 §3"),
        ("total.value", "120.0"),
        ("total.units", "ms"),
        ("total.high", "500.0"),
        ("total.verdict", "pass"),
    ]
    assert a.find("error").text == "teardown broke"
    b = cases["test_b"]
    assert b.find("failure").get("message") == "boom"
    (attachment,) = b.find("system-out").text.splitlines()
    assert attachment == f"[[ATTACHMENT|{(capture / 'esme.log').resolve()}]]"
    assert cases["test_c"].find("skipped").get("message") == "no GSME"


def test_a_failed_limit_keeps_its_value_in_the_failure_message(tmp_path):
    failed = measurement("p.py::test_slow", 840, high=500, verdict="fail")
    records = [outcome("p.py::test_slow", "failed"), failed, outcome("p.py::test_known", "xfailed")]
    write_run(tmp_path / "run", records)
    write_junit(load_run(tmp_path / "run"), tmp_path / "junit.xml")
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "junit.xml").iter("testcase")}
    assert cases["test_slow"].find("failure").get("message") == "total 840 ms > limit 500 ms"
    assert cases["test_known"].find("skipped").get("message").startswith("expected failure")
