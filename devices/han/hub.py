"""The rig as Comms Hub of the bench's HAN: the coordinator and trust center
(:class:`rig.zigbee.coordinator.Coordinator`) on the rig's loop, over a Spinel RCP
(:class:`devices.spinel.driver.SpinelRadio`), each joined meter one :class:`~devices.api.Device`.

A thin shell, as ``devices/hub_link.py`` is for a hub's serial link: the stack's timers run on
the loop's clock (:class:`~rig.clock.AsyncioClock`); the radio, a blocking driver, is owned by
one thread (:class:`RadioThread`) that carries out the stack's transmissions and source-match
changes in order and hands every frame heard to the loop. A member's ``send`` is TransferData
through the meter's tunnel; each TransferData from the meter is a frame received, and one the
stack could not deliver (its APS retries spent) the receiver's ``send_failed``, naming what the
radio said of it (CCA failure, no ACK). The first member to open starts the hub (and the
emulated HAN's process, on an emulated bench); ``open`` returns once that meter has joined and
opened its tunnel; the last to close stops it, after asking the meters to leave (docs/han.md
"The hub ends its HAN with its run"). Every frame sent and heard goes to the run's ``han.pcap``
(and the per-test captures), the keys to a Wireshark ``zigbee_pc_keys`` file beside it, and the
stack's join events to ``note`` (the run's results).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from devices.api import LinkDown, Receiver
from devices.han.chf import DeviceLog
from devices.spinel.codec import Status
from devices.spinel.driver import RadioError, SpinelRadio
from devices.spinel.mac import parse_header, with_fcs
from devices.transports.capture import Captures
from firmware_stubs.comms_hub import HanLogEntry
from rig.clock import AsyncioClock
from rig.gbcs.eui import Eui64
from rig.zigbee import secured
from rig.zigbee.coordinator import Coordinator
from rig.zigbee.keyest import Credentials
from rig.zigbee.mmo import link_key, with_crc
from rig.zigbee.node import Event
from rig.zigbee.wireshark import write_pc_keys

_log = logging.getLogger(__name__)

#: How long ``open`` waits for a meter to join and open its tunnel [ASSUMED: a bench figure;
#: a join is a few hundred ms on the emulated air, a sleepy GSME polls once a second].
JOIN_TIMEOUT_S = 30.0
#: How long a stopping hub waits for its Leave requests to go out [ASSUMED: a few of a sleepy
#: meter's 1 s polls, each of which fetches one held frame: the Leave may wait behind an APS ack].
LEAVE_WAIT_S = 5.0
#: How long the radio thread waits for a frame before it looks at its queue again.
_RECEIVE_WAIT_S = 0.002
#: What a transmission's TX status says in a failed request's reason (spinel.h statuses).
TX_FAILURES: dict[int, str] = {
    Status.CCA_FAILURE: "channel busy: CCA failure",
    Status.NO_ACK: "no MAC ack: NO_ACK",
}
#: The stack events the results record (the others are routine or per frame).
NOTED = {
    "associated",
    "joined",
    "rejoined",
    "key-established",
    "refused",
    "left",
    "expired",
    "aps-failed",
}


class HanNetwork(Protocol):
    """The network the hub forms (the bench's ``[han]``: rig.config.han.HanConfig, frozen: so
    its members are read-only here)."""

    @property
    def eui(self) -> Eui64: ...

    @property
    def channel(self) -> int: ...

    @property
    def pan_id(self) -> int: ...

    @property
    def extended_pan_id(self) -> bytes: ...

    @property
    def network_key(self) -> bytes: ...

    @property
    def baudrate(self) -> int: ...


@dataclass(frozen=True)
class HanMeterConfig:
    """A meter on the HAN: its bench name, EUI-64 and install code (with CRC), and whether the
    Comms Hub's device log holds it from the start (else SRV 8.11 puts it there)."""

    name: str
    eui: Eui64
    install_code: bytes
    on_log: bool = True


class RadioThread:
    """The one thread that talks to the radio: the stack's calls are queued, in order, from the
    loop (a :class:`~rig.zigbee.seam.Radio`); frames heard reach ``on_frame(psdu, at)``, each
    transmission that failed (its TX status: ``NO_ACK``, ``CCA_FAILURE``)
    ``on_tx_failed(mac_frame, status)`` and a radio failure ``on_lost(reason)`` on the loop."""

    def __init__(
        self,
        radio: SpinelRadio,
        loop: asyncio.AbstractEventLoop,
        on_frame: Callable[[bytes, float], None],
        on_lost: Callable[[str], None],
        on_tx_failed: Callable[[bytes, int], None] = lambda frame, status: None,
    ) -> None:
        self.radio, self._loop = radio, loop
        self._on_frame, self._on_lost, self._on_tx_failed = on_frame, on_lost, on_tx_failed
        self._calls: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"radio {radio.port}", daemon=True)
        #: Transmissions that ended without an ACK (or CCA failure) after the radio's retries.
        self.unacked = 0
        self._busy = False

    def start(self) -> None:
        self._thread.start()

    @property
    def idle(self) -> bool:
        """Whether every call queued so far has been carried out (or the thread has ended)."""
        return not self._thread.is_alive() or (self._calls.empty() and not self._busy)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    # --- the stack's Radio --------------------------------------------------------------------

    def transmit(self, mac_frame: bytes) -> None:
        self._calls.put(("transmit", mac_frame))

    def add_pending(self, address: int | bytes) -> None:
        self._calls.put(("add_pending", address))

    def clear_pending(self, address: int | bytes) -> None:
        self._calls.put(("clear_pending", address))

    # --- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                while not self._calls.empty():
                    self._busy = True
                    name, argument = self._calls.get()
                    done = getattr(self.radio, name)(argument)
                    if name == "transmit" and done.status != 0:
                        self.unacked += 1
                        sent = cast(bytes, argument)  # transmit's: the MAC frame
                        self._loop.call_soon_threadsafe(self._on_tx_failed, sent, done.status)
                self._busy = False
                frame = self.radio.receive(_RECEIVE_WAIT_S)
                if frame is not None:
                    self._loop.call_soon_threadsafe(self._on_frame, frame.psdu, time.monotonic())
        except RadioError as exc:
            if not self._stop.is_set():
                self._loop.call_soon_threadsafe(self._on_lost, str(exc))
        except RuntimeError:  # the loop closed under us: the rig is gone
            pass


class HanHub:
    """The Comms Hub of a HAN: its members are the meters, each a Device to the rig.

    ``start_radio`` gives the radio's port (a dongle's, or an emulated HAN's pty it starts);
    ``stop_radio`` ends what it started. ``run_dir`` gets ``han.pcap`` and
    ``wireshark/zigbee_pc_keys``. The hub is a secured trust center (rig.zigbee.secured):
    ``credentials`` are its Key Establishment certificate and key, ``counters`` the file that
    keeps its NWK frame counters across runs.
    """

    def __init__(
        self,
        config: HanNetwork,
        meters: Sequence[HanMeterConfig],
        *,
        run_dir: Path,
        start_radio: Callable[[], Awaitable[str]],
        credentials: Callable[[], Credentials],
        counters: Path,
        stop_radio: Callable[[], Awaitable[None]] | None = None,
        captures: Captures | None = None,
    ) -> None:
        self.config = config
        self._credentials, self.counters = credentials, counters
        self.members = {m.name: HanMember(self, m) for m in meters}
        self._by_eui = {member.eui.raw: member for member in self.members.values()}
        #: The Comms Hub's device log: the bench's install codes, then what SRV 8.11 changes
        #: (the CHF's CCS01 / CCS02, devices/han/chf.py), applied to the trust center live.
        self.log = DeviceLog.with_crcs((m.eui, m.install_code) for m in meters if m.on_log)
        self.log.on_change = self._log_changed
        self.run_dir = run_dir
        self._start_radio, self._stop_radio = start_radio, stop_radio
        self.captures = captures
        #: Where the stack's join events go (the rig's ``note``; set by the launcher).
        self.note: Callable[[dict[str, Any]], None] = lambda record: None
        self.coordinator: Coordinator | None = None
        self._thread: RadioThread | None = None
        self._pcap: Any = None
        self._open: set[HanMember] = set()
        self._lock = asyncio.Lock()

    @property
    def keys(self) -> dict[str, bytes]:
        """The run's ZigBee keys by label (for Wireshark): the network key, each install-code
        link key (Transport Key, Key Establishment) and each link key Key Establishment set up
        (Tunneling), so far."""
        keys = {"network key": self.config.network_key}
        for member in self.members.values():
            keys[f"link key {member.name}"] = link_key(member.meter.install_code)
            keys.update({f"CBKE key {member.name} {i}": k for i, k in enumerate(member.cbke_keys)})
        for eui, code in self.log.codes().items():  # a code SRV 8.11 gave, if another
            if link_key(code) not in keys.values():
                keys[f"device log link key {self._name(eui)}"] = link_key(code)
        return keys

    def _name(self, eui: bytes) -> str:
        member = self._by_eui.get(eui)
        return member.name if member is not None else eui.hex().upper()

    def _log_changed(self, device: Eui64, entry: HanLogEntry | None) -> None:
        """SRV 8.11 changed the device log: into the results, and to the trust center."""
        if entry is None:
            detail = "removed from the device log (CCS02): refused at its next join or rejoin"
        else:
            code = with_crc(entry.install_code)
            detail = f"on the device log (CCS01), install code {code.hex().upper()}"
        self._note_log(device.raw, detail)
        if self.coordinator is None:
            return
        if entry is None:
            self.coordinator.unlog_device(device.raw)
        else:
            self.coordinator.log_device(device.raw, with_crc(entry.install_code))
        write_pc_keys(self.run_dir / "wireshark", self.keys)

    def _note_log(self, eui: bytes, detail: str) -> None:
        self.note(
            {"kind": "han", "event": "device-log", "device": self._name(eui), "detail": detail}
        )

    async def joined(self, member: HanMember) -> None:
        async with self._lock:
            if not self._open:
                await self._start()
            self._open.add(member)

    async def left(self, member: HanMember) -> None:
        async with self._lock:
            self._open.discard(member)
            if not self._open:
                await self._stop()

    async def _start(self) -> None:
        from devices.han.pcap import PcapCapture  # scapy: only on a HAN bench

        loop = asyncio.get_running_loop()
        port = await self._start_radio()
        try:
            radio = await asyncio.to_thread(self._open_radio, port)
        except RadioError as exc:
            await self._stop()
            raise LinkDown(f"HAN radio: {exc}") from None
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._pcap = PcapCapture(self.run_dir / "han.pcap")
        write_pc_keys(self.run_dir / "wireshark", self.keys)
        self._thread = RadioThread(radio, loop, self._heard, self._lost, self._tx_failed)
        trust_center = secured.TrustCenterConfig(
            eui64=self.config.eui.raw,
            pan_id=self.config.pan_id,
            extended_pan_id=self.config.extended_pan_id,
            network_key=self.config.network_key,
            device_log=self.log.codes(),
            credentials=self._credentials(),
            counters=self.counters,
        )
        self.coordinator = secured.coordinator(
            trust_center, AsyncioClock(loop), _CapturingRadio(self._thread, self._capture, loop)
        )
        self.coordinator.on_event = self._event
        for eui, code in trust_center.device_log.items():
            self._note_log(eui, f"on the device log at start, install code {code.hex().upper()}")
        self._thread.start()

    def _open_radio(self, port: str) -> SpinelRadio:
        """Reset the RCP, check it speaks Spinel, set it up as the PAN coordinator."""
        radio = SpinelRadio(port, baudrate=self.config.baudrate)
        try:
            radio.reset()
            major, _ = radio.protocol_version()
            if major != 4:
                raise RadioError(f"radio {port}: Spinel protocol {major}, not 4")
            radio.configure(
                channel=self.config.channel,
                pan_id=self.config.pan_id,
                short_address=0x0000,
                extended_address=self.config.eui.raw,
            )
            radio.src_match(True)
            radio.enable()
        except RadioError:
            radio.close()
            raise
        return radio

    async def _ask_to_leave(self) -> None:
        """Ask each joined meter to leave (NWK Leave with the request bit, 05-3474 §3.6.1.10.2)
        and wait until the requests are on the air (at most :data:`LEAVE_WAIT_S`): the next
        hub on this HAN (the next run, another rig process on the same radio) is a trust
        center with no children, which a meter that still thinks itself joined would never
        reach; having left, it joins afresh [ASSUMED: the rig's hub ends its HAN with its run]."""
        coordinator, thread = self.coordinator, self._thread
        assert coordinator is not None and thread is not None
        coordinator.permit_joining = False  # a meter that has left joins the next hub, not this
        for eui, child in list(coordinator.children.items()):
            if child.state == "joined":
                coordinator.request_leave(eui)
        deadline = asyncio.get_running_loop().time() + LEAVE_WAIT_S
        while (coordinator.holding or not thread.idle) and (
            asyncio.get_running_loop().time() < deadline
        ):
            await asyncio.sleep(0.02)

    async def _stop(self) -> None:
        if self._thread is not None and self.coordinator is not None:
            await self._ask_to_leave()
        if self._thread is not None:
            thread, self._thread = self._thread, None
            await asyncio.to_thread(thread.stop)
            thread.radio.close()
        if self.coordinator is not None and isinstance(
            self.coordinator.nwk_security, secured.SecuredNwk
        ):
            self.coordinator.nwk_security.close()  # the counters kept on file
            self._note_drops(self.coordinator.nwk_security)
        if self._pcap is not None:
            self._pcap.close()
            self._pcap = None
        self.coordinator = None
        if self._stop_radio is not None:
            await self._stop_radio()

    def _note_drops(self, nwk: secured.SecuredNwk) -> None:
        """The NWK frames refused, counted per sender and reason (a ``dropped`` record each:
        ``{"kind": "han", "event": "dropped", "device": …, "detail": "NWK: replay", "count":
        …}``), what each ``refused`` record told one at a time."""
        by_address = {int.from_bytes(eui, "big"): m.name for eui, m in self._by_eui.items()}
        for (source, reason), count in sorted(
            nwk.counters.drops.items(), key=lambda item: (item[0][0] or 0, item[0][1])
        ):
            name = by_address.get(source) if source is not None else None
            who = name or ("" if source is None else f"{source:016X}")
            self.note(
                {
                    "kind": "han",
                    "event": "dropped",
                    "device": who,
                    "detail": f"NWK: {reason}",
                    "count": count,
                }
            )

    # --- on the loop --------------------------------------------------------------------------

    def _capture(self, psdu: bytes, at: float) -> None:
        if self._pcap is not None:
            self._pcap(psdu, at)
        if self.captures is not None:
            self.captures.han(psdu, at)

    def _heard(self, psdu: bytes, at: float) -> None:
        if self.coordinator is None:
            return
        self._capture(psdu, at)
        self.coordinator.receive(psdu[:-2])

    def _tx_failed(self, mac_frame: bytes, status: int) -> None:
        """The radio gave up on a frame (its TX status): kept on the meter it was for, to name
        why its APS delivery failed, if it does (:meth:`_undelivered`)."""
        try:
            short = parse_header(mac_frame).dst
        except ValueError:
            return
        eui = None if self.coordinator is None or short is None else self.coordinator.eui_of(short)
        member = self._by_eui.get(eui) if eui is not None else None
        if member is not None:
            member.tx_failure = (asyncio.get_running_loop().time(), status)

    def _undelivered(self, member: HanMember, at: float) -> str:
        """Why the APS delivery to ``member`` failed at ``at``: the retries, and what the radio
        said of its last transmission to it over them (CCA failure: the channel busy; no MAC
        ack), if a transmission failed (else the meter's APS ack never came)."""
        assert self.coordinator is not None
        config = self.coordinator.config
        reason = f"HAN: APS delivery to {member.name} failed after {config.aps_max_retries} retries"
        failed = member.tx_failure
        if failed is None or failed[0] < at - (config.aps_max_retries + 1) * config.aps_ack_wait:
            return f"{reason} (no APS ack)"
        return f"{reason} ({TX_FAILURES.get(failed[1], Status.name_of(failed[1]))})"

    def _lost(self, reason: str) -> None:
        for member in list(self._open):
            if member.receiver is not None:
                member.receiver.link_lost(member, reason)

    def _event(self, event: Event) -> None:
        member = self._by_eui.get(bytes.fromhex(event.device)) if event.device else None
        name = member.name if member is not None else event.device
        if event.kind in NOTED:
            self.note({"kind": "han", "event": event.kind, "device": name, "detail": event.detail})
        if member is None:
            return
        if event.kind == "tunnel-open":
            member.ready.set()
        elif event.kind == "key-established" and self.coordinator is not None:
            aps = self.coordinator.aps_security
            key = aps.link_key(member.eui.raw) if isinstance(aps, secured.SecuredAps) else None
            if key is not None and key not in member.cbke_keys:
                member.cbke_keys.append(key)
                write_pc_keys(self.run_dir / "wireshark", self.keys)
        elif event.kind == "refused" and not member.ready.is_set() and _ends_join(event):
            member.refusal = event.detail
            member.refused.set()
        elif event.kind in ("left", "refused"):
            member.ready.clear()
        elif event.kind == "aps-failed" and event.data and member.receiver is not None:
            member.receiver.send_failed(member, event.data, self._undelivered(member, event.at))
        elif event.kind == "transfer-data" and member.receiver is not None:
            at = asyncio.get_running_loop().time()
            if self.captures is not None:
                self.captures.gbcs(event.data, at)
            member.receiver.frame_received(member, event.data, at)


def _ends_join(event: Event) -> bool:
    """Whether a refusal ends the device's join (not on the log, no Device Announce in time, Key
    Establishment failed) rather than drops one frame (``NWK: …``, ``APS: …``, counted)."""
    return not event.detail.startswith(("NWK:", "APS:"))


class _CapturingRadio:
    """The stack's Radio: the radio thread's, each transmitted frame captured first."""

    def __init__(
        self,
        thread: RadioThread,
        capture: Callable[[bytes, float], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.thread, self.capture, self.loop = thread, capture, loop
        self.add_pending, self.clear_pending = thread.add_pending, thread.clear_pending

    def transmit(self, mac_frame: bytes) -> None:
        self.capture(with_fcs(mac_frame), self.loop.time())
        self.thread.transmit(mac_frame)


class HanMember:
    """One meter on the HAN, a Device to the rig: GBCS through its tunnel."""

    def __init__(self, hub: HanHub, meter: HanMeterConfig) -> None:
        self.hub, self.meter = hub, meter
        self.name, self.eui = meter.name, meter.eui
        self.receiver: Receiver | None = None
        self.ready = asyncio.Event()
        #: Set when the trust center refuses the meter before it is ready, with the reason.
        self.refused = asyncio.Event()
        self.refusal = ""
        #: The link keys Key Establishment set up with the meter (for the capture's keys).
        self.cbke_keys: list[bytes] = []
        #: The last transmission to the meter the radio gave up on: (loop time, TX status).
        self.tx_failure: tuple[float, int] | None = None

    async def open(self, loop: asyncio.AbstractEventLoop, receiver: Receiver) -> None:
        """Start the hub if need be; return once this meter has joined with its tunnel open."""
        self.receiver = receiver
        self.refused.clear()
        await self.hub.joined(self)
        if self.eui not in self.hub.log:
            return  # it joins once SRV 8.11 puts it on the log; LinkDown until then
        ready = asyncio.ensure_future(self.ready.wait())
        refused = asyncio.ensure_future(self.refused.wait())
        await asyncio.wait({ready, refused}, timeout=JOIN_TIMEOUT_S, return_when="FIRST_COMPLETED")
        for waiting in (ready, refused):
            waiting.cancel()
        if self.ready.is_set():
            return
        await self.close()
        if self.refused.is_set():
            raise LinkDown(f"{self.name}: refused by the Comms Hub: {self.refusal}")
        raise LinkDown(
            f"{self.name}: did not join the HAN with its tunnel open within "
            f"{JOIN_TIMEOUT_S:g} s (see the results' han events)"
        )

    def send(self, frame: bytes) -> float:
        coordinator = self.hub.coordinator
        if self.receiver is None or coordinator is None:
            raise LinkDown(f"{self.name}: not open")
        try:
            coordinator.send_transfer_data(self.eui.raw, frame)
        except ValueError as exc:
            raise LinkDown(f"{self.name}: {exc}") from None
        at = asyncio.get_running_loop().time()
        if self.hub.captures is not None:
            self.hub.captures.gbcs(frame, at)
        return at

    async def close(self) -> None:
        """Leave: the last member to close stops the hub. Safe to call twice."""
        if self.receiver is not None:
            self.receiver = None
            await self.hub.left(self)
