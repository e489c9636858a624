"""HDLC-Lite, the framing Spinel uses on a UART: pure (sans-I/O).

Spinel draft, Appendix "Recommended Framing Protocols" §HDLC-Lite, and OpenThread's
``src/lib/spinel`` HDLC encoder: each frame is followed by a flag ``0x7E``; the bytes 0x7E,
0x7D, 0x11 (XON), 0x13 (XOFF) and 0xF8 are sent as ``0x7D, byte ^ 0x20``; a 16-bit FCS is
appended, low byte first. The draft names the CRC "KERMIT", but OpenThread (and every RCP) uses
the PPP FCS-16 of RFC 1662 (init 0xFFFF, complemented): CRC-16/X.25, which this module uses.

The rig's own serial framing (devices/transports/hdlc.py) is the same HDLC family with a kind
byte; the two share the FCS and the unstuffing (devices/transports/fcs.py), not the frame
layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.transports.fcs import crc16_x25, unstuff

FLAG = 0x7E
_FLAG_BYTES = bytes([FLAG])
#: Bytes escaped when sent (OpenThread's HDLC encoder escapes all five), each with its escape.
_SPECIAL = (0x7D, 0x7E, 0x11, 0x13, 0xF8)
_ESCAPES = tuple((bytes([byte]), bytes([0x7D, byte ^ 0x20])) for byte in _SPECIAL)
#: Largest Spinel frame OpenThread accepts (spinel.h ``SPINEL_FRAME_MAX_SIZE``).
MAX_FRAME = 1300


def encode(frame: bytes) -> bytes:
    """One HDLC-Lite frame, opening and closing flags included."""
    body = frame + crc16_x25(frame).to_bytes(2, "little")
    for byte, escaped in _ESCAPES:  # 0x7D first, so no escape is escaped again
        if byte in body:
            body = body.replace(byte, escaped)
    return _FLAG_BYTES + body + _FLAG_BYTES


@dataclass(frozen=True, slots=True)
class HdlcError:
    """A frame dropped by the decoder, and why (``bad FCS``, ``too short``, ``oversize``,
    ``aborted``: an escape right before the flag)."""

    reason: str
    length: int

    def __str__(self) -> str:
        return f"HDLC-Lite frame dropped ({self.reason}, {self.length} bytes)"


class HdlcLiteDecoder:
    """Streaming decoder: bytes in any chunking in, frames (bytes) and errors out, in order.

    Every flag ends the frame in progress, so garbage costs at most the frame it hit and the
    decoder is back in step at the next flag. Memory is bounded by ``max_frame``: a longer run
    between flags is counted as one oversize error, not buffered.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._raw_limit = 2 * (max_frame + 2)  # stuffing at most doubles a frame
        self._raw = bytearray()
        self._overflow = False
        self.frames_good = 0
        self.frames_bad = 0

    def feed(self, data: bytes) -> list[bytes | HdlcError]:
        out: list[bytes | HdlcError] = []
        *closed, tail = bytes(data).split(_FLAG_BYTES)
        for chunk in closed:
            if self._raw or self._overflow or len(chunk) > self._raw_limit:
                self._take(chunk)
                raw, self._raw = bytes(self._raw), bytearray()
                overflow, self._overflow = self._overflow, False
            else:  # a whole frame in this chunk: no copy through the buffer
                raw, overflow = chunk, False
            if raw or overflow:  # consecutive flags are fill
                item = self._check(raw, overflow)
                if isinstance(item, HdlcError):
                    self.frames_bad += 1
                else:
                    self.frames_good += 1
                out.append(item)
        self._take(tail)
        return out

    def _take(self, chunk: bytes) -> None:
        if self._overflow:
            return
        if len(self._raw) + len(chunk) > self._raw_limit:
            self._overflow, self._raw = True, bytearray()
        else:
            self._raw += chunk

    def _check(self, raw: bytes, overflow: bool) -> bytes | HdlcError:
        if overflow:
            return HdlcError("oversize", self._raw_limit)
        body = unstuff(raw) if 0x7D in raw else raw
        if body is None:
            return HdlcError("aborted", len(raw))
        if len(body) < 3:  # a header byte and the FCS at least
            return HdlcError("too short", len(body))
        if len(body) - 2 > self.max_frame:
            return HdlcError("oversize", len(body))
        if crc16_x25(body[:-2]) != body[-2] | body[-1] << 8:
            return HdlcError("bad FCS", len(body))
        return body[:-2]
