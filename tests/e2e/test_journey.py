"""The backbone journey end to end: DSP model, GBCS codec, a real link, and the ESME firmware
stub in its own process. Bad inputs are rejected by the device, reported by the rig with a
reason, and the run goes on. The journey runs unchanged over every serial transport: HDLC on
the emulator's pty, or through a loopback raw-TCP or RFC 2217 serial server (over the secured
HAN: the backbone plan on han.toml, tests/e2e/test_han_plans.py)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.serial_device import TRANSPORTS, EmulatedSerialDevice
from rig.config.bench import Bench, load_bench
from rig.duis.request import (
    ArmSupply,
    DisableSupply,
    EnableSupply,
    ReadInstantaneousImportRegisters,
    ReadSupplyStatus,
    RequestId,
    ServiceRequest,
)
from rig.gbcs.eui import Eui64
from rig.gbcs.usecases import SupplyState
from rig.keys.pki import generate_pki
from rig.live.launch import launch
from rig.live.orchestrator import Rig
from rig.results.jsonl import RESULTS_FILE, read_jsonl
from rig.results.record import STAMPS

OTHER_DEVICE = Eui64.parse("00-DB-12-34-56-78-91-99")

BENCH = """
[bench]
name = "e2e"
[keys]
dirs = ["@rtds", "other-keys"]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[dsp]
service_time_s = 0.0005
[[device]]
name = "esme"
kind = "esme"
eui = "00-DB-12-34-56-78-91-01"
emulated = true
response_timeout_s = {timeout}
processing_time_s = {processing}
transport = "{transport}"
"""


def make_bench(
    folder: Path, *, timeout: float = 5.0, processing: float = 0.001, transport: str = "pty"
) -> Bench:
    """A one-ESME emulated bench; another device's keys exist so a UTRN can be made for it."""
    generate_pki(folder / "other-keys", remote_parties=(), devices=[OTHER_DEVICE])
    path = folder / "bench.toml"
    path.write_text(BENCH.format(timeout=timeout, processing=processing, transport=transport))
    return load_bench(path)


@pytest.fixture(scope="module", params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, transport: str) -> Path:
    return tmp_path_factory.mktemp(f"run-{transport}")


@pytest.fixture(scope="module")
def rig(run_dir: Path, transport: str) -> Iterator[Rig]:
    with launch(make_bench(run_dir, transport=transport), run_dir) as running:
        yield running


PORTS = {"pty": "/dev/", "tcp": "socket://", "rfc2217": "rfc2217://"}


def test_the_device_is_reached_over_its_transport(rig: Rig, transport: str) -> None:
    device = rig.devices["esme"]
    assert isinstance(device, EmulatedSerialDevice)
    assert device.transport == transport
    assert device.port is not None and device.port.startswith(PORTS[transport])
    assert (device.bridge is None) == (transport == "pty")


def flip_last_byte(frame: bytes) -> bytes:
    return frame[:-1] + bytes([frame[-1] ^ 0x01])


def test_every_hop_is_stamped_in_journey_order(rig: Rig) -> None:
    record = rig.read_supply_status("esme", timeout=10)
    assert record.ok, record.reason
    stamps = [record.stamps[name] for name in STAMPS]
    assert stamps == sorted(stamps)
    latencies = record.latencies()
    assert set(latencies) == {"ack", "queue", "dispatch", "device", "northbound", "total"}
    assert all(latency >= 0 for latency in latencies.values())
    assert latencies["device"] > 0 and latencies["total"] > 0
    assert record.response == {
        "type": "ReadSupplyStatusEsmeResponse",
        "control_state": 1,
        "result": 0,
    }


def test_a_dsp_future_dated_read_is_held_until_its_execution_time(rig: Rig) -> None:
    """SRV 4.1.1 with an ExecutionDateTime (domain.md §7.3, pattern "DSP"): acknowledged at
    once, released into the DSP's queue at that time, then sent and answered; its queue and
    total hops count from the release, the wait is its held hop."""
    at = math.ceil(time.time()) + 2  # DUIS date-times are to the second
    body = ReadInstantaneousImportRegisters(datetime.fromtimestamp(at, UTC))
    record = rig.submit_srv("esme", body).result(timeout=20)
    assert record.ok, record.reason
    assert time.time() >= at
    stamps = record.stamps
    assert stamps["acknowledged"] < stamps["released"] <= stamps["dequeued"] < stamps["on_wire"]
    latencies = record.latencies()
    assert latencies["held"] > 1.0
    assert latencies["total"] == stamps["delivered"] - stamps["released"]
    assert latencies["queue"] == stamps["dequeued"] - stamps["released"] < 1.0


def test_top_up_adds_credit_and_is_recorded_on_disk(rig: Rig, run_dir: Path) -> None:
    record = rig.top_up("esme", pounds=3, timeout=10)
    assert record.ok, record.reason
    on_disk = [r for r in read_jsonl(run_dir / RESULTS_FILE) if r.get("kind") == "request"]
    assert record.request_id in {r["request_id"] for r in on_disk}
    assert int(record.request_id.rsplit(":", 1)[1]) % 2**32 == 0  # a UTRN counter


def test_a_tampered_mac_is_refused_and_the_run_continues(rig: Rig) -> None:
    record = rig.read_supply_status("esme", mangle=flip_last_byte, timeout=10)
    assert not record.ok
    assert record.reason is not None
    assert record.reason.startswith(
        "device refused the command: alert 0x8F30 Source Does not have Authority for Command "
        "(a meter refuses a command whose counter, "
    )
    assert "or whose MAC or signature does not verify)" in record.reason
    assert rig.read_supply_status("esme", timeout=10).ok


def test_a_utrn_for_another_device_is_rejected(rig: Rig) -> None:
    record = rig.top_up("esme", pounds=5, utrn_target=OTHER_DEVICE, timeout=10)
    assert not record.ok
    assert record.reason is not None
    assert record.reason.startswith("device rejected the command (result 1); alert 0x8F64")
    assert [a["code"] for a in record.alerts] == [0x8F64]
    assert rig.top_up("esme", pence=100, timeout=10).ok


def test_a_replayed_counter_is_refused(rig: Rig) -> None:
    first = rig.read_supply_status("esme", timeout=10)
    assert first.ok
    counter = int(first.request_id.rsplit(":", 1)[1])
    replay = rig.read_supply_status("esme", counter=counter, timeout=10)
    assert not replay.ok
    assert replay.reason is not None and "0x8F30" in replay.reason
    assert rig.read_supply_status("esme", timeout=10).ok


def test_alerts_are_written_to_the_results(rig: Rig, run_dir: Path) -> None:
    alerts = [r for r in read_jsonl(run_dir / RESULTS_FILE) if r.get("kind") == "alert"]
    assert {a["code"] for a in alerts} >= {0x8F30, 0x8F64}


def test_a_silent_device_times_out_and_its_late_answer_is_kept(tmp_path: Path) -> None:
    bench = make_bench(tmp_path, timeout=0.05, processing=0.3)
    with launch(bench, tmp_path) as rig:
        record = rig.read_supply_status("esme", timeout=10)
        assert not record.ok
        assert record.reason == "no response from esme within 0.05 s"
        # The meter still answers, late: the rig keeps that answer too.
        deadline = time.monotonic() + 10
        while "late_response" not in kinds(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.01)
    assert [k for k in kinds(tmp_path) if k != "link"] == ["request", "late_response"]


def kinds(run_dir: Path) -> list[str]:
    return [r["kind"] for r in read_jsonl(run_dir / RESULTS_FILE)]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_dead_device_fails_requests_with_the_reason(tmp_path: Path, transport: str) -> None:
    bench = make_bench(tmp_path, transport=transport)
    with launch(bench, tmp_path) as rig:
        assert rig.read_supply_status("esme", timeout=10).ok
        process = rig.devices["esme"].process  # type: ignore[attr-defined]
        process.stop()
        record = rig.read_supply_status("esme", timeout=10)
        assert not record.ok
        assert record.reason is not None and "link lost" in record.reason


def test_a_healthy_meter_reads_connected(rig: Rig) -> None:
    record = rig.read_supply_status("esme", timeout=10)
    assert record.response is not None
    assert record.response["control_state"] == SupplyState.CONNECTED


def test_critical_supply_commands_change_what_7_4_reads(rig: Rig) -> None:
    """SRV 7.2 / 7.3 / 7.1 (critical: the User's signature, then the ACB's MAC) through the DSP;
    the meter verifies, switches, answers signed; SRV 7.4 reads the new state each time."""
    for body, state in [
        (DisableSupply(), SupplyState.DISCONNECTED),
        (ArmSupply(), SupplyState.ARMED),
        (EnableSupply(), SupplyState.CONNECTED),
    ]:
        record = rig.request("esme", body, timeout=10)
        assert record.ok, record.reason
        assert record.response == {"type": "ChangeSupplyEsmeResponse", "result": 0}
        status = rig.read_supply_status("esme", timeout=10)
        assert status.response is not None and status.response["control_state"] == state


def test_a_request_for_an_unknown_device_fails_at_submission_with_e19(rig: Rig) -> None:
    supplier = Eui64.parse("90-B3-D5-1F-30-01-00-00")
    request = ServiceRequest(RequestId(supplier, OTHER_DEVICE, 5), ReadSupplyStatus())
    record = rig.submit(request).result(timeout=10)
    assert not record.ok
    assert record.reason is not None and record.reason.startswith("E19")
    assert "on_wire" not in record.stamps
