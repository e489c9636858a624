"""The bench's other parts through a place (issue 16): the emulated bench I/O module a served
bench host exports as labgrid's ModbusTCPCoil, reached from the place, so the contactor plans
run on a lab place instead of skipping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rig.lab.local import LocalLab

REPO = Path(__file__).resolve().parents[2]


def test_the_contactor_plans_pass_on_a_place_of_the_lab(lab: LocalLab, tmp_path: Path) -> None:
    place = lab.hosts[0].place
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "0"]
    command += [str(REPO / "test_plans" / "test_contactor.py"), "--bench", str(lab.bench)]
    command += ["--lg-place", place, "--rig-results", str(tmp_path / "run")]
    command += ["--rig-lease-timeout", "120", "-rs"]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "2 passed" in output and "skipped" not in output, output[-3000:]
