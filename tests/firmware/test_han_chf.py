"""The rig as the HAN's Comms Hub answers SRV 8.11's use cases with the CHF state machine
(devices/han/chf.py) under the Comms Hub's keys, and the device log it keeps is the trust
center's: CCS01 and CCS02 reach the coordinator live and the results (``device-log`` records)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from firmware_parties import ACB, CHF, ESME, GSME, Supplier

from devices.api import Device, LinkDown
from devices.han.chf import DeviceLog, HanChf
from devices.han.hub import HanHub, HanMeterConfig
from firmware_stubs.comms_hub import HanLogEntry, HubSettings
from rig.clock import VirtualClock
from rig.config.han import HanConfig
from rig.gbcs import dlms_usecases as dlms
from rig.gbcs.cosem.payload import CosemAccess, DlmsRequest
from rig.gbcs.cosem.schema import Obis
from rig.gbcs.dlms import AccessKind, AccessSpec
from rig.gbcs.eui import Eui64
from rig.keys.keystore import KeyStore
from rig.zigbee.coordinator import Coordinator
from rig.zigbee.mmo import with_crc

ESME_CODE = with_crc(bytes(range(16)))
GSME_CODE = bytes(range(16, 32))
HAN = HanConfig(
    emulated=True,
    port=None,
    baudrate=0,
    eui=CHF,
    channel=15,
    pan_id=0x4742,
    extended_pan_id=CHF.raw,
    network_key=bytes(range(16)),
)


class Heard:
    """A receiver that keeps what the device answered."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def frame_received(self, device: Device, frame: bytes, at: float) -> None:
        self.frames.append(frame)

    def link_lost(self, device: Device, reason: str) -> None:
        raise AssertionError(reason)


class _Radio:
    def transmit(self, mac_frame: bytes) -> None: ...

    def add_pending(self, address: int | bytes) -> None: ...

    def clear_pending(self, address: int | bytes) -> None: ...


async def _no_radio() -> str:
    raise AssertionError("the CHF answers without the radio")


def hub_with_chf(tmp_path: Path, keys: KeyStore) -> tuple[HanHub, HanChf, list[dict[str, Any]]]:
    meters = [
        HanMeterConfig("esme", ESME, ESME_CODE),
        HanMeterConfig("gsme", GSME, with_crc(GSME_CODE), on_log=False),
    ]
    hub = HanHub(
        HAN,
        meters,
        run_dir=tmp_path,
        start_radio=_no_radio,
        credentials=lambda: None,  # type: ignore[arg-type,return-value]
        counters=tmp_path / "counters.json",
    )
    notes: list[dict[str, Any]] = []
    hub.note = notes.append
    hub.coordinator = Coordinator(
        CHF.raw,
        VirtualClock(),
        _Radio(),
        pan_id=HAN.pan_id,
        extended_pan_id=HAN.extended_pan_id,
        network_key=HAN.network_key,
        device_log=hub.log.codes(),
    )
    chf = HanChf("hub", CHF, hub.log, keys=keys, settings=HubSettings(processing_time=0.001))
    return hub, chf, notes


async def _exchange(chf: HanChf, heard: Heard, frame: bytes) -> bytes:
    before = len(heard.frames)
    chf.send(frame)
    for _ in range(200):
        await asyncio.sleep(0.005)
        if len(heard.frames) > before:
            return heard.frames[-1]
    raise AssertionError("the CHF did not answer")


def _read_log(supplier: Supplier) -> bytes:
    """CCS06: the CHF's active devices (the device log)."""
    spec = AccessSpec(AccessKind.GET, 104, Obis.parse("0-0:30.3.0.255").raw, 4)
    return supplier.command(CHF, DlmsRequest(0x010F, (CosemAccess(spec),)), 0x010F, originator=ACB)


def _listed(supplier: Supplier, frame: bytes) -> list[bytes]:
    signing, body = supplier.open(frame)
    assert signing.originator == CHF  # answered under the Comms Hub's own keys
    return [entry.value[0].value for entry in body.results[0].to_data().value]  # type: ignore[attr-defined]


def test_srv_8_11_through_the_rigs_chf_changes_the_trust_centers_log(
    tmp_path: Path, pki: KeyStore, supplier: Supplier
) -> None:
    hub, chf, notes = hub_with_chf(tmp_path, pki)
    coordinator = hub.coordinator
    assert coordinator is not None
    assert coordinator.device_log == {ESME.raw: ESME_CODE}  # the bench's, GSME off the log

    async def run() -> None:
        heard = Heard()
        await chf.open(asyncio.get_running_loop(), heard)
        assert _listed(supplier, await _exchange(chf, heard, _read_log(supplier))) == [ESME.raw]
        add = supplier.command(CHF, dlms.AddHanDevice(GSME, GSME_CODE), 1, originator=ACB)
        _, body = supplier.open(await _exchange(chf, heard, add))
        assert all(r.result == 0 for r in body.results)  # type: ignore[attr-defined]
        remove = supplier.command(CHF, dlms.RemoveHanDevice(ESME), 2, originator=ACB)
        _, body = supplier.open(await _exchange(chf, heard, remove))
        assert body.result == 0  # type: ignore[attr-defined]
        assert _listed(supplier, await _exchange(chf, heard, _read_log(supplier))) == [GSME.raw]
        await chf.close()
        with pytest.raises(LinkDown):
            chf.send(add)

    asyncio.run(run())
    # The CRC the trust center needs is the Comms Hub's to append (ZigBee SE 1.2a §5.4.8).
    assert coordinator.device_log == {GSME.raw: with_crc(GSME_CODE)}
    assert [(n["event"], n["device"]) for n in notes] == [
        ("device-log", "gsme"),
        ("device-log", "esme"),
    ]
    assert (
        "(CCS01)" in notes[0]["detail"] and with_crc(GSME_CODE).hex().upper() in notes[0]["detail"]
    )
    assert "removed from the device log (CCS02)" in notes[1]["detail"]
    assert "device log link key gsme" not in hub.keys  # the bench's code: the same link key


def test_a_short_install_code_is_refused_and_the_log_is_unchanged(
    tmp_path: Path, pki: KeyStore, supplier: Supplier
) -> None:
    """Seed 002: a SMETS2 Comms Hub refuses an install code that is not 16 bytes."""
    hub, chf, notes = hub_with_chf(tmp_path, pki)

    async def run() -> object:
        heard = Heard()
        await chf.open(asyncio.get_running_loop(), heard)
        add = supplier.command(CHF, dlms.AddHanDevice(GSME, bytes(8)), 1, originator=ACB)
        return supplier.open(await _exchange(chf, heard, add))[1]

    assert asyncio.run(run()) == dlms.INSTALL_CODE_REJECTED
    assert GSME not in hub.log and not notes


def test_the_chf_without_its_keys_fails_to_open_in_one_line(tmp_path: Path) -> None:
    chf = HanChf("hub", CHF, DeviceLog(), keys=KeyStore([tmp_path]), settings=HubSettings())

    async def run() -> None:
        await chf.open(asyncio.get_running_loop(), Heard())

    with pytest.raises(LinkDown, match=r"^hub: the Comms Hub's GBCS keys: ") as caught:
        asyncio.run(run())
    assert "\n" not in str(caught.value)


def test_the_log_tells_each_change_once() -> None:
    changes: list[tuple[Eui64, HanLogEntry | None]] = []
    log = DeviceLog.with_crcs([(ESME, ESME_CODE)])
    log.on_change = lambda device, entry: changes.append((device, entry))
    assert log.codes() == {ESME.raw: ESME_CODE} and log[ESME].install_code == bytes(range(16))
    log[ESME] = HanLogEntry(ESME, bytes(range(16)))  # the same entry: no change
    log[GSME] = entry = HanLogEntry(GSME, GSME_CODE)
    log.pop(ESME)
    assert changes == [(GSME, entry), (ESME, None)]
    assert list(log) == [GSME] and len(log) == 1
