"""A GBCS device on a serial port: physical (a path or URL) or emulated (a process on a pty).

Both are the same class: an emulated device is a serial device whose port is made by starting
its emulator first. Everything after that (framing, timestamps, link loss) is shared.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from devices.api import Device, LinkDown, Receiver
from devices.emulated.host import EmulatorProcess, spawn_emulator
from devices.transports.faults import FaultInjector, FaultyLink
from devices.transports.hdlc import Frame, FrameKind
from devices.transports.link import Link, LinkEvents, LinkFactory
from devices.transports.reconnect import Backoff, ReconnectingLink
from devices.transports.serial_link import SerialLink
from rig.gbcs.eui import Eui64


@runtime_checkable
class RestoringReceiver(Receiver, Protocol):
    """A receiver that also wants to hear that a lost link came back (see ``reconnect``)."""

    def link_restored(self, device: Device) -> None: ...


class SerialDevice:
    """A device reached through a serial port (``/dev/ttyUSB0``, ``rfc2217://…``, a pty).

    With ``reconnect``, a dropped link is reopened with that backoff: the receiver hears
    ``link_lost`` when it drops (and again if reconnecting gives up), and ``link_restored`` when
    it is back, if it has that method (:class:`RestoringReceiver`). With ``faults``, every GBCS
    frame passes that :class:`~devices.transports.faults.FaultInjector`, outermost, so an
    injected outage (``device.link.take_down()``) reaches the receiver like a real one.
    ``framing`` builds the innermost link for the port: HDLC (``SerialLink.factory``, the
    default) or a ZigBee bridge (``ZigbeeLink.factory``).
    """

    def __init__(
        self,
        name: str,
        eui: Eui64,
        port: str | None,
        *,
        reconnect: Backoff | None = None,
        faults: FaultInjector | None = None,
        framing: Callable[[str], LinkFactory] = SerialLink.factory,
    ) -> None:
        self.name = name
        self.eui = eui
        self.port = port
        self.reconnect = reconnect
        self.faults = faults
        self.framing = framing
        self._link: Link | None = None

    async def _port(self) -> str:
        if self.port is None:
            raise LinkDown(f"{self.name}: no serial port configured")
        return self.port

    async def open(self, loop: asyncio.AbstractEventLoop, receiver: Receiver) -> None:
        port = await self._port()

        def on_frame(frame: Frame, at: float) -> None:
            if frame.kind is FrameKind.GBCS:
                receiver.frame_received(self, frame.payload, at)

        def on_reopened() -> None:
            if isinstance(receiver, RestoringReceiver):
                receiver.link_restored(self)

        make = self.framing(port)
        if self.reconnect is not None:
            make = functools.partial(ReconnectingLink, make, backoff=self.reconnect)
        if self.faults is not None:
            make = functools.partial(FaultyLink, make, injector=self.faults)
        self._link = make(
            LinkEvents(
                on_frame=on_frame,
                on_error=lambda error: None,
                on_closed=lambda reason: receiver.link_lost(self, reason),
                on_reopened=on_reopened,
            )
        )
        await self._link.open()

    @property
    def link(self) -> Link | None:
        """The open link: a ``FaultyLink`` when ``faults`` is set, a ``ReconnectingLink`` when
        only ``reconnect`` is, else a ``SerialLink``."""
        return self._link

    def send(self, frame: bytes) -> float:
        if self._link is None:
            raise LinkDown(f"{self.name}: not open")
        return self._link.send(frame)

    async def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None


#: How the rig reaches an emulator: its pty directly, or a loopback TCP port (raw or RFC 2217)
#: served by a ``devices.bridges.serial_server`` process in front of the pty.
Transport = Literal["pty", "tcp", "rfc2217"]
TRANSPORTS: tuple[Transport, ...] = ("pty", "tcp", "rfc2217")


def serial_server_argv(device: str, *, rfc2217: bool) -> list[str]:
    """The command line of a serial-server bridge process in front of ``device``."""
    mode = "--rfc2217" if rfc2217 else "--raw"
    return [sys.executable, "-m", "devices.bridges.serial_server", "--port", device, mode]


class EmulatedSerialDevice(SerialDevice):
    """A device whose firmware stub runs in its own process behind a real pty pair; with
    ``transport`` "tcp" or "rfc2217" the rig reaches that pty through a bridge process."""

    def __init__(
        self,
        name: str,
        eui: Eui64,
        module: str,
        args: Sequence[str],
        *,
        transport: Transport = "pty",
        reconnect: Backoff | None = None,
        faults: FaultInjector | None = None,
        framing: Callable[[str], LinkFactory] = SerialLink.factory,
    ) -> None:
        super().__init__(name, eui, None, reconnect=reconnect, faults=faults, framing=framing)
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
        self.transport = transport
        self._argv = [sys.executable, "-m", module, *args]
        self.process: EmulatorProcess | None = None
        self.bridge: EmulatorProcess | None = None

    async def _port(self) -> str:
        self.process = await asyncio.to_thread(spawn_emulator, self._argv)
        self.port = self.process.port
        if self.transport != "pty":
            argv = serial_server_argv(self.port, rfc2217=self.transport == "rfc2217")
            self.bridge = await asyncio.to_thread(spawn_emulator, argv)
            self.port = self.bridge.port
        return self.port

    async def close(self) -> None:
        await super().close()
        for process in (self.bridge, self.process):
            if process is not None:
                await asyncio.to_thread(process.stop)
        self.bridge = self.process = None


def emulated_esme(
    name: str,
    eui: Eui64,
    key_dirs: Sequence[Path],
    *,
    processing_time_s: float,
    transport: Transport = "pty",
    reconnect: Backoff | None = None,
    report_supply_to: tuple[str, int] | None = None,
) -> EmulatedSerialDevice:
    """An ESME emulator process (``python -m devices.emulated.esme``); with
    ``report_supply_to`` it reports its supply state to that loopback UDP address (an
    :class:`~devices.benchio.emulator.EmulatedBenchIO`'s ``supply_address``)."""
    args = ["--eui", str(eui), "--processing-time", repr(processing_time_s)]
    for directory in key_dirs:
        args += ["--keys", str(directory)]
    if report_supply_to is not None:
        host, port = report_supply_to
        args += ["--report-supply", f"{host}:{port}"]
    return EmulatedSerialDevice(
        name, eui, "devices.emulated.esme", args, transport=transport, reconnect=reconnect
    )
