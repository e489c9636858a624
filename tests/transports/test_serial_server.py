"""The serial-server bridge (a tiny ser2net): raw TCP and RFC 2217 in front of a pty, in process
and as the bridge process the emulated devices use."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from link_helpers import Recorder
from test_serial_link import read_frames

from devices.bridges.serial_server import SerialServer
from devices.emulated.host import spawn_emulator
from devices.serial_device import serial_server_argv
from devices.transports.hdlc import Frame, FrameKind, encode_frame
from devices.transports.loopback import check_loopback, parse_loopback
from devices.transports.pty_pair import open_pty_pair
from devices.transports.serial_link import LINK_LOST

ECHO = [sys.executable, str(Path(__file__).with_name("echo_firmware.py"))]
#: Every byte value, so RFC 2217's IAC (0xFF) escaping and HDLC stuffing are both exercised.
EVERY_BYTE = bytes(range(256)) * 4


@pytest.mark.parametrize("rfc2217", [False, True], ids=["raw", "rfc2217"])
def test_frames_both_ways_through_the_server(rfc2217: bool) -> None:
    async def main() -> None:
        with open_pty_pair() as pair, SerialServer(pair.slave_path, rfc2217=rfc2217) as server:
            assert server.url.startswith("rfc2217://" if rfc2217 else "socket://")
            rec = Recorder()
            link = rec.link(server.url)
            await link.open()
            link.send(EVERY_BYTE)
            assert await read_frames(pair.master_fd, 1) == [Frame(FrameKind.GBCS, EVERY_BYTE)]
            os.write(pair.master_fd, encode_frame(FrameKind.GBCS, EVERY_BYTE[::-1]))
            assert await rec.payload() == EVERY_BYTE[::-1]
            link.close()
            assert rec.errors == []

    asyncio.run(main())


def test_dropped_client_sees_link_lost_and_can_reconnect() -> None:
    async def main() -> None:
        with open_pty_pair() as pair, SerialServer(pair.slave_path) as server:
            rec = Recorder()
            link = rec.link(server.url)
            await link.open()
            link.send(b"first")
            await read_frames(pair.master_fd, 1)
            assert server.drop_client()
            assert (await rec.closed_reason()).startswith(LINK_LOST)
            await link.open()
            link.send(b"second")
            assert await read_frames(pair.master_fd, 1) == [Frame(FrameKind.GBCS, b"second")]
            assert server.sessions == 2
            link.close()

    asyncio.run(main())


def test_port_gone_ends_the_session() -> None:
    async def main() -> None:
        pair = open_pty_pair()
        with SerialServer(pair.slave_path) as server:
            rec = Recorder()
            link = rec.link(server.url)
            await link.open()
            pair.close()  # the device behind the bridge vanishes
            assert (await rec.closed_reason()).startswith(LINK_LOST)

    asyncio.run(main())


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::"])
def test_only_loopback(host: str) -> None:
    with pytest.raises(ValueError, match="not a loopback"):
        check_loopback(host)
    with pytest.raises(ValueError, match="not a loopback"):
        SerialServer("/dev/null", host=host)
    with pytest.raises(ValueError, match="not a loopback"):
        parse_loopback(f"{host}:1")


def test_parse_loopback() -> None:
    assert parse_loopback("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_loopback("::1:5020") == ("::1", 5020)
    for bad in ("127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000"):
        with pytest.raises(ValueError):
            parse_loopback(bad)


@pytest.mark.parametrize("rfc2217", [False, True], ids=["raw", "rfc2217"])
def test_bridge_process_in_front_of_an_emulator(rfc2217: bool) -> None:
    with (
        spawn_emulator(ECHO) as emulator,
        spawn_emulator(serial_server_argv(emulator.port, rfc2217=rfc2217)) as bridge,
    ):
        assert bridge.port.startswith("rfc2217://127.0.0.1:" if rfc2217 else "socket://127.0.0.1:")

        async def main() -> None:
            rec = Recorder()
            link = rec.link(bridge.port)
            await link.open()
            link.send(EVERY_BYTE)
            assert await rec.payload() == b"ECHO:" + EVERY_BYTE
            link.close()

        asyncio.run(main())
    assert bridge.returncode == 0
