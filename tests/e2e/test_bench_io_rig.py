"""The bench I/O module wired into the live rig: contactor timing from real Modbus reads, a
power cycle through the relay rebooting the emulated meter (the run goes on), and the per-test
captures opened by tshark with no malformed frames: the GBCS frames on a serial bench, and the
secured HAN's 802.15.4 frames on a HAN bench (decrypted with the run's keys). The HAN meter's
relay and secure rejoin: tests/e2e/test_han_plans.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from one_esme_bench import live_rig

from devices.benchio.client import BenchIOError
from rig.duis.request import DisableSupply, EnableSupply
from rig.live.launch import capture_test
from rig.live.orchestrator import Rig
from rig.results.jsonl import RESULTS_FILE, read_jsonl

DELAY = 0.05
#: How far the contact may seem to lead on_wire + DELAY: the stamps come from the rig's loop and
#: from the module's timer, each late by scheduling noise on a loaded machine (seen: 7.5 ms).
SLACK = 0.02

BENCH_IO = f"""
[bench_io]
meter = "esme"
emulated = true
actuation_delay_s = {DELAY}
poll_interval_s = 0.005
"""


#: The one ESME on the bench's emulated HAN instead (rig/config/benches/han.toml's radio).
ON_HAN = """install_code = "83FED3407A939723A5C639B26916D505C3B5"
[han]
emulated = true
eui = "00-DB-12-34-56-78-95-01"
pan_id = 0x4742
extended_pan_id = "00-DB-12-34-56-78-95-01"
network_key = "5A6967426565416C6C69616E63653039"
"""


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with live_rig(tmp_path, "bench-io", "pty", BENCH_IO) as running:
        yield running


def test_disable_and_enable_are_timed_from_the_sense_input(rig: Rig) -> None:
    assert rig.bench_io is not None
    assert rig.bench_io.contactor_closed()
    disable = rig.request("esme", DisableSupply(), timeout=10)
    assert disable.ok, disable.reason
    opened = rig.bench_io.wait_for_contactor(False, 5.0, since=disable.stamps["on_wire"])
    # The meter switched after the command reached it; the contact follows DELAY later.
    assert opened.elapsed_s >= DELAY - SLACK
    assert opened.earliest_s <= opened.elapsed_s and opened.polls >= 1
    enable = rig.request("esme", EnableSupply(), timeout=10)
    assert enable.ok, enable.reason
    closed = rig.bench_io.wait_for_contactor(True, 5.0, since=enable.stamps["on_wire"])
    assert closed.closed and closed.elapsed_s >= DELAY - SLACK


def wait_until_answering(rig: Rig, deadline_s: float = 20.0) -> int:
    """Read the supply status until the meter answers; how many reads failed first."""
    failed = 0
    deadline = time.monotonic() + deadline_s
    while not rig.read_supply_status("esme", timeout=10).ok:
        failed += 1
        assert time.monotonic() < deadline, "the meter did not come back"
        time.sleep(0.05)
    return failed


def test_a_power_cycle_reboots_the_meter_and_the_run_goes_on(rig: Rig, tmp_path: Path) -> None:
    assert rig.bench_io is not None
    assert rig.read_supply_status("esme", timeout=10).ok
    first = rig.devices["esme"].process.pid  # type: ignore[attr-defined]
    off_at, on_at = rig.bench_io.power_cycle("esme", off_seconds=0.2)
    assert on_at - off_at >= 0.2
    wait_until_answering(rig)
    assert rig.devices["esme"].process.pid != first  # type: ignore[attr-defined]
    assert rig.top_up("esme", pounds=1, timeout=10).ok
    assert [r["event"] for r in written(tmp_path, "link", 2)] == ["power cut", "restored"]
    with pytest.raises(BenchIOError, match="powers 'esme', not 'gsme'"):
        rig.bench_io.power_cycle("gsme")


def written(run_dir: Path, kind: str, count: int = 1) -> list[dict[str, object]]:
    """The first ``count`` records of ``kind`` in the results (the rig writes once per tick)."""
    deadline = time.monotonic() + 10
    while True:
        found = [r for r in read_jsonl(run_dir / RESULTS_FILE) if r["kind"] == kind]
        if len(found) >= count or time.monotonic() > deadline:
            return found[:count]
        time.sleep(0.01)


def tshark() -> str | None:
    found = shutil.which("tshark")
    if found is None and os.environ.get("RIG_REQUIRE_SHARED") == "1":
        pytest.fail("tshark is required (RIG_REQUIRE_SHARED=1) but not installed")
    return found


@pytest.mark.parametrize("transport", ["pty", pytest.param("han", marks=pytest.mark.slow)])
def test_captures_per_test_open_in_tshark_with_no_malformed_frames(
    tmp_path: Path, transport: str
) -> None:
    on_han = transport == "han"
    with live_rig(tmp_path, "captures", transport, ON_HAN if on_han else "") as rig:
        assert rig.read_supply_status("esme", timeout=10).ok  # on the HAN: joined, CBKE done
        with capture_test(rig, tmp_path, "tests/e2e/x.py::test[a b]"):
            assert rig.top_up("esme", pounds=2, timeout=10).ok
            assert rig.read_supply_status("esme", timeout=10).ok
        (note,) = written(tmp_path, "capture")
    assert note["test"] == "tests/e2e/x.py::test[a b]"
    assert note["gbcs_packets"] == 4
    assert Path(note["gbcs_pcap"]).parent.name == "tests_e2e_x.py_test_a_b"
    assert (note["han_pcap"] is not None) == on_han
    assert (note["han_packets"] >= 4) == on_han
    binary = tshark()
    if binary is None:
        pytest.skip("tshark not installed")
    # The HAN's frames are secured: tshark opens them with the run's keys (docs/han.md).
    env = {**os.environ, "WIRESHARK_CONFIG_DIR": str(tmp_path / "wireshark")}
    for pcap in filter(None, (note["gbcs_pcap"], note["han_pcap"])):
        bad = subprocess.run(
            [binary, "-r", pcap, "-Y", "_ws.malformed || _ws.expert.severity >= error"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        assert bad.stdout == "", bad.stdout
        frames = subprocess.run(
            [binary, "-r", pcap, "-Y", "gbcs_message"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        assert len(frames.stdout.splitlines()) == 4, frames.stdout
