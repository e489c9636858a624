"""The ZigBee bridge link against the emulated bridge process, on every transport, with fault
injection, and its 802.15.4 capture checked by tshark."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devices.serial_device import TRANSPORTS, Transport, emulated_zigbee_echo
from devices.transports.faults import Direction, Fault, FaultInjector
from devices.transports.hdlc import FrameKind
from devices.zigbee.link import ZigbeeLink
from devices.zigbee.pcap import PcapCapture
from rig.gbcs.eui import Eui64

TIMEOUT = 10.0
EUI = Eui64.parse("00-DB-12-34-56-78-91-01")
LARGE = bytes(i % 253 for i in range(1500))  # 16 fragments each way


class Collector:
    def __init__(self) -> None:
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()
        self.lost: list[str] = []

    def frame_received(self, device: object, frame: bytes, at: float) -> None:
        self.frames.put_nowait(frame)

    def link_lost(self, device: object, reason: str) -> None:
        self.lost.append(reason)

    async def next(self) -> bytes:
        return await asyncio.wait_for(self.frames.get(), TIMEOUT)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_device_api_over_the_bridge_on_every_transport(transport: Transport) -> None:
    async def main() -> None:
        injector = FaultInjector(seed=2)
        injector.script(Direction.TX, 1, Fault.DROP)
        device = emulated_zigbee_echo("zb", EUI, transport=transport)
        device.faults = injector
        collector = Collector()
        await device.open(asyncio.get_running_loop(), collector)
        try:
            device.send(b"small")
            assert await collector.next() == b"small"
            device.send(b"dropped on the air")
            device.send(LARGE)
            assert await collector.next() == LARGE
        finally:
            await device.close()
        assert collector.lost == ["closed"]
        assert [r.fault for r in injector.log] == [Fault.DROP]

    asyncio.run(main())


def test_only_gbcs() -> None:
    link = ZigbeeLink("loop://", on_frame=lambda frame, at: None)
    with pytest.raises(ValueError, match="GBCS"):
        link.send(b"\x01", kind=FrameKind.LINK)


def tshark() -> str | None:
    found = shutil.which("tshark")
    if found is None and os.environ.get("RIG_REQUIRE_SHARED") == "1":
        pytest.fail("tshark is required (RIG_REQUIRE_SHARED=1) but not installed")
    return found


def test_capture_opens_in_tshark_with_no_malformed_frames(tmp_path: Path) -> None:
    path = tmp_path / "zigbee.pcap"

    async def main() -> None:
        with PcapCapture(path) as capture:
            device = emulated_zigbee_echo("zb", EUI)
            device.framing = lambda url: ZigbeeLink.factory(url, capture=capture)
            collector = Collector()
            await device.open(asyncio.get_running_loop(), collector)
            try:
                for message in (b"one", LARGE, b"two"):
                    device.send(message)
                    assert await collector.next() == message
            finally:
                await device.close()
            assert capture.packets == 2 * (1 + 16 + 1)

    asyncio.run(main())
    binary = tshark()
    if binary is None:
        pytest.skip("tshark not installed")
    run = [binary, "-r", str(path)]
    listing = subprocess.run(run, capture_output=True, text=True, timeout=60, check=True).stdout
    assert len(listing.splitlines()) == 36
    assert "ZCL Tunneling: Transfer Data" in listing
    bad = subprocess.run(
        [*run, "-Y", "_ws.malformed || _ws.expert.severity >= error"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert bad == ""
