"""The emulated devices' encrypted response parts (reference/gbcs.md §1.4): ECS17b / ECS19 from
the ESME and GCS13a / GCS14 from the GSME decrypt under ``rig decode``'s rules
(:mod:`rig.gbcs.protect`), re-encrypt byte for byte, and follow the supplementary remote party
and originator counter of a command that names them."""

from __future__ import annotations

import pytest
from firmware_parties import ESME, GSME, SUPPLIER, Supplier
from test_esme_prepayment import meter
from test_gsme import gas_meter

from rig.gbcs import dlms_usecases as dlms
from rig.gbcs import gbz_usecases as gbz_uc
from rig.gbcs import protect
from rig.gbcs.frame import Cra, GeneralSigning, decode
from rig.gbcs.tree import inspect
from rig.gbcs.usecases import encode_payload
from rig.keys.keystore import KeyStore


def _check(frame: bytes, keys: KeyStore) -> tuple[bytes, ...]:
    report = inspect(frame, keys)
    assert report.verdicts["mac"] == "valid"
    assert report.verdicts["decryption"] == "valid"
    s = decode(frame).signing
    results = protect.decrypt_parts(s, keys)
    plaintexts = tuple(r.plaintext for r in results if r.plaintext is not None)
    assert len(plaintexts) == len(results) >= 1
    assert protect.reencrypt(s, plaintexts, keys) == s.payload
    return plaintexts


@pytest.mark.parametrize("read", [dlms.ReadImportRegistersEsme, dlms.ReadPrepaymentRegistersEsme])
def test_esme_protected_reads(pki: KeyStore, supplier: Supplier, read: type) -> None:
    esme = meter(pki, prepayment=False)
    esme.tick(0.0)
    counter = supplier.next_counter()
    body = read(dlms.ProtectionParameters(counter, SUPPLIER, ESME))
    [(_, frame)] = esme.handle(supplier.command(ESME, body, read.MESSAGE_CODE, counter=counter), 1)
    _check(frame, pki)


@pytest.mark.parametrize("read", [gbz_uc.ReadGsmeConsumption, gbz_uc.ReadGsmePrepaymentRegisters])
def test_gsme_encrypted_components(pki: KeyStore, supplier: Supplier, read: type) -> None:
    gsme = gas_meter(pki, prepayment=True)
    [(_, frame)] = gsme.handle(supplier.command(GSME, read(), read.MESSAGE_CODE), 0.0)
    _check(frame, pki)


def test_supplementary_party_and_counter_key_the_part(pki: KeyStore, supplier: Supplier) -> None:
    """A command naming a supplementary remote party and originator counter (the URP form of
    RTDS ECS21b): the response carries them and its part is keyed by them."""
    esme = meter(pki, prepayment=False)
    esme.tick(0.0)
    counter = supplier.next_counter()
    read = dlms.ReadImportRegistersEsme(dlms.ProtectionParameters(counter, SUPPLIER, ESME))
    command = GeneralSigning(
        Cra.COMMAND,
        counter,
        SUPPLIER,
        ESME,
        read.MESSAGE_CODE,
        encode_payload(read, counter),
        supplementary_remote_party_id=SUPPLIER,
        supplementary_remote_party_counter=counter,
        supplementary_originator_counter=counter + 7,
    )
    [(_, frame)] = esme.handle(supplier.codec.seal_command(command), 1)
    assert decode(frame).signing.supplementary_originator_counter == counter + 7
    _check(frame, pki)
