"""Fault injection under the live rig, on every transport, with the real ESME: faults set in the
bench file (``[device.faults]``) or scripted on the device's injector, a device reboot, and every
fault written to the results with the frames it touched."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from one_esme_bench import live_rig, write_bench

from devices.serial_device import TRANSPORTS, EmulatedSerialDevice
from devices.transports.faults import Direction, Fault
from rig.config.bench import BenchError, load_bench
from rig.live.orchestrator import Rig
from rig.results.jsonl import RESULTS_FILE, read_jsonl

FAULTS = """response_timeout_s = 1.0
[device.faults]
seed = 5
tx = { delay_s = [0.02, 0.03] }
"""


@pytest.fixture(params=TRANSPORTS)
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    with live_rig(tmp_path, "faults", request.param, FAULTS) as running:
        yield running


def results(run_dir: Path, kind: str, count: int) -> list[dict[str, Any]]:
    """The first ``count`` records of ``kind`` (the rig writes them once per tick)."""
    deadline = time.monotonic() + 10
    while True:
        found = [r for r in read_jsonl(run_dir / RESULTS_FILE) if r["kind"] == kind]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def test_faults_on_the_live_link_are_reported_and_the_run_goes_on(rig: Rig, tmp_path: Path) -> None:
    device = rig.devices["esme"]
    assert isinstance(device, EmulatedSerialDevice) and device.faults is not None
    injector = device.faults
    tx = Direction.TX
    injector.script(tx, 0, Fault.DROP)
    injector.script(tx, 1, Fault.DELAY)
    injector.script(tx, 2, Fault.REORDER)

    dropped = rig.read_supply_status("esme", timeout=10)
    assert dropped.reason == "no response from esme within 1 s"
    assert rig.read_supply_status("esme", timeout=10).ok  # delayed, answered
    # Held back, overtaken by the next command: the meter sees its counter go backwards.
    overtaken = rig.submit_read_supply_status("esme")
    overtaking = rig.submit_read_supply_status("esme")
    assert overtaking.result(timeout=10).ok
    refused = overtaken.result(timeout=10)
    assert refused.reason is not None and "0x8F30" in refused.reason

    asyncio.run_coroutine_threadsafe(device.reboot(0.05), rig.loop).result(timeout=20)
    deadline = time.monotonic() + 20
    while not rig.read_supply_status("esme", timeout=10).ok:
        assert time.monotonic() < deadline, "the meter did not come back after its reboot"
        time.sleep(0.05)

    faults = results(tmp_path, "fault", 6)
    kinds = [(f["fault"], f["direction"]) for f in faults]
    assert kinds[:6] == [
        ("drop", "tx"),
        ("delay", "tx"),
        ("reorder", "tx"),
        ("reorder", "tx"),
        ("power off", None),
        ("power on", None),
    ]
    assert all(f["device"] == "esme" for f in faults)
    assert faults[0]["frames"] and all(bytes.fromhex(h) for h in faults[0]["frames"])
    assert faults[3]["detail"] == "frame 3 overtook" and len(faults[3]["frames"]) == 2


def test_fault_rates_are_checked(tmp_path: Path) -> None:
    path = write_bench(
        tmp_path, "faults", "pty", FAULTS.replace("delay_s = [0.02, 0.03]", "drop = 2")
    )
    message = r"device\[0\]\.faults\.tx: expected valid fault rates \(drop rate"
    with pytest.raises(BenchError, match=message):
        load_bench(path)
