"""The emulated HAN's wires to the bench I/O module (devices/han/emulated.py): the wired meter's
supply state reported, the relay's power commands taken on the same socket."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devices.han.emulated import Han, HanSpec, MeterSpec
from rig.zigbee.pki import CA_FILE, credentials_path, generate

ESME = "00-DB-12-34-56-78-95-02"


@dataclass
class _Supply:
    name: str = "CONNECTED"


@dataclass
class _State:
    supply: _Supply


class _Stub:
    """A firmware stub with a supply contactor, answering nothing."""

    def __init__(self) -> None:
        self.state = _State(_Supply())

    def handle(self, frame: bytes, now: float) -> list[tuple[float, bytes]]:
        return []


@pytest.fixture
def bench() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(2.0)
        yield sock


def description(folder: Path, bench_io: dict[str, str]) -> Path:
    eui = bytes.fromhex(ESME.replace("-", ""))
    generate(folder / "pki", [eui])
    data = {
        "channel": 15,
        "extended_pan_id": "00DB123456789501",
        "keys": [],
        "ca": f"pki/{CA_FILE}",
        "meters": [
            {
                "eui": ESME,
                "kind": "esme",
                "install_code": "00DB123456789502A1B2C3D4E5F607182831",
                "credentials": f"pki/{credentials_path(Path(), eui)}",
            }
        ],
        "bench_io": bench_io,
    }
    path = folder / "han.json"
    path.write_text(json.dumps(data))
    return path


def test_the_wired_meter_reports_its_supply_and_takes_the_relay(
    tmp_path: Path, bench: socket.socket
) -> None:
    address = f"127.0.0.1:{bench.getsockname()[1]}"
    spec = HanSpec.load(description(tmp_path, {"meter": ESME, "report_to": address}))
    stub = _Stub()

    def firmware(meter: MeterSpec) -> _Stub:
        return stub

    han = Han(spec, now=0.0, firmware=firmware)
    han.run(0.5)
    report, reporter = bench.recvfrom(4096)
    assert json.loads(report)["supply"] == "connected"
    assert json.loads(report)["device"] == ESME
    stub.state.supply.name = "DISCONNECTED"
    han.run(0.6)
    assert json.loads(bench.recv(4096))["supply"] == "disconnected"
    meter = han.meters[0]
    bench.sendto(json.dumps({"power": False}).encode(), reporter)
    time.sleep(0.05)
    han.run(0.7)
    assert not meter.powered and meter.node.state == "left"
    before = meter.node
    bench.sendto(json.dumps({"power": True}).encode(), reporter)
    bench.sendto(b"not json", reporter)
    time.sleep(0.05)
    han.run(0.8)
    assert meter.powered and meter.node is not before  # a new node booted (not joined: a join)
    assert meter.node.state == "scanning"


def test_a_bench_io_meter_not_on_the_han_is_one_clear_error(tmp_path: Path) -> None:
    path = description(tmp_path, {"meter": "00-DB-12-34-56-78-95-09", "report_to": "127.0.0.1:9"})
    with pytest.raises(ValueError, match="bench_io: meter 00-DB-12-34-56-78-95-09 is not one"):
        HanSpec.load(path)
