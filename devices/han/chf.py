"""The rig as the Comms Hub Function on a HAN bench: GBCS addressed to the Comms Hub's EUI is
answered by the CHF state machine the emulated premises use
(:class:`firmware_stubs.comms_hub.Chf`: CCS01 / CCS02 by hand, CCS06 read live, every other CHF
use case from its COSEM model), secured with the Comms Hub's own GBCS keys, and the HAN device
log it writes is the one the trust center admits joiners by (:class:`DeviceLog`).

The log holds what GBCS carries (SRV 8.11, CCS01: the EUI-64 and a 16-byte install code, seed
002); the trust center needs the install code **with its CRC** (CRC-16/X-25 appended low byte
first, ZigBee SE 1.2a §5.4.8; the link key is its AES-MMO hash, ZigBee 05-3474 Annex B.6), so
the Comms Hub appends the CRC [ASSUMED: the CRC is the hub's to compute, as a bench file's
install codes carry one and CCS01's 16 bytes leave no room for it]. docs/han.md "The device log".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, MutableMapping

from devices.api import LinkDown, Receiver
from devices.emulated.host import device_clock_offset
from devices.transports.capture import Captures
from firmware_stubs.comms_hub import Chf, HanLogEntry, HubSettings
from rig.gbcs.eui import Eui64
from rig.keys.keystore import KeyStore
from rig.zigbee.mmo import with_crc

#: Called with each change of the log: the device and its new entry (None: removed).
LogChange = Callable[[Eui64, HanLogEntry | None], None]


class DeviceLog(MutableMapping[Eui64, HanLogEntry]):
    """The Comms Hub's HAN device log, one for the CHF (which reads and writes it as a mapping
    of EUI-64 to :class:`HanLogEntry`, install codes without CRC) and the trust center
    (:meth:`codes`: EUI-64 bytes to install code with CRC). Every change, and only a change,
    reaches ``on_change``."""

    def __init__(self, entries: Iterable[HanLogEntry] = ()) -> None:
        self._entries = {entry.device: entry for entry in entries}
        self.on_change: LogChange = lambda device, entry: None

    @classmethod
    def with_crcs(cls, codes: Iterable[tuple[Eui64, bytes]]) -> DeviceLog:
        """A log from install codes that carry their CRC (a bench file's)."""
        return cls(HanLogEntry(eui, code[:-2]) for eui, code in codes)

    def codes(self) -> dict[bytes, bytes]:
        """The trust center's form: EUI-64 (as written) to install code with its CRC."""
        return {eui.raw: with_crc(e.install_code) for eui, e in self._entries.items()}

    def __getitem__(self, device: Eui64) -> HanLogEntry:
        return self._entries[device]

    def __setitem__(self, device: Eui64, entry: HanLogEntry) -> None:
        if self._entries.get(device) != entry:
            self._entries[device] = entry
            self.on_change(device, entry)

    def __delitem__(self, device: Eui64) -> None:
        del self._entries[device]
        self.on_change(device, None)

    def __iter__(self) -> Iterator[Eui64]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class HanChf:
    """The Comms Hub's CHF, a :class:`~devices.api.Device` to the rig: each frame sent is
    handled by the CHF at once and its answers reach the receiver after the CHF's processing
    time (``settings.processing_time``). Its keys (``keys``: the Comms Hub's KA and DS private
    keys, the remote parties' public keys) are read at ``open``."""

    def __init__(
        self,
        name: str,
        eui: Eui64,
        log: DeviceLog,
        *,
        keys: KeyStore,
        settings: HubSettings,
        captures: Captures | None = None,
    ) -> None:
        self.name, self.eui, self.log = name, eui, log
        self.keys, self.settings, self.captures = keys, settings, captures
        self.receiver: Receiver | None = None
        self.chf: Chf | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self, loop: asyncio.AbstractEventLoop, receiver: Receiver) -> None:
        """Make the CHF (once: its state lives as long as the rig) with the Comms Hub's keys."""
        if self.chf is None:
            try:
                self.chf = Chf(
                    self.eui,
                    log=self.log,
                    ka_private=self.keys.ka_private(self.eui),
                    ds_private=self.keys.ds_private(self.eui),
                    keys=self.keys,
                    settings=self.settings,
                    wall_clock_offset=device_clock_offset(0.0),
                )
            except Exception as exc:  # a missing or malformed key file: one line
                raise LinkDown(f"{self.name}: the Comms Hub's GBCS keys: {exc}") from None
        self._loop, self.receiver = loop, receiver

    def send(self, frame: bytes) -> float:
        if self.receiver is None or self.chf is None or self._loop is None:
            raise LinkDown(f"{self.name}: not open")
        now = self._loop.time()
        if self.captures is not None:
            self.captures.gbcs(frame, now)
        for delay, answer in self.chf.handle(frame, now):
            self._loop.call_later(delay, self._answered, answer)
        return now

    def _answered(self, frame: bytes) -> None:
        if self.receiver is None or self._loop is None:
            return
        at = self._loop.time()
        if self.captures is not None:
            self.captures.gbcs(frame, at)
        self.receiver.frame_received(self, frame, at)

    async def close(self) -> None:
        """Stop answering (the log and the CHF's state stay). Safe to call twice."""
        self.receiver = None
