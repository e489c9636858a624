"""Issue 13: what an emulated device logs (frames rejected, commands discarded for their MAC or
their counter) is kept in the run folder, ``devices/<name>.log``, and ``rig emulate`` shows it
on its terminal."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from one_esme_bench import live_rig

from rig.config.bench import load_bench
from rig.live.launch import launch

MAC_REJECTED = "command discarded: MAC or signature check failed"
REPLAY_REJECTED = "command discarded: replayed counter"


def flip_last_byte(frame: bytes) -> bytes:
    return frame[:-1] + bytes([frame[-1] ^ 0x01])


def test_a_runs_device_logs_are_kept_in_its_run_folder(tmp_path: Path) -> None:
    with live_rig(tmp_path, "logs", "tcp") as rig:
        assert not rig.read_supply_status("esme", mangle=flip_last_byte, timeout=10).ok
        first = rig.read_supply_status("esme", timeout=10)
        counter = int(first.request_id.rsplit(":", 1)[1])
        assert not rig.read_supply_status("esme", counter=counter, timeout=10).ok
    log = (tmp_path / "devices" / "esme.log").read_text()
    assert MAC_REJECTED in log and REPLAY_REJECTED in log
    assert (tmp_path / "devices" / "esme-bridge.log").is_file()  # its serial server's


BENCH = """
[bench]
name = "served"
[keys]
dirs = ["@rtds"]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[[device]]
name = "m1"
kind = "esme"
eui = "00-DB-12-34-56-78-91-01"
emulated = true
"""


def test_rig_emulate_shows_what_its_devices_log(tmp_path: Path) -> None:
    served = tmp_path / "served.toml"
    served.write_text(BENCH)
    rig_command = Path(sys.executable).parent / "rig"
    process = subprocess.Popen(
        [str(rig_command), "emulate", str(served), "--out", str(tmp_path / "e")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        while not any(line.startswith("port = ") for line in lines):
            line = process.stdout.readline()  # type: ignore[union-attr]
            assert line, process.stderr.read()  # type: ignore[union-attr]
            lines.append(line)
        keys = lines[1].split('"')[1]
        physical = tmp_path / "physical.toml"
        physical.write_text(
            f'[keys]\ndirs = ["{keys}", "@rtds"]\n[user]\neui = "90-B3-D5-1F-30-01-00-00"\n'
            + "".join(lines[2:])
        )
        with launch(load_bench(physical), tmp_path / "run") as other:
            assert not other.read_supply_status("m1", mangle=flip_last_byte, timeout=10).ok
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    shown = [line for line in err.splitlines() if line.startswith("m1: ")]
    assert any(MAC_REJECTED in line for line in shown), err
    assert MAC_REJECTED in (tmp_path / "e" / "devices" / "m1.log").read_text()
