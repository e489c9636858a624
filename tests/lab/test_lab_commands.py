"""``rig check`` on a bench file with a ``[labgrid]`` table (issue 16): it holds a place of the
lab, checks the devices through the place's resources, and releases the place."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from rig.lab.local import LocalLab
from rig.lab.place import Lab

REPO = Path(__file__).resolve().parents[2]
RIG = "from rig.cli import main; main()"


def held(lab: LocalLab) -> dict[str, str | None]:
    with Lab(lab.coordinator, "test-observer") as session:
        return {h.place: session.places[h.place].acquired for h in lab.hosts}


def run_rig(lab: LocalLab, *args: str) -> tuple[int, str]:
    """A rig command on the lab's own bench file (a pool of its places), whose counters file
    the lab's other runs share: the served meters are physical to the rig, and remember."""
    command = [sys.executable, "-c", RIG, *args]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


def test_rig_check_holds_a_place_checks_through_it_and_releases_it(
    lab: LocalLab, tmp_path: Path
) -> None:
    code, output = run_rig(lab, "check", str(lab.bench), "--out", str(tmp_path / "run"))
    assert code == 0, output[-3000:]
    assert any(
        f"labgrid: place {h.place} held (exporter {h.exporter})" in output for h in lab.hosts
    ), output[-3000:]
    assert "ok     esme: answered in" in output
    assert held(lab) == {h.place: None for h in lab.hosts}


def test_rig_check_on_a_place_whose_meter_is_frozen_fails_in_one_line(
    lab: LocalLab, tmp_path: Path
) -> None:
    """The places' meters frozen: the check goes through a place (a meter emulated here would
    answer) and says which device did not answer."""
    with ExitStack() as frozen:
        for host in lab.hosts:
            frozen.enter_context(lab.frozen_meters(host.place))
        code, output = run_rig(lab, "check", str(lab.bench), "--out", str(tmp_path / "run"))
    assert code == 1, output[-3000:]
    assert "FAILED esme: no response from esme within 5 s" in output
    assert held(lab) == {h.place: None for h in lab.hosts}


def test_rig_demo_runs_on_the_bench_files_place(lab: LocalLab, tmp_path: Path) -> None:
    """``rig demo`` runs its plan through pytest, whose session holds the ``[labgrid]`` place:
    its results name the place, and the place is released after."""
    run = tmp_path / "run"
    code, output = run_rig(lab, "demo", "--bench", str(lab.bench), "--out", str(run))
    assert code == 0, output[-3000:]
    records = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    places = [r["place"] for r in records if r.get("kind") == "lab_place"]
    assert len(places) == 1 and places[0] in {h.place for h in lab.hosts}
    assert held(lab) == {h.place: None for h in lab.hosts}
