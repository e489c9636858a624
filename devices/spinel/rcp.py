"""An emulated OpenThread RCP and the air it shares with others: pure state machines on an
injected clock (seconds, like ``time.monotonic()``), no I/O.

:class:`EmulatedRcp` answers Spinel frames as OpenThread's RCP firmware does for the subset the
rig uses (``src/ncp/ncp_base.cpp`` and ``ncp_base_radio.cpp``): ``RESET`` is answered by the reset
notification ``LAST_STATUS = RESET_SOFTWARE`` with TID 0 (draft Appendix "Test Vectors");
``PROP_VALUE_GET`` / ``SET`` by ``PROP_VALUE_IS`` with the (new) value; ``INSERT`` / ``REMOVE``
by ``PROP_VALUE_INSERTED`` / ``REMOVED``; an error by ``LAST_STATUS`` with its status and the
request's TID; ``SET(STREAM_RAW)`` by nothing until the transmission ends, then by
``LAST_STATUS`` (status, frame pending, header updated, the ACK) with the request's TID.
Frames heard on the air come as unsolicited ``PROP_VALUE_IS(STREAM_RAW)`` with TID 0.

:class:`Air` carries frames between the radios on one channel: each takes its air time at
250 kbit/s, may be lost (seeded RNG) and delayed; the addressed radio acknowledges a frame that
asks for it (frame pending from its source-match table for a Data Request); the sender retries
up to ``macMaxFrameRetries`` and reports ``NO_ACK`` when every try went unanswered. Scheduled
faults (drop, delay, corrupt, replay, jam) come from :mod:`devices.spinel.air_faults`.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from devices.spinel import mac
from devices.spinel.air_faults import JAM_CCA_FAILURE_S, AirFault, AirFaultKind, AirFaults
from devices.spinel.codec import (
    Cap,
    Command,
    ResetType,
    SpinelError,
    SpinelFrame,
    Status,
    encode_packed,
    prop_frame,
    split_prop,
)
from devices.spinel.properties import (
    BY_ID,
    MD_FLAG_ACKED_FP,
    Prop,
    Property,
    RxFrame,
    TxDone,
    TxRequest,
)

#: What the emulated RCP reports: Spinel 4.3 (spinel.h ``SPINEL_PROTOCOL_VERSION_THREAD_*``).
PROTOCOL_VERSION = (4, 3)
NCP_VERSION = "OPENTHREAD/gb-smart-rig-emulated-rcp; EMULATED; RCP API 11"
CAPS = (
    Cap.IEEE_802_15_4_2003,
    Cap.IEEE_802_15_4_2006,
    Cap.IEEE_802_15_4_2450MHZ_OQPSK,
    Cap.CONFIG_RADIO,
    Cap.RCP_API_VERSION,
    Cap.MAC_RAW,
)
#: 2.4 GHz O-QPSK channels (IEEE 802.15.4-2006 §6.1.2).
CHANNELS = range(11, 27)


@dataclass(frozen=True, slots=True)
class AirConfig:
    """The air's faults and measurements. ``loss``: probability that a frame (or an ACK) does
    not reach a given radio; ``delay_s``: added to every frame's and ACK's travel. RSSI and LQI
    are what every receiver reports [ASSUMED: a bench at 1 m; a real radio measures them]."""

    loss: float = 0.0
    delay_s: float = 0.0
    seed: int = 0
    rssi: int = -40
    lqi: int = 255

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"loss must be a probability, got {self.loss}")
        if self.delay_s < 0:
            raise ValueError(f"delay must not be negative, got {self.delay_s}")


@dataclass
class AirStats:
    frames: int = 0
    acks: int = 0
    lost: int = 0
    retries: int = 0
    no_ack: int = 0


class Air:
    """Radios sharing the 2.4 GHz band, on an injected clock: call :meth:`advance` with the time
    and it runs every event due by then. A radio waits for the channel to be clear before it
    sends (CCA); frames never collide [ASSUMED: CSMA-CA on a quiet bench]."""

    def __init__(self, config: AirConfig | None = None, faults: AirFaults | None = None) -> None:
        self.config = config or AirConfig()
        self.faults = faults
        self.radios: list[EmulatedRcp] = []
        self.stats = AirStats()
        self._rng = random.Random(self.config.seed)
        self._events: list[tuple[float, int, Callable[[float], None]]] = []
        self._seq = itertools.count()
        self._clear_at: dict[int, float] = {}
        for at, fault in faults.replay_times() if faults is not None else ():
            self._at(at, lambda t, f=fault: self._replay(f, t))  # type: ignore[misc]

    def add_fault(self, fault: AirFault) -> None:
        """Schedule a fault (a test's API); needs the air built with :class:`AirFaults`."""
        if self.faults is None:
            raise ValueError("an air without faults: build it with Air(config, AirFaults(...))")
        self.faults.add(fault)
        if fault.kind is AirFaultKind.REPLAY:
            self._at(self.faults.start + fault.at_s, lambda t: self._replay(fault, t))

    def attach(self, radio: EmulatedRcp) -> None:
        self.radios.append(radio)

    def next_due(self) -> float | None:
        return self._events[0][0] if self._events else None

    def advance(self, now: float) -> None:
        """Run every event due by ``now``, in time order (ties: scheduling order)."""
        while self._events and self._events[0][0] <= now:
            at, _, action = heapq.heappop(self._events)
            action(at)

    def _at(self, at: float, action: Callable[[float], None]) -> None:
        heapq.heappush(self._events, (at, next(self._seq), action))

    def transmit(
        self, sender: EmulatedRcp, request: TxRequest, now: float, attempt: int = 0
    ) -> None:
        """Put ``request``'s frame on the air at ``now`` (or when the channel clears)."""
        if self.faults is not None and self.faults.jammed(sender.hwaddr, request.psdu, now):
            epoch, failed = sender.epoch, TxDone(Status.CCA_FAILURE)
            self._at(now + JAM_CCA_FAILURE_S, lambda at: sender.tx_done(epoch, failed, at))
            return
        start = max(now, self._clear_at.get(request.channel, now))
        end = start + mac.air_time_us(len(request.psdu)) * 1e-6
        self._clear_at[request.channel] = end
        self.stats.frames += 1
        epoch = sender.epoch
        self._at(end, lambda at: self._arrive(sender, epoch, request, attempt, at))

    def _lost(self) -> bool:
        if self.config.loss and self._rng.random() < self.config.loss:
            self.stats.lost += 1
            return True
        return False

    def _arrive(
        self, sender: EmulatedRcp, epoch: int, request: TxRequest, attempt: int, end: float
    ) -> None:
        """The frame's last bit has left the sender at ``end``: deliver it, then settle the
        transmission (ACK, retry, or done)."""
        if sender.epoch != epoch:  # the sender was reset meanwhile
            return
        psdu = mac.with_fcs(request.psdu[:-2])
        header = _header(psdu)
        arrival = end + self.config.delay_s
        ack: tuple[float, bool] | None = None
        for radio in self.radios:
            if radio is sender or not radio.listening(request.channel) or self._lost():
                continue
            heard, heard_header, at = psdu, header, arrival
            if self.faults is not None and radio.takes(header):
                delivery = self.faults.deliver(
                    sender.hwaddr, radio.hwaddr, psdu, request.channel, end
                )
                if delivery.psdu is None:
                    continue
                if delivery.psdu != psdu:
                    heard, heard_header = delivery.psdu, _header(delivery.psdu)
                at += delivery.delay_s
            pending = radio.hear(heard, heard_header, request.channel, at, self.config)
            if pending is not None and ack is None and header is not None:
                ack_end = at + (mac.TURNAROUND_US + mac.air_time_us(mac.ACK_PSDU_BYTES)) * 1e-6
                self._sniffed(mac.ack_psdu(header.seq, pending), request.channel, ack_end, sender)
                if not self._lost():
                    ack = (ack_end + self.config.delay_s, pending)
                self.stats.acks += 1
        wants_ack = header is not None and _wants_ack(header)
        if not wants_ack:
            self._at(end, lambda at: sender.tx_done(epoch, TxDone(Status.OK), at))
            return
        deadline = end + mac.ACK_WAIT_US * 1e-6
        if ack is not None and ack[0] <= deadline:
            at, pending = ack
            frame = RxFrame(
                mac.ack_psdu(header.seq, pending),  # type: ignore[union-attr]
                self.config.rssi,
                request.channel,
                self.config.lqi,
                int(at * 1e6),
            )
            self._at(at, lambda t: sender.tx_done(epoch, TxDone(Status.OK, pending, frame), t))
        elif attempt < request.max_frame_retries:
            self.stats.retries += 1
            self._at(deadline, lambda t: self.transmit(sender, request, t, attempt + 1))
        else:
            self.stats.no_ack += 1
            self._at(deadline, lambda t: sender.tx_done(epoch, TxDone(Status.NO_ACK), t))

    def _replay(self, fault: AirFault, now: float) -> None:
        """A replay is due: once the band is clear (the attacker's radio does its CCA as any
        other), the frame it picks, the last one heard, reaches its receiver again after its air
        time, holding the channel meanwhile. Waiting for a clear band keeps a replay from
        overtaking a frame still in the air: that frame would reach the receiver first and make
        the copy ``stale`` rather than a ``replay`` of the last frame accepted."""
        busy = max(self._clear_at.values(), default=now)
        if busy > now:
            self._at(busy, lambda t: self._replay(fault, t))
            return
        frame = self.faults.replay(fault, now) if self.faults is not None else None
        if frame is None:
            return
        at = now + mac.air_time_us(len(frame.psdu)) * 1e-6
        self._clear_at[frame.channel] = at
        for radio in self.radios:
            if radio.hwaddr == frame.receiver and radio.listening(frame.channel):
                radio.hear(frame.psdu, _header(frame.psdu), frame.channel, at, self.config)

    def _sniffed(self, psdu: bytes, channel: int, at: float, sender: EmulatedRcp) -> None:
        """An ACK reaches the promiscuous radios too (a sniffer hears everything)."""
        header = mac.parse_header(psdu[:-2])
        for radio in self.radios:
            if radio is not sender and radio.state.promiscuous and radio.listening(channel):
                radio.hear(psdu, header, channel, at + self.config.delay_s, self.config)


def _header(psdu: bytes) -> mac.MacHeader | None:
    try:
        return mac.parse_header(psdu[:-2])
    except ValueError:
        return None


def _wants_ack(header: mac.MacHeader) -> bool:
    """An ACK is due for a unicast data or command frame with the AR bit (§7.5.6.4)."""
    return (
        header.ack_request
        and header.frame_type in (mac.FRAME_DATA, mac.FRAME_COMMAND)
        and header.dst is not None
        and (header.dst_extended or header.dst != mac.BROADCAST_SHORT)
    )


#: The writable properties: the :class:`_RadioState` attribute each sets.
_ATTRIBUTES = {
    Prop.PHY_ENABLED.id: "phy_enabled",
    Prop.PHY_CHAN.id: "channel",
    Prop.MAC_15_4_LADDR.id: "extended_address",
    Prop.MAC_15_4_SADDR.id: "short_address",
    Prop.MAC_15_4_PANID.id: "pan_id",
    Prop.MAC_RAW_STREAM_ENABLED.id: "raw_stream",
    Prop.MAC_PROMISCUOUS_MODE.id: "promiscuous",
    Prop.MAC_SRC_MATCH_ENABLED.id: "src_match",
    Prop.MAC_SRC_MATCH_SHORT_ADDRESSES.id: "src_short",
    Prop.MAC_SRC_MATCH_EXTENDED_ADDRESSES.id: "src_extended",
}


@dataclass
class _RadioState:
    """What ``RESET`` puts back to its default."""

    phy_enabled: bool = False
    raw_stream: bool = False
    channel: int = 11
    pan_id: int = mac.BROADCAST_PAN
    short_address: int = 0xFFFE
    extended_address: bytes = bytes(8)
    promiscuous: int = 0
    src_match: bool = False
    src_short: list[int] = field(default_factory=list)
    src_extended: list[bytes] = field(default_factory=list)


class EmulatedRcp:
    """One RCP on the :class:`Air`: ``handle`` a Spinel frame from the host at ``now`` and get
    the immediate replies; what happens later (frames heard, transmissions done) collects in
    :meth:`take_outbox` with its time. Fits the emulator host's ``Firmware`` protocol."""

    def __init__(self, air: Air, hwaddr: bytes) -> None:
        if len(hwaddr) != 8:
            raise ValueError("hwaddr must be an 8-byte EUI-64")
        self.air = air
        self.hwaddr = hwaddr
        self.state = _RadioState(extended_address=hwaddr)
        #: Bumped by RESET, so events of an earlier life are dropped.
        self.epoch = 0
        self._tx_tid: int | None = None
        self._outbox: list[tuple[float, bytes]] = []
        air.attach(self)

    # --- the host side ---------------------------------------------------------------------

    def handle(self, frame: bytes, now: float) -> list[tuple[float, bytes]]:
        """React to one Spinel frame from the host: the replies to send now (delay 0)."""
        try:
            request = SpinelFrame.decode(frame)
        except SpinelError:
            return []  # not a Spinel frame: the firmware drops it too
        reply = self._dispatch(request, now)
        return [] if reply is None else [(0.0, reply.encode())]

    def outbox_due(self) -> float | None:
        """When the earliest frame in the outbox is due, if any."""
        return min(at for at, _ in self._outbox) if self._outbox else None

    def take_outbox(self) -> list[tuple[float, bytes]]:
        """Frames for the host produced by the air since the last call: (time due, frame)."""
        out, self._outbox = self._outbox, []
        return out

    def _dispatch(self, request: SpinelFrame, now: float) -> SpinelFrame | None:
        tid, command = request.tid, request.command
        if command == Command.RESET:
            return self._reset(request.payload)
        if command == Command.NOOP:
            return _status(Status.OK, tid)
        if command not in (
            Command.PROP_VALUE_GET,
            Command.PROP_VALUE_SET,
            Command.PROP_VALUE_INSERT,
            Command.PROP_VALUE_REMOVE,
        ):
            return _status(Status.INVALID_COMMAND, tid)
        try:
            prop_id, value = split_prop(request.payload)
        except SpinelError:
            return _status(Status.PARSE_ERROR, tid)
        prop = BY_ID.get(prop_id)
        if prop is None:
            return _status(Status.PROP_NOT_FOUND, tid)
        try:
            if command == Command.PROP_VALUE_GET:
                return self._get(prop, tid)
            if command == Command.PROP_VALUE_SET:
                return self._set(prop, value, tid, now)
            return self._insert_remove(prop, command, value, tid)
        except SpinelError:
            return _status(Status.PARSE_ERROR, tid)

    def _reset(self, payload: bytes) -> SpinelFrame:
        if payload and payload[0] not in tuple(ResetType):
            return _status(Status.INVALID_ARGUMENT, 0)
        self.state = _RadioState(extended_address=self.hwaddr)
        self.epoch += 1
        self._tx_tid = None
        self._outbox.clear()
        return _status(Status.RESET_SOFTWARE, 0)

    def _value(self, prop: Property) -> bytes | None:
        state = self.state
        values: dict[int, tuple[object, ...]] = {
            Prop.LAST_STATUS.id: (Status.OK,),
            Prop.PROTOCOL_VERSION.id: PROTOCOL_VERSION,
            Prop.NCP_VERSION.id: (NCP_VERSION,),
            Prop.CAPS.id: ([int(cap) for cap in CAPS],),
            Prop.HWADDR.id: (self.hwaddr,),
            Prop.PHY_ENABLED.id: (state.phy_enabled,),
            Prop.PHY_CHAN.id: (state.channel,),
            Prop.MAC_15_4_LADDR.id: (state.extended_address,),
            Prop.MAC_15_4_SADDR.id: (state.short_address,),
            Prop.MAC_15_4_PANID.id: (state.pan_id,),
            Prop.MAC_RAW_STREAM_ENABLED.id: (state.raw_stream,),
            Prop.MAC_PROMISCUOUS_MODE.id: (state.promiscuous,),
            Prop.MAC_SRC_MATCH_ENABLED.id: (state.src_match,),
            Prop.MAC_SRC_MATCH_SHORT_ADDRESSES.id: (state.src_short,),
            Prop.MAC_SRC_MATCH_EXTENDED_ADDRESSES.id: (state.src_extended,),
        }
        fields = values.get(prop.id)
        return None if fields is None else prop.encode(*fields)

    def _get(self, prop: Property, tid: int) -> SpinelFrame:
        value = self._value(prop)
        if value is None:  # STREAM_RAW: a stream has no value to read
            return _status(Status.PROP_NOT_FOUND, tid)
        return prop_frame(Command.PROP_VALUE_IS, prop.id, value, tid)

    def _set(self, prop: Property, value: bytes, tid: int, now: float) -> SpinelFrame | None:
        if prop is Prop.STREAM_RAW:
            return self._transmit(value, tid, now)
        if not prop.writable:
            return _status(Status.PROP_NOT_FOUND, tid)
        field_value = prop.decode(value)[0]
        if prop is Prop.PHY_CHAN and field_value not in CHANNELS:
            return _status(Status.INVALID_ARGUMENT, tid)
        attribute = _ATTRIBUTES[prop.id]
        setattr(self.state, attribute, list(field_value) if prop.item else field_value)  # type: ignore[call-overload]
        return prop_frame(Command.PROP_VALUE_IS, prop.id, self._value(prop) or b"", tid)

    def _insert_remove(self, prop: Property, command: int, value: bytes, tid: int) -> SpinelFrame:
        table: list[object] | None = {
            Prop.MAC_SRC_MATCH_SHORT_ADDRESSES.id: self.state.src_short,
            Prop.MAC_SRC_MATCH_EXTENDED_ADDRESSES.id: self.state.src_extended,
        }.get(prop.id)  # type: ignore[assignment]
        if table is None or prop.item is None:
            return _status(Status.PROP_NOT_FOUND, tid)
        (entry,) = Property(prop.id, prop.name, prop.item).decode(value)[:1]
        if command == Command.PROP_VALUE_INSERT:
            if entry not in table:
                table.append(entry)
            answer = Command.PROP_VALUE_INSERTED
        else:
            if entry not in table:
                return _status(Status.ITEM_NOT_FOUND, tid)  # [ASSUMED] status of a missing entry
            table.remove(entry)
            answer = Command.PROP_VALUE_REMOVED
        return prop_frame(answer, prop.id, value, tid)

    def _transmit(self, value: bytes, tid: int, now: float) -> SpinelFrame | None:
        if not self.state.phy_enabled or self._tx_tid is not None:
            return _status(Status.INVALID_STATE, tid)
        request = TxRequest.decode(value)
        if request.channel not in CHANNELS:
            return _status(Status.INVALID_ARGUMENT, tid)
        self._tx_tid = tid
        self.air.transmit(self, request, now)
        return None

    # --- the air side ----------------------------------------------------------------------

    def listening(self, channel: int) -> bool:
        return self.state.phy_enabled and self.state.channel == channel

    def tx_done(self, epoch: int, done: TxDone, at: float) -> None:
        if epoch != self.epoch or self._tx_tid is None:
            return
        tid, self._tx_tid = self._tx_tid, None
        if tid:  # the firmware answers a transmission only when the host asked with a TID
            frame = prop_frame(Command.PROP_VALUE_IS, Prop.LAST_STATUS.id, done.encode(), tid)
            self._outbox.append((at, frame.encode()))

    def hear(
        self, psdu: bytes, header: mac.MacHeader | None, channel: int, at: float, air: AirConfig
    ) -> bool | None:
        """A frame reached this radio at ``at``: pass it to the host if it gets through the
        filter; return the ACK's frame-pending bit if this radio acknowledges it, else None."""
        state = self.state
        promiscuous = state.promiscuous != 0
        if header is None or not self.takes(header):
            return None
        ack_pending = None
        flags = 0
        if not promiscuous and _wants_ack(header):
            ack_pending = self._frame_pending(header)
            if ack_pending:
                flags |= MD_FLAG_ACKED_FP
        if state.raw_stream:
            rx = RxFrame(psdu, air.rssi, channel, air.lqi, int(at * 1e6), flags)
            frame = prop_frame(Command.PROP_VALUE_IS, Prop.STREAM_RAW.id, rx.encode())
            self._outbox.append((at, frame.encode()))
        return ack_pending

    def takes(self, header: mac.MacHeader | None) -> bool:
        """Whether this radio passes a frame with ``header`` to its host."""
        return header is not None and (self.state.promiscuous != 0 or self._accepts(header))

    def _accepts(self, header: mac.MacHeader) -> bool:
        """The third-level filter of IEEE 802.15.4-2006 §7.5.6.2."""
        state = self.state
        if header.frame_type == mac.FRAME_ACK:
            return False  # ACKs are the sender's business (Air settles them)
        if header.frame_type == mac.FRAME_BEACON:
            return state.pan_id in (mac.BROADCAST_PAN, header.src_pan)
        if header.dst is None:  # to the PAN coordinator [ASSUMED: the RCP may be it]
            return header.src_pan == state.pan_id
        if header.dst_pan not in (mac.BROADCAST_PAN, state.pan_id):
            return False
        if header.dst_extended:
            return header.dst == int.from_bytes(state.extended_address, "big")
        return header.dst in (mac.BROADCAST_SHORT, state.short_address)

    def _frame_pending(self, header: mac.MacHeader) -> bool:
        """The ACK's frame-pending bit: set for a Data Request whose source is in the
        source-match table, or for every Data Request while source matching is off (as the
        nRF52840 and EFR32 radio drivers do) [ASSUMED for other frames: clear]."""
        if not header.is_data_request:
            return False
        state = self.state
        if not state.src_match:
            return True
        if header.src_extended:
            return header.src_raw in state.src_extended
        return header.src in state.src_short


def _status(status: int, tid: int) -> SpinelFrame:
    return prop_frame(Command.PROP_VALUE_IS, Prop.LAST_STATUS.id, encode_packed(status), tid)
