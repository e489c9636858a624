"""A GBCS device on a serial port: physical (a path or URL) or emulated (a process on a pty).

Both are the same class: an emulated device is a serial device whose port is made by starting
its emulator first. Everything after that (framing, timestamps, link loss) is shared.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from devices.api import LinkDown, Receiver
from devices.emulated.host import EmulatorProcess, spawn_emulator
from devices.transports.hdlc import Frame, FrameKind
from devices.transports.serial_link import SerialLink
from rig.gbcs.eui import Eui64


class SerialDevice:
    """A device reached through a serial port (``/dev/ttyUSB0``, ``rfc2217://…``, a pty)."""

    def __init__(self, name: str, eui: Eui64, port: str | None) -> None:
        self.name = name
        self.eui = eui
        self.port = port
        self._link: SerialLink | None = None

    async def _port(self) -> str:
        if self.port is None:
            raise LinkDown(f"{self.name}: no serial port configured")
        return self.port

    async def open(self, loop: asyncio.AbstractEventLoop, receiver: Receiver) -> None:
        port = await self._port()

        def on_frame(frame: Frame, at: float) -> None:
            if frame.kind is FrameKind.GBCS:
                receiver.frame_received(self, frame.payload, at)

        self._link = SerialLink(
            port,
            on_frame=on_frame,
            on_error=lambda error: None,
            on_closed=lambda reason: receiver.link_lost(self, reason),
        )
        await self._link.open(loop)

    def send(self, frame: bytes) -> float:
        if self._link is None:
            raise LinkDown(f"{self.name}: not open")
        return self._link.send(frame)

    async def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None


class EmulatedSerialDevice(SerialDevice):
    """A device whose firmware stub runs in its own process behind a real pty pair."""

    def __init__(self, name: str, eui: Eui64, module: str, args: Sequence[str]) -> None:
        super().__init__(name, eui, None)
        self._argv = [sys.executable, "-m", module, *args]
        self.process: EmulatorProcess | None = None

    async def _port(self) -> str:
        self.process = await asyncio.to_thread(spawn_emulator, self._argv)
        self.port = self.process.port
        return self.port

    async def close(self) -> None:
        await super().close()
        if self.process is not None:
            await asyncio.to_thread(self.process.stop)
            self.process = None


def emulated_esme(
    name: str, eui: Eui64, key_dirs: Sequence[Path], *, processing_time_s: float
) -> EmulatedSerialDevice:
    """An ESME emulator process (``python -m devices.emulated.esme``)."""
    args = ["--eui", str(eui), "--processing-time", repr(processing_time_s)]
    for directory in key_dirs:
        args += ["--keys", str(directory)]
    return EmulatedSerialDevice(name, eui, "devices.emulated.esme", args)
