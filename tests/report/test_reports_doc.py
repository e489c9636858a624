"""docs/reports.md: its runnable plan runs on the emulated bench and reports as documented."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from rig.report.commands import report
from rig.results.store import STORE_FILE, ResultsStore

pytest_plugins = ["pytester"]

DOC = Path(__file__).resolve().parents[2] / "docs" / "reports.md"


@pytest.mark.slow
def test_the_documented_plan_runs_and_reports(pytester):
    (plan,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    pytester.makepyfile(test_measured=plan)
    result = pytester.runpytest_subprocess("-p", "rig.plugin.measurements", "--rig-results", "run")
    result.assert_outcomes(passed=1, skipped=1)
    with ResultsStore(pytester.path / "run" / STORE_FILE) as store:
        (measurement,) = store.measurements(store.run().id)
    assert measurement["name"] == "worst top-up total latency"
    html = pytester.path / "report.html"
    done = CliRunner().invoke(report, [str(pytester.path / "run"), "--html", str(html)])
    assert done.exit_code == 0, done.output
    assert "SECMP0028 §3" in html.read_text()
