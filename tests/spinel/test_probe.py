"""``rig han probe PORT`` against the emulated RCP's pty, as a user runs it on a dongle just
flashed (docs/wiring.md "First contact with a dongle"): every step answered, the raw
transmissions' TX statuses, a frame heard; a radio that does not answer is one line, exit 1."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from devices.emulated.host import EmulatorProcess, spawn_emulator
from devices.spinel.driver import SpinelRadio
from devices.spinel.probe import beacon_request
from rig.cli import main


@pytest.fixture(scope="module")
def rcps() -> Iterator[EmulatorProcess]:
    argv = [sys.executable, "-m", "devices.spinel.emulated", "--radios", "2"]
    with spawn_emulator(argv) as process:
        yield process


def test_the_probe_runs_every_step_on_the_emulated_rcp(rcps: EmulatorProcess) -> None:
    with SpinelRadio(rcps.ports[1]) as other:
        other.reset()
        other.configure(channel=20, pan_id=0x1234, short_address=1, extended_address=bytes(8))
        other.enable()
        sends = threading.Timer(0.5, other.transmit, (beacon_request(9),))
        sends.start()
        result = CliRunner().invoke(
            main, ["han", "probe", rcps.ports[0], "--channel", "20", "--listen", "1.5"]
        )
        sends.join()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"radio {rcps.ports[0]} at 460800 baud"
    steps = [line.split(":", 1)[0] for line in lines[1:-1]]
    assert steps == [
        "ok     reset",
        "ok     protocol",
        "ok     firmware",
        "ok     capabilities",
        "ok     EUI-64",
        "ok     channel, PAN ID",
        "ok     raw stream",
        "ok     transmit beacon request",
        "ok     transmit data to 0x5A5A",
        "ok     listen 1.5 s",
    ]
    text = result.output
    assert "Spinel 4.3" in text and "MAC_RAW" in text and "00-12-4B-00-52-49-47-01" in text
    assert "channel 20, PAN 0x5052" in text
    assert "beacon request: TX status OK" in text and "0x5A5A: TX status NO_ACK" in text
    assert "1 frame(s) heard, the last at RSSI -40 dBm, LQI 255" in text
    assert lines[-1].startswith(f'ready: put port = "{rcps.ports[0]}"')


def test_a_silent_port_is_one_line_and_exit_1() -> None:
    controller, pty = os.openpty()
    try:
        result = CliRunner().invoke(main, ["han", "probe", os.ttyname(pty), "--timeout", "0.2"])
    finally:
        os.close(controller)
        os.close(pty)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [_, failed] = result.output.splitlines()
    assert failed.endswith("no answer to the reset notification within 0.2 s")
    assert failed.startswith("FAILED radio /dev/")
