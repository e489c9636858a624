"""The ZigBee stack's nodes on emulated RCPs and air, in memory, on any clock (virtual in the
stack's tests, the emulator process's in ``devices.han.emulated``): each node's
:class:`~rig.zigbee.seam.Radio` speaks Spinel frames to its EmulatedRcp (transmissions queued
while one is in flight, as the RCP takes one at a time); frames heard come back as
``STREAM_RAW`` and go to the node's ``receive``."""

from __future__ import annotations

from collections import deque

from devices.spinel.codec import Command, SpinelFrame, prop_frame, split_prop
from devices.spinel.properties import Prop, Property, RxFrame, TxDone, TxRequest
from devices.spinel.rcp import Air, EmulatedRcp
from rig.clock import Clock
from rig.zigbee.node import Node

#: The channel unless the host says otherwise.
CHANNEL = 15


class AirRadio:
    """A Radio over one EmulatedRcp."""

    def __init__(
        self, air: Air, clock: Clock, eui64: bytes, host: AirHost, channel: int = CHANNEL
    ) -> None:
        self.rcp = EmulatedRcp(air, eui64)
        self.clock, self.host, self.channel = clock, host, channel
        self.node: Node | None = None
        self.queue: deque[bytes] = deque()
        self.busy = False
        self.sent: list[bytes] = []
        self.tx_done: list[TxDone] = []
        for prop, value in (
            (Prop.PHY_CHAN, channel),
            (Prop.MAC_RAW_STREAM_ENABLED, True),
            (Prop.MAC_SRC_MATCH_ENABLED, True),
            (Prop.PHY_ENABLED, True),
        ):
            self._command(Command.PROP_VALUE_SET, prop, prop.encode(value))

    def _command(self, command: int, prop: Property, value: bytes, tid: int = 1) -> None:
        wire = prop_frame(command, prop.id, value, tid).encode()
        for _, answer in self.rcp.handle(wire, self.clock.now()):
            prop_id, data = split_prop(SpinelFrame.decode(answer).payload)
            if prop_id == Prop.LAST_STATUS.id:
                raise RuntimeError(f"the emulated RCP refused {prop.name}: status {data.hex()}")

    def set_pan(self, pan_id: int, short_address: int) -> None:
        self._command(
            Command.PROP_VALUE_SET, Prop.MAC_15_4_PANID, Prop.MAC_15_4_PANID.encode(pan_id)
        )
        self._command(
            Command.PROP_VALUE_SET, Prop.MAC_15_4_SADDR, Prop.MAC_15_4_SADDR.encode(short_address)
        )

    def add_pending(self, address: int | bytes) -> None:
        self._command(Command.PROP_VALUE_INSERT, *_src_entry(address))

    def clear_pending(self, address: int | bytes) -> None:
        self._command(Command.PROP_VALUE_REMOVE, *_src_entry(address))

    def transmit(self, mac_frame: bytes) -> None:
        self.sent.append(mac_frame)
        self.queue.append(mac_frame)
        self._next()

    def _next(self) -> None:
        if self.busy or not self.queue:
            return
        self.busy = True
        request = TxRequest(self.queue.popleft() + b"\0\0", self.channel)
        self._command(Command.PROP_VALUE_SET, Prop.STREAM_RAW, request.encode(), tid=2)
        self.host.wake()

    def deliver(self, wire: bytes) -> None:
        frame = SpinelFrame.decode(wire)
        prop, value = split_prop(frame.payload)
        if prop == Prop.LAST_STATUS.id:
            self.tx_done.append(TxDone.decode(value))
            self.busy = False
            self._next()
        elif prop == Prop.STREAM_RAW.id and self.node is not None:
            self.node.receive(RxFrame.decode(value).mac_frame)


def _src_entry(address: int | bytes) -> tuple[Property, bytes]:
    if isinstance(address, int):
        prop = Prop.MAC_SRC_MATCH_SHORT_ADDRESSES
        return prop, Property(prop.id, prop.name, prop.item).encode(address)  # type: ignore[arg-type]
    prop = Prop.MAC_SRC_MATCH_EXTENDED_ADDRESSES
    # Source-match entries go in the frame's byte order (docs/han.md "Radio (Spinel)").
    return prop, Property(prop.id, prop.name, prop.item).encode(address[::-1])  # type: ignore[arg-type]


class AirHost:
    """Radios on one air, driven by one clock."""

    def __init__(self, air: Air, clock: Clock, channel: int = CHANNEL) -> None:
        self.air, self.clock, self.channel = air, clock, channel
        self.radios: list[AirRadio] = []
        self._armed: float | None = None

    def radio(self, eui64: bytes) -> AirRadio:
        radio = AirRadio(self.air, self.clock, eui64, self, self.channel)
        self.radios.append(radio)
        return radio

    def wake(self) -> None:
        due = self.air.next_due()
        if due is not None and (self._armed is None or due < self._armed):
            self._armed = due
            self.clock.call_at(due, self.pump)

    def pump(self) -> None:
        """Advance the air to the clock's time and hand each radio what it heard. Called early
        (a host pumping on its own), it leaves the timer armed for later in place, so that
        the next :meth:`wake` does not arm a second one for the same time."""
        if self._armed is not None and self._armed <= self.clock.now():
            self._armed = None
        self.air.advance(self.clock.now())
        for radio in self.radios:
            for at, wire in radio.rcp.take_outbox():
                self.clock.call_at(at, radio.deliver, wire)
        self.wake()
