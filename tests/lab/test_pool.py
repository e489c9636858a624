"""The shipped plans on a pool of two labgrid places, one bench host's exporter killed mid-run
(issue 16 "CI: the real parts"): each worker holds its own place; the killed host's worker
fails its in-flight requests with the reason and releases its place; the run's report (from the
PostgreSQL store, one build id) merges both workers' runs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from rig.lab.local import LocalLab
from rig.lab.place import Lab

RIG = "from rig.cli import main; main()"
REPO = Path(__file__).resolve().parents[2]
PLANS = REPO / "test_plans"
#: Requests the victim's worker has sent before its exporter is killed: the run is well under way.
REQUESTS_BEFORE_KILL = 20
RUN_TIMEOUT_S = 300.0
#: How long the meter is frozen before the kill: well under its response timeout (5 s).
FREEZE_S = 1.0
#: The nightly build the run belongs to: the report is the build's, from the shared store.
BUILD = "lab-nightly-1"


def records(run: Path) -> dict[str, list[dict[str, Any]]]:
    """Each worker's results records, by worker folder."""
    found = {}
    for path in sorted(run.glob("gw*/results.jsonl")):
        lines = path.read_text().splitlines()
        found[path.parent.name] = [json.loads(line) for line in lines if line.strip()]
    return found


def placed(run: Path) -> dict[str, dict[str, Any]]:
    """The place record of each worker, by worker folder."""
    return {
        worker: next(r for r in recs if r["kind"] == "lab_place")
        for worker, recs in records(run).items()
        if any(r["kind"] == "lab_place" for r in recs)
    }


def wait_for(what: str, ready: Any, process: subprocess.Popen[str], timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = ready()
        if value:
            return value
        if process.poll() is not None:
            pytest.fail(f"the run ended before {what}: {process.communicate()[0][-3000:]}")
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"no {what} in {timeout_s} s")


def acquired(lab: LocalLab) -> dict[str, str | None]:
    with Lab(lab.coordinator, "test-observer") as session:
        return {h.place: session.places[h.place].acquired for h in lab.hosts}


@pytest.mark.slow
def test_plans_on_a_pool_with_an_exporter_killed(
    lab: LocalLab, lab_store: str, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2"]
    command += [str(PLANS), "--bench", str(lab.bench), "--lg-pool", lab.pool]
    command += ["--rig-results", str(run), "--rig-store", lab_store, "--rig-lease-timeout", "60"]
    command += ["--rig-build", BUILD]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    victim = lab.hosts[1].place
    try:
        holders = wait_for(
            "two places held", lambda: placed(run) if len(placed(run)) == 2 else None, process, 120
        )
        worker = next(w for w, r in holders.items() if r["place"] == victim)

        def under_way() -> bool:
            sent = [r for r in records(run).get(worker, []) if r["kind"] == "request"]
            return len(sent) >= REQUESTS_BEFORE_KILL

        wait_for(f"{REQUESTS_BEFORE_KILL} requests on {victim}", under_way, process, 120)
        # The meter is frozen a moment first, so that a request is surely on the wire, waiting
        # for its answer, when the host's labgrid goes.
        with lab.frozen_meters(victim):
            time.sleep(FREEZE_S)
            lab.kill_exporter(victim)
        output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
        lab.restart_exporter(victim)

    # Each worker held its own place, from its own bench host.
    assert sorted(r["place"] for r in holders.values()) == sorted(h.place for h in lab.hosts)
    assert len({r["holder"] for r in holders.values()}) == 2
    # The killed host's worker failed what was on the wire with the reason.
    lost = [
        r
        for r in records(run)[worker]
        if r["kind"] == "request" and "link lost" in (r.get("reason") or "")
    ]
    assert lost, output[-3000:]
    exporter = lab.host(victim).exporter
    # Each names the place and its exporter: on the wire when the link went, or sent after.
    where = f"esme on place {victim} (exporter {exporter}): link lost"
    assert all(
        r["reason"].startswith(where)
        if "on_wire" in r.get("stamps", {})
        else r["reason"].startswith(f"could not send to {where}")
        for r in lost
    ), lost[:3]
    # In flight when the host went: on the wire to its meter, or taken from the DSP's queue for
    # it (which request the freeze catches depends on where the plans are at that moment).
    assert any({"on_wire", "dequeued"} & set(r.get("stamps", {})) for r in lost), lost[:3]
    # The other worker's plans all passed; the run failed (not a usage error or a crash).
    other = next(w for w in holders if w != worker)
    outcomes = {r["outcome"] for r in records(run)[other] if r["kind"] == "test"}
    assert outcomes <= {"passed", "skipped"}, output[-3000:]
    assert process.returncode == 1, output[-3000:]
    # Both places were released, the killed host's too.
    assert acquired(lab) == {h.place: None for h in lab.hosts}
    # The build's report, from the shared store, merges both workers: every test of the plans is
    # in its JUnit.
    junit = tmp_path / "junit.xml"
    report = subprocess.run(
        [
            *(sys.executable, "-c", RIG, "report"),
            *("--store", lab_store, "--build", BUILD, "--junit", str(junit)),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert junit.is_file(), report.stdout + report.stderr
    cases = ET.parse(junit).getroot().iter("testcase")
    tested = {r["nodeid"] for recs in records(run).values() for r in recs if r["kind"] == "test"}
    assert len({f"{c.get('classname')}::{c.get('name')}" for c in cases}) == len(tested)
    assert len(tested) > 30
