"""The emulated bridge relaying to a device on an HDLC port (``--node``): messages of any size
both ways, and the bridge ends when the node's process does."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from devices.emulated.host import spawn_emulator
from devices.serial_device import bridge_argv
from devices.transports.hdlc import Frame
from devices.zigbee.link import ZigbeeLink

ECHO = [sys.executable, str(Path(__file__).parents[1] / "transports" / "echo_firmware.py")]
TIMEOUT = 10.0
LARGE = bytes(i % 251 for i in range(1200))  # fragmented on the air both ways


def test_relay_to_an_hdlc_node_and_end_with_it() -> None:
    with spawn_emulator(ECHO) as node, spawn_emulator(bridge_argv("zigbee", node.port)) as bridge:

        async def main() -> None:
            frames: asyncio.Queue[bytes] = asyncio.Queue()
            closed = asyncio.Event()

            def on_frame(frame: Frame, at: float) -> None:
                frames.put_nowait(frame.payload)

            link = ZigbeeLink(bridge.port, on_frame=on_frame, on_closed=lambda _: closed.set())
            await link.open()
            for message in (b"small", LARGE):
                link.send(message)
                assert await asyncio.wait_for(frames.get(), TIMEOUT) == b"ECHO:" + message
            node.stop()
            await asyncio.wait_for(closed.wait(), TIMEOUT)  # the bridge went with its node
            link.close()

        asyncio.run(main())
        assert bridge.wait(TIMEOUT) == 0
        assert "bridge stopped: link lost" in bridge.stderr_tail()
