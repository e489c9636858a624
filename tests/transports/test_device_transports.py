"""The same device code (EmulatedSerialDevice, the ESME emulator, the rig) over a pty, a raw
loopback TCP socket and RFC 2217 (a meter on the HAN: tests/e2e/test_han_plans.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.serial_device import (
    TRANSPORTS,
    EmulatedSerialDevice,
    Transport,
    emulated_esme,
)
from rig.config.bench import DEFAULT_BENCH, load_bench
from rig.keys import RTDS_KEYS
from rig.keys.keystore import KeyStore
from rig.keys.pki import generate_pki
from rig.live.orchestrator import Rig
from rig.results.jsonl import RESULTS_FILE, JsonlWriter


@pytest.fixture(params=TRANSPORTS)
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    bench = load_bench(DEFAULT_BENCH)
    esme = bench.device("esme")
    generate_pki(tmp_path / "keys", remote_parties=(), devices=[esme.eui])
    key_dirs = [tmp_path / "keys", RTDS_KEYS]
    device = emulated_esme(
        "esme", esme.eui, key_dirs, processing_time_s=0.001, transport=request.param
    )
    results = JsonlWriter(tmp_path / RESULTS_FILE)
    with Rig(bench, {"esme": device}, KeyStore(key_dirs), results) as running:
        expected = {
            "pty": "/dev/",
            "tcp": "socket://127.0.0.1:",
            "rfc2217": "rfc2217://127.0.0.1:",
        }
        assert device.port is not None and device.port.startswith(expected[request.param])
        yield running
    assert device.process is None and device.bridge is None


def test_top_up_and_read_over_every_transport(rig: Rig) -> None:
    topped = rig.top_up("esme", pence=250, timeout=20)
    assert topped.ok, topped.reason
    status = rig.read_supply_status("esme", timeout=20)
    assert status.ok, status.reason
    assert status.response is not None and status.response["control_state"] == 1


def test_unknown_transport_is_refused() -> None:
    bad: Transport = "carrier-pigeon"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="transport must be one of"):
        EmulatedSerialDevice(
            "x", load_bench(DEFAULT_BENCH).device("esme").eui, "m", [], transport=bad
        )
