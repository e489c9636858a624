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
from devices.transports.capture import Captures
from devices.transports.faults import Fault, FaultInjector, FaultyLink
from devices.transports.hdlc import Frame, FrameKind
from devices.transports.link import Link, LinkEvents, LinkFactory
from devices.transports.reconnect import Backoff, ReconnectingLink
from devices.transports.serial_link import PortOpenError, SerialLink
from rig.gbcs.eui import Eui64


@runtime_checkable
class RestoringReceiver(Protocol):
    """A receiver that also wants to hear that a lost link came back (see ``reconnect``).

    Only ``link_restored``: ``isinstance`` checks every member of a runtime protocol, so one
    that also listed :class:`Receiver`'s would leave out a receiver lacking any of them (one
    written before ``send_failed``), silently."""

    def link_restored(self, device: Device) -> None: ...


class SerialDevice:
    """A device reached through a serial port (``/dev/ttyUSB0``, ``rfc2217://…``, a pty).

    With ``reconnect``, a dropped link is reopened with that backoff: the receiver hears
    ``link_lost`` when it drops (and again if reconnecting gives up), and ``link_restored`` when
    it is back, if it has that method (:class:`RestoringReceiver`). With ``faults``, every GBCS
    frame passes that :class:`~devices.transports.faults.FaultInjector`, outermost, so an
    injected outage (``device.link.take_down()``) reaches the receiver like a real one.
    The innermost link is a ``SerialLink`` (HDLC) at ``baudrate`` (None: the link's default; a
    pty has none). With ``captures``, every GBCS frame sent or received is offered to it (the
    per-test pcap).
    """

    def __init__(
        self,
        name: str,
        eui: Eui64,
        port: str | None,
        *,
        reconnect: Backoff | None = None,
        faults: FaultInjector | None = None,
        baudrate: int | None = None,
        captures: Captures | None = None,
    ) -> None:
        self.name = name
        self.eui = eui
        self.port = port
        self.reconnect = reconnect
        self.faults = faults
        self.baudrate = baudrate
        self.captures = captures
        self._link: Link | None = None
        self._receiver: Receiver | None = None

    @property
    def receiver(self) -> Receiver | None:
        """Who hears from this device (set by :meth:`open`)."""
        return self._receiver

    async def _port(self) -> str:
        if self.port is None:
            raise LinkDown(f"{self.name}: no serial port configured")
        return self.port

    async def open(self, loop: asyncio.AbstractEventLoop, receiver: Receiver) -> None:
        self._receiver = receiver
        await self._connect(receiver)

    async def _connect(self, receiver: Receiver) -> None:
        """Open a link on the port; its events reach ``receiver`` while it is this device's."""
        port = await self._port()

        def current() -> bool:
            return self._link is link

        def on_frame(frame: Frame, at: float) -> None:
            if frame.kind is FrameKind.GBCS and current():
                if self.captures is not None:
                    self.captures.gbcs(frame.payload, at)
                receiver.frame_received(self, frame.payload, at)

        def on_closed(reason: str) -> None:
            if current():
                receiver.link_lost(self, reason)

        def on_reopened() -> None:
            if current() and isinstance(receiver, RestoringReceiver):
                receiver.link_restored(self)

        options = {} if self.baudrate is None else {"baudrate": self.baudrate}
        make: LinkFactory = SerialLink.factory(port, **options)
        if self.reconnect is not None:
            make = functools.partial(ReconnectingLink, make, backoff=self.reconnect)
        if self.faults is not None:
            make = functools.partial(FaultyLink, make, injector=self.faults)
        link = make(
            LinkEvents(
                on_frame=on_frame,
                on_error=lambda error: None,
                on_closed=on_closed,
                on_reopened=on_reopened,
            )
        )
        self._link = link
        try:
            await link.open()
        except PortOpenError as exc:
            self._link = None
            raise LinkDown(f"{self.name}: cannot open {exc.url}: {exc.cause}") from exc

    @property
    def link(self) -> Link | None:
        """The open link: a ``FaultyLink`` when ``faults`` is set, a ``ReconnectingLink`` when
        only ``reconnect`` is, else a ``SerialLink``."""
        return self._link

    def send(self, frame: bytes) -> float:
        if self._link is None:
            raise LinkDown(f"{self.name}: not open")
        at = self._link.send(frame)
        if self.captures is not None:
            self.captures.gbcs(frame, at)
        return at

    async def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None


#: How the rig reaches an emulator's serial port: its pty directly, or a loopback TCP port (raw
#: or RFC 2217) served by a ``devices.bridges.serial_server`` process in front of the pty.
Transport = Literal["pty", "tcp", "rfc2217"]
TRANSPORTS: tuple[Transport, ...] = ("pty", "tcp", "rfc2217")


def serial_server_argv(device: str, *, rfc2217: bool) -> list[str]:
    """The command line of a serial-server bridge process in front of ``device``."""
    mode = "--rfc2217" if rfc2217 else "--raw"
    return [sys.executable, "-m", "devices.bridges.serial_server", "--port", device, mode]


def bridge_argv(transport: Transport, device: str) -> list[str] | None:
    """The bridge process the rig reaches ``device`` (an emulator's pty) through, if any."""
    if transport == "pty":
        return None
    return serial_server_argv(device, rfc2217=transport == "rfc2217")


class EmulatedSerialDevice(SerialDevice):
    """A device whose firmware stub runs in its own process behind a real pty pair; with
    ``transport`` "tcp" or "rfc2217" the rig reaches that pty through a serial-server bridge
    process (HDLC framing on every transport)."""

    def __init__(
        self,
        name: str,
        eui: Eui64,
        module: str,
        args: Sequence[str] | Callable[[], Sequence[str]],
        *,
        transport: Transport = "pty",
        reconnect: Backoff | None = None,
        faults: FaultInjector | None = None,
        captures: Captures | None = None,
        group: EmulatorGroup | None = None,
        log_dir: Path | None = None,
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
        super().__init__(name, eui, None, reconnect=reconnect, faults=faults, captures=captures)
        self.transport = transport
        self._module = module
        self._args = args
        #: The process serving this device: its own, or its :class:`EmulatorGroup`'s.
        self.process: EmulatorProcess | None = None
        self.bridge: EmulatorProcess | None = None
        #: Set when the device shares one emulator process with others (``module``/``args``
        #: are then the group's).
        self.group = group
        #: Where its emulator's log goes (``<name>.log``; its bridge's ``<name>-bridge.log``;
        #: a group's is the group's); None: a temporary file.
        self.log_dir = log_dir

    async def _port(self) -> str:
        if self.group is not None:
            self.port = await self.group.port(self.eui)
            self.process = self.group.process
        else:
            args = self._args() if callable(self._args) else self._args
            argv = [sys.executable, "-m", self._module, *args]
            self.process = await asyncio.to_thread(spawn_emulator, argv, log=self._log(""))
            self.port = self.process.port
        bridging = bridge_argv(self.transport, self.port)
        if bridging is not None:
            self.bridge = await asyncio.to_thread(
                spawn_emulator, bridging, log=self._log("-bridge")
            )
            self.port = self.bridge.port
        return self.port

    def _log(self, suffix: str) -> Path | None:
        return None if self.log_dir is None else self.log_dir / f"{self.name}{suffix}.log"

    async def close(self) -> None:
        await super().close()
        if self.bridge is not None:
            await asyncio.to_thread(self.bridge.stop)
        if self.group is not None:
            if self.process is not None:
                await self.group.release(self.eui)
        elif self.process is not None:
            await asyncio.to_thread(self.process.stop)
        self.bridge = self.process = None

    async def power(self, on: bool) -> None:
        """Switch the emulated device's mains (a bench relay, or a reboot fault). Off: its
        processes stop and the receiver hears ``link_lost(…, "power cut")``. On: a fresh
        emulator boots (state not kept), its link opens on the new port and the receiver hears
        ``link_restored`` (a :class:`RestoringReceiver`). Each is a no-op if already so."""
        receiver = self._receiver
        if receiver is None:
            raise LinkDown(f"{self.name}: not open")
        if self.group is not None:
            raise LinkDown(
                f"{self.name}: its emulator process serves {len(self.group.euis)} meters and "
                "cannot be powered off for one (a bench gives a meter its own process when it "
                "has a bench I/O relay or a clock skew, or with [host] shared_emulators = false)"
            )
        if not on and self.process is not None:
            link, self._link = self._link, None
            if link is not None:
                link.close()
            await self.close()
            self._note_fault(Fault.POWER_OFF)
            receiver.link_lost(self, "power cut")
        elif on and self.process is None:
            await self._connect(receiver)
            self._note_fault(Fault.POWER_ON)
            if isinstance(receiver, RestoringReceiver):
                receiver.link_restored(self)

    async def reboot(self, off_seconds: float = 0.0) -> None:
        """The device-reboot fault: power off, wait ``off_seconds``, power on."""
        await self.power(False)
        await asyncio.sleep(off_seconds)
        await self.power(True)

    def _note_fault(self, fault: Fault) -> None:
        if self.faults is not None:
            self.faults.note(fault, asyncio.get_running_loop().time(), f"{self.name}")


def emulated_esme(
    name: str,
    eui: Eui64,
    key_dirs: Sequence[Path],
    *,
    processing_time_s: float,
    transport: Transport = "pty",
    reconnect: Backoff | None = None,
    faults: FaultInjector | None = None,
    captures: Captures | None = None,
    report_supply_to: tuple[str, int] | Callable[[], tuple[str, int]] | None = None,
    clock_skew_s: float = 0.0,
    log_dir: Path | None = None,
) -> EmulatedSerialDevice:
    """An ESME emulator process (``python -m devices.emulated.esme``); with
    ``report_supply_to`` it reports its supply state to that loopback UDP address (an
    :class:`~devices.benchio.emulator.EmulatedBenchIO`'s ``supply_address``), or to the address
    that callable gives when the emulator starts (a module started after this is made). A
    non-zero ``clock_skew_s`` is the clock-skew fault: its clock runs that far from the host's."""

    def args() -> list[str]:
        argv = ["--eui", str(eui), *_esme_args(key_dirs, processing_time_s)]
        if report_supply_to is not None:
            host, port = report_supply_to() if callable(report_supply_to) else report_supply_to
            argv += ["--report-supply", f"{host}:{port}"]
        if clock_skew_s:
            argv += ["--clock-skew", repr(clock_skew_s)]
        return argv

    return EmulatedSerialDevice(
        name,
        eui,
        "devices.emulated.esme",
        args,
        transport=transport,
        reconnect=reconnect,
        faults=faults,
        captures=captures,
        log_dir=log_dir,
    )


def _esme_args(key_dirs: Sequence[Path], processing_time_s: float) -> list[str]:
    argv = ["--processing-time", repr(processing_time_s)]
    for directory in key_dirs:
        argv += ["--keys", str(directory)]
    return argv


class EmulatorGroup:
    """One emulator process serving several devices, each on its own pty (``python -m
    MODULE --eui A --eui B … ARGS``, devices/emulated/host.py ``serve_group``): the first of
    its devices to open starts it, the last to close stops it. Its log goes to ``log`` (None: a
    temporary file)."""

    def __init__(
        self, module: str, euis: Sequence[Eui64], args: Sequence[str], log: Path | None = None
    ) -> None:
        if len(set(euis)) != len(euis) or not euis:
            raise ValueError(f"an emulator group needs distinct EUIs, got {[str(e) for e in euis]}")
        self.euis = list(euis)
        self.module = module
        self._args = list(args)
        self.log = log
        self.process: EmulatorProcess | None = None
        self._open: set[Eui64] = set()
        self._lock = asyncio.Lock()

    @classmethod
    def esmes(
        cls,
        euis: Sequence[Eui64],
        key_dirs: Sequence[Path],
        *,
        processing_time_s: float,
        log: Path | None = None,
    ) -> EmulatorGroup:
        """ESMEs of one processing time (``python -m devices.emulated.esme``)."""
        args = _esme_args(key_dirs, processing_time_s)
        return cls("devices.emulated.esme", euis, args, log)

    async def port(self, eui: Eui64) -> str:
        """The pty of device ``eui``, the process started if it is not running."""
        async with self._lock:
            if self.process is None:
                euis = [arg for eui_ in self.euis for arg in ("--eui", str(eui_))]
                argv = [sys.executable, "-m", self.module, *euis, *self._args]
                self.process = await asyncio.to_thread(spawn_emulator, argv, log=self.log)
            self._open.add(eui)
            return self.process.ports[self.euis.index(eui)]

    async def release(self, eui: Eui64) -> None:
        """Device ``eui`` is closed; the process stops when none is open."""
        async with self._lock:
            self._open.discard(eui)
            if not self._open and self.process is not None:
                process, self.process = self.process, None
                await asyncio.to_thread(process.stop)
