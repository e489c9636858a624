"""GBCS frames to pcap, for Wireshark / tshark's ``gbcs_message`` dissector (reference/gbcs.md §3).

Link type 252 (``WIRESHARK_UPPER_PDU``): each record is an exported-PDU TLV naming the
dissector (tag 12, NUL-padded to a multiple of 4), the end-of-options tag ``00 00 00 00``, then
the frame. GBT blocks are written as they travel; tshark reassembles them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

LINKTYPE_WIRESHARK_UPPER_PDU = 252
DISSECTOR = "gbcs_message"
_TAG_DISSECTOR_NAME = 12
_SNAPLEN = 0x40000
_PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, _SNAPLEN, 252)


def _exported_pdu_header(dissector: str = DISSECTOR) -> bytes:
    name = dissector.encode("ascii")
    name += b"\x00" * (-len(name) % 4)
    return struct.pack(">HH", _TAG_DISSECTOR_NAME, len(name)) + name + b"\x00\x00\x00\x00"


_PDU_HEADER = _exported_pdu_header()


class PcapWriter:
    """Writes frames to a binary stream as a classic (microsecond) pcap file."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        stream.write(_PCAP_HEADER)

    def write(self, frame: bytes, when: datetime | None = None) -> None:
        """One record; ``when`` defaults to now (UTC)."""
        moment = (when or datetime.now(UTC)).timestamp()
        seconds = int(moment)
        micros = round((moment - seconds) * 1_000_000)
        record = _PDU_HEADER + frame
        if len(record) > _SNAPLEN:
            raise ValueError(f"frame of {len(frame)} bytes exceeds the pcap snap length")
        self._stream.write(struct.pack("<IIII", seconds, micros, len(record), len(record)))
        self._stream.write(record)


def write_pcap(path: Path, frames: Iterable[bytes], start: datetime | None = None) -> int:
    """Write ``frames`` to ``path``, one millisecond apart from ``start``; the count written."""
    base = (start or datetime.now(UTC)).timestamp()
    count = 0
    with path.open("wb") as stream:
        writer = PcapWriter(stream)
        for count, frame in enumerate(frames, 1):
            writer.write(frame, datetime.fromtimestamp(base + count / 1000, UTC))
    return count
