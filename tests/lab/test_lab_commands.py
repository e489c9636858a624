"""``rig check`` on a bench file with a ``[labgrid]`` table (issue 16): it holds a place of the
lab, checks the devices through the place's resources, and releases the place."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rig.lab.local import LocalLab
from rig.lab.place import Lab

REPO = Path(__file__).resolve().parents[2]
RIG = "from rig.cli import main; main()"


def held(lab: LocalLab) -> dict[str, str | None]:
    with Lab(lab.coordinator, "test-observer") as session:
        return {h.place: session.places[h.place].acquired for h in lab.hosts}


def test_rig_check_holds_a_place_checks_through_it_and_releases_it(
    lab: LocalLab, tmp_path: Path
) -> None:
    bench = tmp_path / "one-place.toml"
    place = lab.hosts[1].place
    bench.write_text(lab.bench.read_text().replace(f'pool = "{lab.pool}"', f'place = "{place}"'))
    command = [sys.executable, "-c", RIG, "check", str(bench), "--out", str(tmp_path / "run")]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert f"labgrid: place {place} held (exporter {lab.hosts[1].exporter})" in output
    assert "ok     esme: answered in" in output
    assert held(lab) == {h.place: None for h in lab.hosts}


def test_rig_check_on_a_place_that_serves_no_meter_is_one_line(
    lab: LocalLab, tmp_path: Path
) -> None:
    """Its meters frozen: the check goes through the place (a local emulator would answer)."""
    place = lab.hosts[0].place
    bench = tmp_path / "one-place.toml"
    text = lab.bench.read_text().replace(f'pool = "{lab.pool}"', f'place = "{place}"')
    bench.write_text(text.replace("response_timeout_s = 5.0", "response_timeout_s = 1.0"))
    command = [sys.executable, "-c", RIG, "check", str(bench), "--out", str(tmp_path / "run")]
    with lab.frozen_meters(place):
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert "FAILED esme: no response from esme within 1 s" in output
    assert held(lab) == {h.place: None for h in lab.hosts}


def test_rig_demo_runs_on_the_bench_files_place(lab: LocalLab, tmp_path: Path) -> None:
    """``rig demo`` runs its plan through pytest, whose session holds the ``[labgrid]`` place:
    its results name the place, and the place is released after."""
    bench = tmp_path / "one-place.toml"
    place = lab.hosts[0].place
    bench.write_text(lab.bench.read_text().replace(f'pool = "{lab.pool}"', f'place = "{place}"'))
    run = tmp_path / "run"
    command = [sys.executable, "-c", RIG, "demo", "--bench", str(bench), "--out", str(run)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    records = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert [r["place"] for r in records if r.get("kind") == "lab_place"] == [place]
    assert held(lab) == {h.place: None for h in lab.hosts}
