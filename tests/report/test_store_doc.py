"""docs/store.md: its `rig run` and `rig report` commands and its Python example run as written
against a real PostgreSQL store."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_data import outcome, requests, write_run

from rig.report.commands import report

DOC = Path(__file__).resolve().parents[2] / "docs" / "store.md"
#: The store the doc names, replaced by the test's.
DOC_STORE = "postgresql://rig@db.lab/rig"


def commands(prefix: str) -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    lines = [line.split("  #")[0] for block in blocks for line in block.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith(prefix)]


@pytest.fixture
def lab(pg_url, tmp_path):
    """Builds nightly-41 and nightly-42, each run on two hosts."""
    for build in ("nightly-41", "nightly-42"):
        for host in ("a", "b"):
            folder = tmp_path / "runs" / "nightly"
            records = [*requests("2.2", [0.1] * 20), outcome("p::t")]
            write_run(folder, records, store=pg_url, key=f"{host}:{build}", build=build)
    return pg_url


def test_the_report_commands_run_as_written(lab, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = commands("rig report")
    assert len(found) == 4
    for args in found:
        args = [a.replace("$RIG_STORE", lab) for a in args[1:]]
        result = CliRunner().invoke(report, args, terminal_width=120)
        assert result.exit_code == 0, (args, result.output)
    assert (tmp_path / "build.html").is_file()


def test_the_python_example_runs_as_written(lab, capsys):
    (example,) = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    exec(compile(example, str(DOC), "exec"), {"STORE": lab})
    out = capsys.readouterr().out
    assert "nightly-3 " in out and "build nightly-42 40 requests from" in out


PLAN = """
def test_measured(measure):
    measure.record("total", 12.0, "ms")
"""


@pytest.mark.slow
def test_rig_run_passes_the_store_and_the_build_to_pytest(pg_url, tmp_path):
    ((run_args),) = [a for a in commands("rig run") if "--rig-store" in a]
    (tmp_path / "test_plan.py").write_text(PLAN)
    args = [a.replace("$RIG_STORE", pg_url) for a in run_args]
    # the doc's plan folder and bench are the lab's: here a plan of one test, one worker
    args[args.index("test_plans/")] = "test_plan.py"
    del args[args.index("--bench") : args.index("--bench") + 2]
    del args[args.index("-n") : args.index("-n") + 2]
    env = {**os.environ, "RIG_BUILD": "nightly-42"}
    rig = [sys.executable, "-c", "from rig.cli import main; main()"]
    command = [*rig, *args, "--out", "run", "-p", "no:cacheprovider"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    result = CliRunner().invoke(report, ["--store", pg_url, "--build", "nightly-42"])
    assert result.exit_code == 0 and "1 measurements: 1 pass" in result.output, result.output
