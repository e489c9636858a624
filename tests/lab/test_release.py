"""A held place is released however the run ends: it fails, it is sent SIGTERM, it is
SIGKILLed (the next rig on the host releases a dead holder's place); a worker that cannot get a
place in time says in one line who holds which."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rig.config.labgrid import LabgridConfig
from rig.lab.local import LocalLab
from rig.lab.place import Lab, PlaceError, hold_place, holder_name

REPO = Path(__file__).resolve().parents[2]
FAILING = "def test_fails(rig):\n    assert rig.read_supply_status('esme').ok\n    assert False\n"
SLOW = "import time\n\ndef test_waits(rig):\n    time.sleep(120)\n"


def holder(lab: LocalLab, place: str) -> str | None:
    with Lab(lab.coordinator, "test-observer") as session:
        return session.places[place].acquired


def run_plan(lab: LocalLab, tmp_path: Path, plan: str, place: str) -> subprocess.Popen[str]:
    path = tmp_path / "test_plan.py"
    path.write_text(plan)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(path)]
    command += ["--bench", str(lab.bench), "--lg-place", place, "--rig-results", str(tmp_path)]
    command += ["--rig-lease-timeout", "120", "--rootdir", str(tmp_path)]
    return subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def wait_held(lab: LocalLab, place: str, process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        acquired = holder(lab, place)
        if acquired and ":main:" in acquired:
            return acquired
        assert process.poll() is None, process.communicate()[0][-2000:]
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"{place} never held")


def test_a_failing_run_releases_its_place(lab: LocalLab, tmp_path: Path) -> None:
    place = lab.hosts[0].place
    process = run_plan(lab, tmp_path, FAILING, place)
    output, _ = process.communicate(timeout=180)
    assert process.returncode == 1, output[-2000:]
    assert "1 failed" in output
    assert holder(lab, place) is None


def test_a_run_sent_sigterm_releases_its_place(lab: LocalLab, tmp_path: Path) -> None:
    place = lab.hosts[0].place
    process = run_plan(lab, tmp_path, SLOW, place)
    wait_held(lab, place, process)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGTERM
    assert holder(lab, place) is None


def test_a_killed_runs_place_is_released_by_the_next_rig_here(
    lab: LocalLab, tmp_path: Path
) -> None:
    place = lab.hosts[0].place
    process = run_plan(lab, tmp_path, SLOW, place)
    dead = wait_held(lab, place, process)
    process.kill()  # SIGKILL: nothing of the run's own can release it
    process.communicate(timeout=60)
    assert holder(lab, place) == dead  # labgrid keeps a disconnected client's place
    held = hold_place(LabgridConfig(lab.coordinator, place), holder_name("next"), 30)
    try:
        assert held.name == place
    finally:
        held.release()
    assert holder(lab, place) is None


def test_no_place_in_time_names_who_holds_which(lab: LocalLab) -> None:
    pool = LabgridConfig(lab.coordinator, None, {"pool": lab.pool})
    held = [hold_place(pool, holder_name(f"gw{n}"), 60) for n in range(len(lab.hosts))]
    try:
        started = time.monotonic()
        with pytest.raises(PlaceError) as caught:
            hold_place(pool, holder_name("gw9"), 1.0)
        assert time.monotonic() - started < 10
        message = str(caught.value)
        assert "\n" not in message and "no place free after 1 s" in message
        for place in held:
            assert f"{place.name} held by {place.holder} since" in message
    finally:
        for place in held:
            place.release()


def test_an_unknown_place_fails_at_once(lab: LocalLab) -> None:
    with pytest.raises(PlaceError, match=r"place nowhere: no place on coordinator .* matches"):
        hold_place(LabgridConfig(lab.coordinator, "nowhere"), holder_name(), 60)
