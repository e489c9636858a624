"""The host side of the radio: a thin, blocking I/O shell over a serial port (pyserial: a pty in
tests, ``/dev/ttyACM0`` on a bench) speaking Spinel to an OpenThread RCP.

Every request carries a TID (1-15, in turn) and waits for the frame with that TID; frames heard
on the air meanwhile (``PROP_VALUE_IS(STREAM_RAW)``, TID 0) are queued for :meth:`receive`.
A silent radio gives one :class:`RadioTimeout` naming the port and what went unanswered; an
error status one :class:`RadioStatusError`.
"""

from __future__ import annotations

import collections
import logging
import select
import time
from collections.abc import Callable

import serial

from devices.spinel import hdlc_lite
from devices.spinel.codec import (
    Command,
    SpinelError,
    SpinelFrame,
    Status,
    decode_packed,
    prop_frame,
    split_prop,
)
from devices.spinel.properties import Prop, Property, RxFrame, TxDone, TxRequest
from rig.util.closing import Closing

_log = logging.getLogger(__name__)

#: OpenThread's default RCP UART rate (ot-nrf528xx, ot-efr32: 460800 baud) [ASSUMED for others].
DEFAULT_BAUDRATE = 460800


class RadioError(RuntimeError):
    """The radio did not do what was asked: the message names the port."""


class RadioTimeout(RadioError):
    pass


class RadioStatusError(RadioError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


#: The port's read timeout: the longest a read waits for a first byte.
READ_TIMEOUT_S = 0.05


class SpinelRadio(Closing):
    """An RCP on ``port``. ``timeout``: seconds to wait for any answer (a transmission's end
    included: a frame and its retries take a few ms)."""

    def __init__(
        self, port: str, *, baudrate: int = DEFAULT_BAUDRATE, timeout: float = 2.0
    ) -> None:
        self.port = port
        self.timeout = timeout
        try:
            self._serial = serial.serial_for_url(port, baudrate=baudrate, timeout=READ_TIMEOUT_S)
        except (serial.SerialException, OSError) as exc:
            raise RadioError(f"radio {port}: cannot open: {exc}") from None
        self._decoder = hdlc_lite.HdlcLiteDecoder()
        self._received: collections.deque[RxFrame] = collections.deque()
        self._pending: collections.deque[SpinelFrame] = collections.deque()
        self._tid = 0
        self.channel = 11

    def close(self) -> None:
        self._serial.close()

    # --- requests ----------------------------------------------------------------------------

    def reset(self) -> int:
        """Reset the RCP and wait for its reset notification; return the reset status."""
        self._serial.write(b"\x7e\x7e")  # flags first: whatever half-frame the RCP holds ends
        self._write(SpinelFrame(Command.RESET, b"\x02"))  # RESET_STACK, as OpenThread's host
        frame = self._await(_is_reset, "the reset notification")
        self._received.clear()
        return decode_packed(split_prop(frame.payload)[1])[0]

    def get(self, prop: Property) -> tuple[object, ...]:
        """The value of ``prop``."""
        frame = self._request(Command.PROP_VALUE_GET, prop, b"", f"GET {prop.name}")
        return prop.decode(self._value_of(frame, prop, Command.PROP_VALUE_IS))

    def set(self, prop: Property, *values: object) -> tuple[object, ...]:
        """Set ``prop``; return the value the radio reports back."""
        frame = self._request(
            Command.PROP_VALUE_SET, prop, prop.encode(*values), f"SET {prop.name}"
        )
        return prop.decode(self._value_of(frame, prop, Command.PROP_VALUE_IS))

    def insert(self, prop: Property, value: object) -> None:
        self._change(Command.PROP_VALUE_INSERT, Command.PROP_VALUE_INSERTED, prop, value)

    def remove(self, prop: Property, value: object) -> None:
        self._change(Command.PROP_VALUE_REMOVE, Command.PROP_VALUE_REMOVED, prop, value)

    def _change(self, command: int, answer: int, prop: Property, value: object) -> None:
        assert prop.item is not None, f"{prop.name} is not a list"
        data = Property(prop.id, prop.name, prop.item).encode(value)
        frame = self._request(command, prop, data, f"{Command(command).name} {prop.name}")
        self._value_of(frame, prop, answer)

    # --- the radio, in the rig's words -----------------------------------------------------

    def protocol_version(self) -> tuple[int, int]:
        major, minor = self.get(Prop.PROTOCOL_VERSION)
        return major, minor  # type: ignore[return-value]

    def ncp_version(self) -> str:
        return str(self.get(Prop.NCP_VERSION)[0])

    def caps(self) -> list[int]:
        return list(self.get(Prop.CAPS)[0])  # type: ignore[call-overload]

    def configure(
        self, *, channel: int, pan_id: int, short_address: int, extended_address: bytes
    ) -> None:
        """Channel, PAN ID, short and extended address (the EUI-64 as written, big-endian)."""
        self.set(Prop.PHY_CHAN, channel)
        self.channel = channel
        self.set(Prop.MAC_15_4_PANID, pan_id)
        self.set(Prop.MAC_15_4_SADDR, short_address)
        self.set(Prop.MAC_15_4_LADDR, extended_address)

    def set_pan(self, pan_id: int, short_address: int) -> None:
        """The PAN ID and short address, as a joining device learns them."""
        self.set(Prop.MAC_15_4_PANID, pan_id)
        self.set(Prop.MAC_15_4_SADDR, short_address)

    def enable(self, promiscuous: bool = False) -> None:
        """Raw stream on, radio on (the order OpenThread's host uses), optionally promiscuous."""
        self.set(Prop.MAC_RAW_STREAM_ENABLED, True)
        self.set(Prop.MAC_PROMISCUOUS_MODE, 2 if promiscuous else 0)
        self.set(Prop.PHY_ENABLED, True)

    def transmit(self, mac_frame: bytes, *, max_frame_retries: int = 3) -> TxDone:
        """Send one MAC frame (without FCS: the radio appends it) on the current channel; return
        how it ended (``status`` ``Status.OK`` or ``NO_ACK`` …, frame pending, the ACK)."""
        psdu = mac_frame + b"\0\0"
        request = TxRequest(psdu, self.channel, max_frame_retries=max_frame_retries)
        frame = self._request(
            Command.PROP_VALUE_SET, Prop.STREAM_RAW, request.encode(), "a transmission"
        )
        prop, value = split_prop(frame.payload)
        if prop != Prop.LAST_STATUS.id:
            raise RadioError(f"radio {self.port}: answered a transmission with property {prop}")
        return TxDone.decode(value)

    def receive(self, timeout: float | None = None) -> RxFrame | None:
        """The next frame heard on the air, waiting up to ``timeout`` s (default: the radio's);
        None if none came."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self._received:
            if not self._poll(deadline):
                return None
        return self._received.popleft()

    def src_match(self, enabled: bool) -> None:
        self.set(Prop.MAC_SRC_MATCH_ENABLED, enabled)

    def add_pending(self, address: int | bytes) -> None:
        """Frame pending for a sleepy device's polls: a short address, or an EUI-64 as written."""
        prop, value = _src_entry(address)
        self.insert(prop, value)

    def clear_pending(self, address: int | bytes) -> None:
        prop, value = _src_entry(address)
        self.remove(prop, value)

    # --- the wire ------------------------------------------------------------------------------

    def _next_tid(self) -> int:
        self._tid = self._tid % 15 + 1
        return self._tid

    def _write(self, frame: SpinelFrame) -> None:
        try:
            self._serial.write(hdlc_lite.encode(frame.encode()))
        except (serial.SerialException, OSError) as exc:
            raise RadioError(f"radio {self.port}: write failed: {exc}") from None

    def _request(self, command: int, prop: Property, value: bytes, what: str) -> SpinelFrame:
        tid = self._next_tid()
        self._write(prop_frame(command, prop.id, value, tid))
        frame = self._await(lambda f: f.tid == tid, what)
        if frame.command == Command.PROP_VALUE_IS:
            prop_id, data = split_prop(frame.payload)
            if prop_id == Prop.LAST_STATUS.id:
                status = decode_packed(data)[0]
                ends = (Status.NO_ACK, Status.CCA_FAILURE) if prop is Prop.STREAM_RAW else ()
                if status != Status.OK and status not in ends:
                    raise RadioStatusError(
                        f"radio {self.port}: {what} failed: {Status.name_of(status)}", status
                    )
        return frame

    def _value_of(self, frame: SpinelFrame, prop: Property, answer: int) -> bytes:
        prop_id, value = split_prop(frame.payload)
        if frame.command != answer or prop_id != prop.id:
            raise RadioError(
                f"radio {self.port}: unexpected answer (command {frame.command}, property "
                f"{prop_id}) to {prop.name}"
            )
        return value

    def _await(self, wanted: Callable[[SpinelFrame], bool], what: str) -> SpinelFrame:
        deadline = time.monotonic() + self.timeout
        while True:
            for _ in range(len(self._pending)):
                frame = self._pending.popleft()
                if wanted(frame):
                    return frame
                _log.debug("radio %s: dropped unmatched frame %s", self.port, frame)
            if not self._poll(deadline):
                raise RadioTimeout(
                    f"radio {self.port}: no answer to {what} within {self.timeout:g} s"
                )

    def _poll(self, deadline: float) -> bool:
        """Read what the port has; file frames heard on the air, keep the rest for
        :meth:`_await`. False once ``deadline`` has passed with nothing new."""
        while True:
            try:
                data = self._read(deadline)
            except (serial.SerialException, OSError) as exc:
                raise RadioError(f"radio {self.port}: read failed: {exc}") from None
            got = False
            for item in self._decoder.feed(data):
                if isinstance(item, hdlc_lite.HdlcError):
                    _log.warning("radio %s: %s", self.port, item)
                    continue
                try:
                    frame = SpinelFrame.decode(item)
                    got |= self._file(frame)
                except SpinelError as exc:
                    _log.warning("radio %s: dropped a frame: %s", self.port, exc)
            if got:
                return True
            if time.monotonic() >= deadline:
                return False

    def _read(self, deadline: float) -> bytes:
        """What the port has, waiting for it until ``deadline`` at most: a port with a file
        descriptor (a USB serial port, a pty) is waited on with select(2), so a caller's short
        wait (the HAN hub's radio thread looks at its queue every 2 ms) is not stretched to the
        port's read timeout (50 ms; what a port without one, e.g. an rfc2217 URL, waits)."""
        waiting = self._serial.in_waiting
        if not waiting:
            try:
                fd = self._serial.fileno()
            except (AttributeError, NotImplementedError, OSError, ValueError):
                fd = None
            if fd is not None:
                left = min(max(0.0, deadline - time.monotonic()), READ_TIMEOUT_S)
                if not select.select([fd], [], [], left)[0]:
                    return b""
        return self._serial.read(max(1, waiting or self._serial.in_waiting))

    def _file(self, frame: SpinelFrame) -> bool:
        if frame.tid == 0 and frame.command == Command.PROP_VALUE_IS:
            prop_id, value = split_prop(frame.payload)
            if prop_id == Prop.STREAM_RAW.id:
                self._received.append(RxFrame.decode(value))
                return True
        self._pending.append(frame)
        return True


def _is_reset(frame: SpinelFrame) -> bool:
    if frame.command != Command.PROP_VALUE_IS:
        return False
    prop_id, value = split_prop(frame.payload)
    return prop_id == Prop.LAST_STATUS.id and bool(value) and 112 <= value[0] < 128


def _src_entry(address: int | bytes) -> tuple[Property, object]:
    if isinstance(address, int):
        return Prop.MAC_SRC_MATCH_SHORT_ADDRESSES, address
    if len(address) != 8:
        raise ValueError("an extended address is 8 bytes")
    # Source-match entries go in the frame's byte order (docs/han.md "Radio (Spinel)").
    return Prop.MAC_SRC_MATCH_EXTENDED_ADDRESSES, bytes(reversed(address))
