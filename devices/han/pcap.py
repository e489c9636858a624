"""802.15.4 captures of the HAN's radio (pcap, LINKTYPE_IEEE802_15_4_WITHFCS = 195), readable
by Wireshark and tshark: the run's ``han.pcap`` and each test's (docs/han.md "On the bench")."""

from __future__ import annotations

import time
from pathlib import Path

from scapy.utils import PcapWriter

from rig.util.closing import Closing

DLT_IEEE802_15_4_WITHFCS = 195


class PcapCapture(Closing):
    """Write PSDUs (FCS included) to ``path``: ``capture(psdu, at)`` adds one.

    Loop times (``time.monotonic()``) are turned into wall-clock packet times with the offset
    taken when the capture opens.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.packets = 0
        self._offset = time.time() - time.monotonic()
        self._writer = PcapWriter(str(path), linktype=DLT_IEEE802_15_4_WITHFCS, sync=True)
        self._writer.write_header(None)  # an empty capture is still a valid file

    def __call__(self, psdu: bytes, at: float) -> None:
        seconds, fraction = divmod(at + self._offset, 1.0)
        self._writer.write_packet(psdu, sec=int(seconds), usec=int(fraction * 1e6))
        self.packets += 1

    def close(self) -> None:
        self._writer.close()
