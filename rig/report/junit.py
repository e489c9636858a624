"""JUnit XML of a run, from its records: one testcase per test, its requirement references and
measurements as properties (numbers: :func:`rig.results.measure.junit_properties`), a
failure message naming each failed measurement with its value and limit, its captures as
``[[ATTACHMENT|path]]`` lines in ``system-out`` (the convention GitLab and Jenkins read); an
expected failure (xfail) is skipped, its message saying so; the suite's properties carry the
run information and the requirement coverage matrix
(``requirement <ref>`` = ``fail (1 fail, 2 pass)``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rig.report.coverage import tally
from rig.report.run import OUTCOME_RANK, RunData, captures_of, merged_tests
from rig.results.measure import coverage_matrix, junit_properties, limit_breach

#: The element a testcase gets per outcome (none when it passed).
_TAGS = {"failed": "failure", "error": "error", "skipped": "skipped", "xfailed": "skipped"}


def _names(nodeid: str) -> tuple[str, str]:
    """pytest's JUnit naming: ``dir/test_x.py::Cls::test_a`` -> (``dir.test_x.Cls``, test_a)."""
    path, *rest = nodeid.split("::")
    module = path.removesuffix(".py").replace("/", ".")
    return ".".join([module, *rest[:-1]]), rest[-1] if rest else path


def junit_tree(run: RunData) -> ET.ElementTree:
    """The run as a JUnit ``testsuites`` document."""
    tests = merged_tests(run)
    measured: dict[str, list[Mapping[str, Any]]] = {}
    for m in run.measurements:
        measured.setdefault(m["nodeid"], []).append(m)
    counts = {k: sum(t["outcome"] == k for t in tests.values()) for k in OUTCOME_RANK}
    totals = {
        "tests": str(len(tests)),
        "failures": str(counts["failed"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"] + counts["xfailed"]),
        "time": f"{sum(t['duration_s'] for t in tests.values()):.3f}",
    }
    root = ET.Element("testsuites", {"name": "rig", **totals})
    suite = ET.SubElement(root, "testsuite", {"name": run.label, **totals})
    suite_properties: list[tuple[str, str]] = []
    if run.info is not None:
        suite.set("timestamp", run.info.started)
        if run.info.host:
            suite.set("hostname", run.info.host)
        for key in ("bench", "plan", "rig_version", "config_hash"):
            value = getattr(run.info, key)
            if value:
                suite_properties.append((key, value))
    suite_properties += [
        (f"requirement {row.requirement}", f"{row.verdict} ({tally(row)})")
        for row in coverage_matrix(run.tests, run.measurements)
    ]
    if suite_properties:
        props = ET.SubElement(suite, "properties")
        for key, value in suite_properties:
            ET.SubElement(props, "property", {"name": key, "value": value})
    for nodeid, t in tests.items():
        classname, name = _names(nodeid)
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": classname, "name": name, "time": f"{t['duration_s']:.3f}"},
        )
        properties = [("requirement", ref) for ref in t["requirements"]]
        for measurement in measured.get(nodeid, ()):
            properties += junit_properties(measurement)
        if properties:
            props = ET.SubElement(case, "properties")
            for key, value in properties:
                ET.SubElement(props, "property", {"name": key, "value": value})
        text = "\n".join(t["messages"])
        tag = _TAGS.get(t["outcome"])
        if tag is not None:
            breaches = [limit_breach(m) for m in measured.get(nodeid, ()) if m["verdict"] == "fail"]
            message = "; ".join(breaches) or (text.splitlines() or [""])[0]
            if t["outcome"] == "xfailed":
                message = f"expected failure: {message}"
            element = ET.SubElement(case, tag, {"message": message})
            element.text = text
        attachments = captures_of(run, nodeid)
        if attachments:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(f"[[ATTACHMENT|{p.resolve()}]]" for p in attachments)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(run: RunData, path: Path) -> None:
    """Write the run's JUnit XML to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(run).write(path, encoding="utf-8", xml_declaration=True)
