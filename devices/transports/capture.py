"""Per-test packet captures of the device links, for Wireshark and tshark.

Two files per test: ``gbcs.pcap``, every GBCS frame the rig sent or received on any device
link (link type 252, Wireshark's ``gbcs_message`` dissector: :mod:`rig.gbcs.pcap`), and
``han.pcap``, every 802.15.4 PSDU the HAN's radio sent or heard (link type 195:
:mod:`devices.han.pcap`). Devices call :meth:`Captures.gbcs` and :meth:`Captures.han` from
the rig's loop thread whether or not a capture is open; the test plan's thread opens and closes
the files around each test.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from rig.gbcs.pcap import PcapWriter

if TYPE_CHECKING:  # the ZigBee stack loads scapy: only for a bench with a HAN
    from devices.han.pcap import PcapCapture

GBCS_FILE = "gbcs.pcap"
HAN_FILE = "han.pcap"


@dataclass(frozen=True)
class CaptureFiles:
    """One test's capture files and how many packets each holds."""

    gbcs: Path
    gbcs_packets: int
    han: Path | None
    han_packets: int

    def to_json(self) -> dict[str, object]:
        return {
            "gbcs_pcap": str(self.gbcs),
            "gbcs_packets": self.gbcs_packets,
            "han_pcap": None if self.han is None else str(self.han),
            "han_packets": self.han_packets,
        }


class Captures:
    """The capture switch shared by a bench's devices; ``han`` says whether the bench has a
    HAN (``[han]``; else no HAN file is written)."""

    def __init__(self, *, han: bool) -> None:
        self.has_han = han
        self._lock = threading.Lock()
        self._offset = time.time() - time.monotonic()  # loop.time() is time.monotonic()
        self._folder: Path | None = None
        self._gbcs_stream: BinaryIO | None = None
        self._gbcs: PcapWriter | None = None
        self._gbcs_packets = 0
        self._han: PcapCapture | None = None

    def start(self, folder: Path) -> None:
        """Open fresh capture files in ``folder`` (created), closing any open ones."""
        folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._close_files()
            self._folder = folder
            self._gbcs_stream = (folder / GBCS_FILE).open("wb")
            self._gbcs = PcapWriter(self._gbcs_stream)
            self._gbcs_packets = 0
            if self.has_han:
                from devices.han.pcap import PcapCapture

                self._han = PcapCapture(folder / HAN_FILE)

    def stop(self) -> CaptureFiles | None:
        """Close the files; what they hold (None if no capture was open)."""
        with self._lock:
            folder = self._folder
            if folder is None:
                return None
            han = self._han
            files = CaptureFiles(
                gbcs=folder / GBCS_FILE,
                gbcs_packets=self._gbcs_packets,
                han=None if han is None else han.path,
                han_packets=0 if han is None else han.packets,
            )
            self._close_files()
            return files

    def gbcs(self, frame: bytes, at: float) -> None:
        """A GBCS frame sent or received at loop time ``at``."""
        with self._lock:
            if self._gbcs is not None:
                self._gbcs.write(frame, datetime.fromtimestamp(at + self._offset, UTC))
                self._gbcs_packets += 1

    def han(self, psdu: bytes, at: float) -> None:
        """An 802.15.4 PSDU (FCS included) sent or received at loop time ``at``."""
        with self._lock:
            if self._han is not None:
                self._han(psdu, at)

    def _close_files(self) -> None:
        if self._gbcs_stream is not None:
            self._gbcs_stream.close()
        if self._han is not None:
            self._han.close()
        self._folder = self._gbcs_stream = self._gbcs = self._han = None
