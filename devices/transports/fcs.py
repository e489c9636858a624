"""The HDLC family's frame check sequence and byte unstuffing, shared by the rig's serial framing
(devices/transports/hdlc.py) and Spinel's HDLC-Lite (devices/spinel/hdlc_lite.py), and the
IEEE 802.15.4 FCS of the emulated radios (devices/spinel/mac.py). Compiled with the secured
HAN's frame path (rig._native.COMPILED_MODULES), which calls them for every frame: docs/han.md
"Speed of the secured HAN"."""

from __future__ import annotations

import binascii

ESCAPE = 0x7D
ESCAPE_XOR = 0x20

#: Each byte with its bits in reverse order.
_REVERSED = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))


def _reflected_crc16(data: bytes, init: int) -> int:
    """The reflected CRC-16 of polynomial 0x1021 with ``init`` (0 or 0xFFFF, both the same
    bit-reversed), before its final XOR.

    A reflected CRC is the plain CRC of the bit-reversed bytes, bit-reversed; the plain
    CRC-CCITT runs in C in :func:`binascii.crc_hqx`: 1.4 us for a 150-byte frame, against
    12 us for a Python table loop."""
    plain = binascii.crc_hqx(data.translate(_REVERSED), init)
    return (_REVERSED[plain & 0xFF] << 8) | _REVERSED[plain >> 8]


def crc16_x25(data: bytes) -> int:
    """CRC-16/X.25 (reflected poly 0x1021, init and xorout 0xFFFF): the HDLC/PPP FCS-16."""
    return _reflected_crc16(data, 0xFFFF) ^ 0xFFFF


def crc16_kermit(data: bytes) -> int:
    """CRC-16/KERMIT (reflected poly 0x1021, init and xorout 0): the IEEE 802.15.4 FCS
    (IEEE 802.15.4-2006 §7.2.1.9)."""
    return _reflected_crc16(data, 0)


def unstuff(raw: bytes) -> bytes | None:
    """Undo byte stuffing; None when the frame ends in a lone escape (an abort).

    Any byte after an escape is XORed (as RFC 1662 receivers do), so a peer that also escapes
    control characters still decodes.
    """
    out = bytearray()
    start = 0
    while (esc := raw.find(ESCAPE, start)) >= 0:
        if esc + 1 == len(raw):
            return None
        out += raw[start:esc]
        out.append(raw[esc + 1] ^ ESCAPE_XOR)
        start = esc + 2
    out += raw[start:]
    return bytes(out)
