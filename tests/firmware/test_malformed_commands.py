"""An authentic command whose payload is malformed is refused, never an exception out of a stub's
``handle`` (issue 13; firmware_stubs/device.py check 3; reference/gbcs.md §1.3-1.4).

The reproducer is the RTDS ECS01a tariff pre-command with one bit flipped (a scaler ``0F FB``
becomes ``0D FB``), signed by the supplier and MAC'd by the ACB with the real RTDS keys, so it
passes every check but the payload's.
"""

from __future__ import annotations

import pytest
from firmware_parties import ACB, CHF, ESME, GSME, PPMID, SAPC, SUPPLIER, Supplier
from shared_dir import SHARED_DIR, require_shared
from test_comms_hub import premises, read_esme, read_gsme

from firmware_stubs.esme import Esme, EsmeSettings
from firmware_stubs.gsme import Gsme
from rig.gbcs import gbt, usecases
from rig.gbcs.codec import RemotePartyCodec, sign_precommand
from rig.gbcs.codes import CRITICAL_CODES
from rig.gbcs.errors import DecodeError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import decode
from rig.keys.keystore import KeyStore

RTDS_ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
TARIFF = "1.1.1_ECS01a/ECS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_PRECOMMAND_GBCS.HEX"
WALL = 1.7e9


def flipped_tariff() -> bytes:
    """The ECS01a pre-command with byte 591 ``^= 0x02`` (scaler ``0F FB`` -> ``0D FB``)."""
    path = require_shared(SHARED_DIR / "gbcs-rtds" / "vectors" / TARIFF)
    frame = bytearray.fromhex(path.read_text().strip())
    assert frame[591:593] == b"\x0f\xfb"  # A-XDR integer -5: the price scaler
    frame[591] ^= 0x02
    return bytes(frame)


def test_the_rtds_esme_refuses_a_signed_macd_tariff_with_a_bad_scaler() -> None:
    keystore = require_shared(SHARED_DIR / "gbcs-rtds" / "keystore")
    keys = KeyStore([keystore])
    precommand = flipped_tariff()
    signing = decode(precommand).signing
    with pytest.raises(DecodeError, match="251 does not fit in INTEGER"):
        usecases.decode_payload(signing.message_code, signing.payload, signing.cra)
    signed = sign_precommand(precommand, keys.ds_private(signing.originator))
    frame = RemotePartyCodec(keys).send_signed_precommand(signed)
    esme = Esme(
        RTDS_ESME,
        ka_private=keys.ka_private(RTDS_ESME),
        ds_private=None,  # RTDS gives no DS key for its ESME
        keys=keys,
        settings=EsmeSettings(),
        wall_clock_offset=WALL,
    )
    assert esme.handle(frame, 10.0) == []
    assert "payload offset" in esme.events[-1] and "discarded" in esme.events[-1]
    assert esme.state.last_command_counter[signing.originator] == signing.counter


def _malformed(supplier: Supplier, target: Eui64, code: int, payload: bytes) -> bytes:
    """A command carrying ``payload`` as is, MAC'd by the ACB (signed when critical)."""
    counter = supplier.next_counter()
    originator = ACB if target == CHF else SUPPLIER
    build = (
        supplier.codec.build_critical_command
        if code in CRITICAL_CODES
        else supplier.codec.build_command
    )
    return build(originator, target, counter, code, payload)


def _payloads() -> list[tuple[int, bytes]]:
    """(message code, malformed payload): the flipped tariff and truncated typed payloads."""
    tariff = decode(flipped_tariff()).signing
    ecs45 = usecases.encode_payload(usecases.ReadSupplyStatusEsme(), 1)
    top_up = usecases.encode_payload(usecases.TopUpGsme("1" * 20), 1)
    return [(tariff.message_code, tariff.payload), (0x0052, ecs45[:-3]), (0x0097, top_up[:9])]


@pytest.mark.parametrize("target", [ESME, GSME, CHF, PPMID, SAPC], ids=str)
def test_every_stub_of_a_premises_refuses_malformed_payloads(
    pki: KeyStore, supplier: Supplier, target: Eui64
) -> None:
    site = premises(pki)
    now = 1.0
    for code, payload in _payloads():
        site.handle(_malformed(supplier, target, code, payload), now)  # never raises
        now += 20.0
    assert site.handle(read_esme(supplier), now)  # the premises still answers
    assert site.handle(read_gsme(supplier), now)


@pytest.mark.parametrize("kind", [Esme, Gsme], ids=lambda k: k.__name__)
def test_a_standalone_meter_notes_the_refusal_and_keeps_answering(
    pki: KeyStore, supplier: Supplier, kind: type[Esme] | type[Gsme]
) -> None:
    eui = ESME if kind is Esme else GSME
    meter = kind.from_keys(eui, pki, wall_clock_offset=WALL)
    for code, payload in _payloads():
        assert meter.handle(_malformed(supplier, eui, code, payload), 1.0) == []
        assert "discarded: payload offset" in meter.events[-1]
    read = read_esme(supplier) if kind is Esme else read_gsme(supplier)
    assert len(meter.handle(read, 2.0)) == 1


def test_the_hub_keeps_a_bounded_number_of_unfinished_gbt_messages(
    pki: KeyStore, supplier: Supplier
) -> None:
    """First blocks of messages never finished do not pile up: past ``max_reassemblies`` the
    oldest is dropped (and noted); the newest still completes."""
    site = premises(pki, max_reassemblies=3)
    messages = [gbt.segment(read_esme(supplier), 50) for _ in range(5)]
    for blocks in messages:
        assert site.handle(blocks[0], 1.0) == []
    dropped = [e for e in site.hub.chf.events if "unfinished, too many at once" in e]
    assert len(dropped) == 2 and site.hub.stats.discarded == 2
    for block in messages[0][1:]:  # the oldest was dropped: its message never completes
        assert site.handle(block, 2.0) == []
    answers = [out for block in messages[-1][1:] for out in site.handle(block, 3.0)]
    assert len(answers) == 1
