"""HDLC-style framing for the rig's serial links: a pure (sans-I/O) codec.

Wire format (``docs/serial-framing.md``)::

    7E | kind | payload ... | FCS lo | FCS hi | 7E

The FCS is CRC-16/X.25 (RFC 1662) over kind + payload, sent low byte first. Between the
flags, 0x7E and 0x7D are sent as 0x7D followed by the byte XOR 0x20. Every flag ends the frame
in progress, so a decoder joining mid-stream, or hit by line noise, loses only the damaged
frame and is back in sync at the next flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Self

from devices.transports.fcs import ESCAPE, crc16_x25, unstuff

FLAG = 0x7E
DEFAULT_MAX_PAYLOAD = 4096

_FLAG_BYTES = bytes([FLAG])
_OVERHEAD = 3  # kind byte + two FCS bytes


class FrameKind(IntEnum):
    """The address/type byte that follows the opening flag."""

    GBCS = 0x01
    LINK = 0x02


_KINDS: dict[int, FrameKind] = {kind.value: kind for kind in FrameKind}


class LinkOp(IntEnum):
    """First payload byte of a ``FrameKind.LINK`` frame; the rest of the payload is a token."""

    PING = 0x01  # answer with PONG carrying the same token
    PONG = 0x02
    RESET = 0x03  # drop output scheduled but not yet sent, then PONG with the same token


@dataclass(frozen=True, slots=True)
class LinkControl:
    """A link-control message: an operation and an opaque token echoed in the reply."""

    op: LinkOp
    token: bytes = b""

    def encode(self) -> bytes:
        return bytes([self.op]) + self.token

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Parse a LINK frame's payload; raise ValueError for an unknown operation."""
        if not payload:
            raise ValueError("empty link-control payload")
        return cls(LinkOp(payload[0]), payload[1:])


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame that passed every check."""

    kind: FrameKind
    payload: bytes


class FrameErrorReason(Enum):
    TOO_SHORT = "too short"  # fewer than 3 bytes (kind + FCS) between flags
    OVERSIZE = "oversize"  # payload longer than the decoder's max_payload
    ABORTED = "aborted"  # escape byte followed directly by a flag
    BAD_FCS = "bad FCS"
    UNKNOWN_KIND = "unknown kind"
    EMPTY = "empty"  # well-formed but no payload


@dataclass(frozen=True, slots=True)
class FrameError:
    """A rejected frame: why, where its first byte after the opening flag sits in the stream,
    and how many (stuffed) bytes lay between its flags."""

    reason: FrameErrorReason
    offset: int
    length: int

    def __str__(self) -> str:
        return f"{self.reason.value} frame at stream byte {self.offset} ({self.length} bytes)"


def encode_frame(kind: FrameKind, payload: bytes) -> bytes:
    """Build one frame, flags included."""
    if not payload:
        raise ValueError("a frame needs a non-empty payload")
    body = bytes([kind]) + payload
    body += crc16_x25(body).to_bytes(2, "little")
    stuffed = body.replace(b"\x7d", b"\x7d\x5d").replace(b"\x7e", b"\x7d\x5e")
    return _FLAG_BYTES + stuffed + _FLAG_BYTES


class FrameDecoder:
    """Incremental decoder: feed it bytes in any chunking, get frames and errors in order.

    Memory stays bounded by ``max_payload``: an overlong frame is skipped, not buffered.
    Consecutive flags (an empty gap) are inter-frame fill and are ignored.
    """

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        if max_payload < 1:
            raise ValueError("max_payload must be at least 1")
        self.max_payload = max_payload
        self.frames_good = 0
        self.frames_bad = 0
        self._raw_limit = 2 * (max_payload + _OVERHEAD)  # stuffing at most doubles the size
        self._raw = bytearray()
        self._overflow = False
        self._offset = 0  # stream offset of the next byte fed
        self._start = 0  # stream offset of the current frame's first byte

    @property
    def offset(self) -> int:
        """Total bytes fed so far."""
        return self._offset

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        if type(data) is not bytes:
            data = bytes(data)
        out: list[Frame | FrameError] = []
        pos = 0
        base = self._offset
        while (flag := data.find(FLAG, pos)) >= 0:
            chunk = data[pos:flag]
            if self._raw or self._overflow:
                self._accumulate(chunk)
                raw, self._raw = bytes(self._raw), bytearray()
                overflow, self._overflow = self._overflow, False
            else:  # a whole frame in this chunk: no copy through the buffer
                raw, overflow = chunk, len(chunk) > self._raw_limit
            start, self._start = self._start, base + flag + 1
            if base + flag > start:  # consecutive flags are fill
                out.append(self._finish(raw, overflow, start, base + flag - start))
            pos = flag + 1
        if pos < len(data):
            self._accumulate(data[pos:])
        self._offset = base + len(data)
        return out

    def _accumulate(self, chunk: bytes) -> None:
        if self._overflow:
            return
        if len(self._raw) + len(chunk) > self._raw_limit:
            self._overflow = True
            self._raw.clear()
        else:
            self._raw += chunk

    def _finish(self, raw: bytes, overflow: bool, start: int, length: int) -> Frame | FrameError:
        result = self._validate(raw, overflow)
        if isinstance(result, Frame):
            self.frames_good += 1
            return result
        self.frames_bad += 1
        return FrameError(result, start, length)

    def _validate(self, raw: bytes, overflow: bool) -> Frame | FrameErrorReason:
        if overflow:
            return FrameErrorReason.OVERSIZE
        body = unstuff(raw) if ESCAPE in raw else raw
        if body is None:
            return FrameErrorReason.ABORTED
        if len(body) < _OVERHEAD:
            return FrameErrorReason.TOO_SHORT
        if len(body) - _OVERHEAD > self.max_payload:
            return FrameErrorReason.OVERSIZE
        if crc16_x25(body[:-2]) != body[-2] | body[-1] << 8:
            return FrameErrorReason.BAD_FCS
        kind = _KINDS.get(body[0])
        if kind is None:
            return FrameErrorReason.UNKNOWN_KIND
        if len(body) == _OVERHEAD:
            return FrameErrorReason.EMPTY
        return Frame(kind, body[1:-2])
