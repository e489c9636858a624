"""``rig run PLAN -n 2``: pytest-xdist workers, each with its own emulated bench, results merged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rig.report.run import load_run

PLAN = Path(__file__).resolve().parents[2] / "test_plans" / "test_critical_flow.py"


@pytest.mark.slow
def test_rig_run_with_two_workers_merges_their_results(tmp_path: Path) -> None:
    out = tmp_path / "run"
    rig = [sys.executable, "-c", "from rig.cli import main; main()"]
    done = subprocess.run(
        [*rig, "run", str(PLAN), "-n", "2", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    workers = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert workers == ["gw0", "gw1"]  # one bench (emulator, keys, results) per worker
    run = load_run(out)
    assert {t["nodeid"].rsplit("::", 1)[1] for t in run.tests} >= {
        "test_signed_pre_command_switches_the_supply[7.2-disable]",
        "test_a_tampered_signature_is_refused_by_the_meter",
    }
    assert {r["srv"] for r in run.requests} == {"7.1", "7.2", "7.3", "7.4"}
    assert "Requirement coverage" in done.stdout and "Latency report" in done.stdout
