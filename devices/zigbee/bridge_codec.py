"""The USB ZigBee bridge's serial framing: SLIP (RFC 1055) with a message header and a CRC.
Pure (sans-I/O); see docs/zigbee-bridge.md.

::

    C0 | type | seq | data ... | CRC lo | CRC hi | C0       (SLIP-stuffed between the C0s)

CRC-16/X.25 over type + seq + data. Stuffing: C0 -> DB DC, DB -> DB DD. ``TX`` (host to
bridge) carries a PSDU to transmit; ``RX`` (bridge to host) carries the link quality, the
signal strength (dBm, signed) and a PSDU received.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from devices.transports.hdlc import crc16_x25

END, ESC, ESC_END, ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD
MAX_DATA = 2 + 127  # RX: LQI, RSSI and the largest PSDU
_HEADER, _CRC = 2, 2


class MessageType(IntEnum):
    TX = 0x01  # host to bridge: data = PSDU
    RX = 0x02  # bridge to host: data = LQI, RSSI (int8), PSDU


@dataclass(frozen=True, slots=True)
class BridgeMessage:
    type: MessageType
    seq: int
    data: bytes


@dataclass(frozen=True, slots=True)
class BridgeError:
    """A rejected frame: why, and its unstuffed length."""

    reason: str
    length: int

    def __str__(self) -> str:
        return f"bridge frame rejected ({self.reason}, {self.length} bytes)"


def encode_message(message: BridgeMessage) -> bytes:
    """One SLIP frame, both END bytes included."""
    if not 0 <= message.seq <= 0xFF:
        raise ValueError("seq must fit in a byte")
    if len(message.data) > MAX_DATA:
        raise ValueError(f"{len(message.data)} bytes of data exceed {MAX_DATA}")
    body = bytes([message.type, message.seq]) + message.data
    body += crc16_x25(body).to_bytes(2, "little")
    stuffed = body.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc")
    return b"\xc0" + stuffed + b"\xc0"


def rx_data(psdu: bytes, lqi: int = 255, rssi: int = -40) -> bytes:
    """The data of an RX message."""
    return bytes([lqi]) + rssi.to_bytes(1, "little", signed=True) + psdu


def split_rx(data: bytes) -> tuple[int, int, bytes]:
    """(LQI, RSSI in dBm, PSDU) from an RX message's data."""
    if len(data) < 3:
        raise ValueError("RX message too short")
    return data[0], int.from_bytes(data[1:2], "little", signed=True), data[2:]


class BridgeDecoder:
    """Incremental SLIP decoder; bounded memory; every END ends the frame in progress."""

    def __init__(self) -> None:
        self._raw = bytearray()
        self._overflow = False
        self.frames_good = 0
        self.frames_bad = 0

    def feed(self, data: bytes) -> list[BridgeMessage | BridgeError]:
        out: list[BridgeMessage | BridgeError] = []
        for chunk_end, chunk in _split_on_end(data):
            if not self._overflow:
                self._raw += chunk
                if len(self._raw) > 2 * (MAX_DATA + _HEADER + _CRC):
                    self._overflow, self._raw = True, bytearray()
            if chunk_end:
                item = self._finish()
                if item is not None:
                    out.append(item)
        return out

    def _finish(self) -> BridgeMessage | BridgeError | None:
        raw, self._raw = bytes(self._raw), bytearray()
        overflow, self._overflow = self._overflow, False
        if not raw and not overflow:
            return None  # idle END bytes
        item = _validate(raw, overflow)
        if isinstance(item, BridgeError):
            self.frames_bad += 1
        else:
            self.frames_good += 1
        return item


def _split_on_end(data: bytes) -> list[tuple[bool, bytes]]:
    """Chunks of ``data`` between END bytes, each flagged when an END closes it."""
    parts = data.split(b"\xc0")
    return [(True, part) for part in parts[:-1]] + [(False, parts[-1])]


def _validate(raw: bytes, overflow: bool) -> BridgeMessage | BridgeError:
    if overflow:
        return BridgeError("oversize", len(raw))
    body = bytearray()
    escaped = False
    for byte in raw:
        if escaped:
            if byte not in (ESC_END, ESC_ESC):
                return BridgeError("bad escape", len(raw))
            body.append(END if byte == ESC_END else ESC)
            escaped = False
        elif byte == ESC:
            escaped = True
        else:
            body.append(byte)
    if escaped:
        return BridgeError("bad escape", len(raw))
    if len(body) < _HEADER + _CRC:
        return BridgeError("too short", len(body))
    if crc16_x25(bytes(body[:-2])) != int.from_bytes(body[-2:], "little"):
        return BridgeError("bad CRC", len(body))
    try:
        kind = MessageType(body[0])
    except ValueError:
        return BridgeError("unknown type", len(body))
    return BridgeMessage(kind, body[1], bytes(body[2:-2]))
