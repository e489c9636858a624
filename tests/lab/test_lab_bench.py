"""A bench through a place of the lab (issue 16): the emulated bench I/O module a served bench
host exports as labgrid's ModbusTCPCoil, reached from the place, so the contactor plans run on a
lab place instead of skipping; a link lost names the place and exporter it went through."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


READING = """import time


def test_reads(rig):
    end = time.monotonic() + 20
    while time.monotonic() < end:
        rig.read_supply_status("esme")
"""


def requests(results: Path) -> list[dict[str, Any]]:
    if not results.is_file():
        return []
    lines = results.read_text().splitlines()
    return [r for r in map(json.loads, filter(None, lines)) if r["kind"] == "request"]


def test_a_link_lost_names_the_place_and_its_exporter(lab: LocalLab, tmp_path: Path) -> None:
    """The bench host's exporter killed while a request is on the wire: its reason names the
    place and the exporter the device was reached through."""
    host = lab.hosts[0]
    plan = tmp_path / "test_reading.py"
    plan.write_text(READING)
    run = tmp_path / "run"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "0"]
    command += [str(plan), "--bench", str(lab.bench), "--lg-place", host.place]
    command += ["--rig-results", str(run), "--rootdir", str(tmp_path)]
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while len(requests(run / "results.jsonl")) < 5:
            assert process.poll() is None, process.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "no requests on the place"
            time.sleep(0.1)
        with lab.frozen_meters(host.place):  # a request surely on the wire when it goes
            time.sleep(1.0)
            lab.kill_exporter(host.place)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
        lab.restart_exporter(host.place)
    lost = [
        r
        for r in requests(run / "results.jsonl")
        if "on_wire" in r["stamps"] and "link lost" in (r.get("reason") or "")
    ]
    assert lost, output[-3000:]
    expected = f"esme on place {host.place} (exporter {host.exporter}): link lost ("
    assert lost[0]["reason"].startswith(expected), lost[0]["reason"]
