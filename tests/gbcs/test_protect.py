"""Encrypted payload parts (reference/gbcs.md §1.4, :mod:`rig.gbcs.protect`): every part of the
shared RTDS vectors is found from the payload's structure, decrypts under the shared key store
and re-encrypts byte for byte; tampering, missing keys and malformed blocks give verdicts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from gbcs_testdata import ESME, SUPPLIER, VECTORS
from hypothesis import given
from hypothesis import strategies as st

from rig.gbcs import protect
from rig.gbcs.errors import VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning, Message, decode
from rig.gbcs.tree import inspect
from rig.keys.keystore import KeyStore

pytestmark = pytest.mark.shared

#: Messages of the shared RTDS whose payload holds an encrypted part, by use case (27 parts in
#: 27 messages): the 12 the rig decrypted before issue 17, and ECS17d/e, ECS20b/c, ECS21a/b,
#: ECS66, GCS17, GCS18 and the GBZ alert GCS53 that it did not.
EXPECTED = {
    "ECS17b": 2, "ECS17d": 2, "ECS17e": 1, "ECS19": 1, "ECS20b": 2, "ECS20c": 2, "ECS21a": 2,
    "ECS21b": 2, "ECS66": 1, "ECS68": 2, "GCS13a": 4, "GCS14": 3, "GCS17": 1, "GCS18": 1,
    "GCS53": 1,
}  # fmt: skip


def _message(path: Path) -> Message:
    return decode(bytes.fromhex(path.read_text().strip()))


def test_every_encrypted_part_decrypts_and_reencrypts_byte_for_byte(
    rtds: Path, rtds_keys: KeyStore
) -> None:
    found: dict[str, int] = {}
    for path in VECTORS:
        message = _message(path)
        results = protect.decrypt_message(message, rtds_keys)
        if not results:
            assert b"\x31\x00\x00\x00\x00" not in message.signing.payload, path.name
            continue
        found[path.name.split("_")[0]] = found.get(path.name.split("_")[0], 0) + 1
        assert [r.verdict for r in results] == ["valid"] * len(results), path.name
        plaintexts = tuple(r.plaintext for r in results if r.plaintext is not None)
        assert protect.reencrypt(message.signing, plaintexts, rtds_keys) == message.signing.payload
    assert found == EXPECTED


def test_ecs17b_plaintext_is_the_reference_one(rtds: Path, rtds_keys: KeyStore) -> None:
    (path,) = (rtds / "vectors").glob("*/ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX")
    (result,) = protect.decrypt_message(bytes.fromhex(path.read_text()), rtds_keys)
    assert result.plaintext == bytes.fromhex("02010204060000000A02020F00161E060000000A02020F001620")


def test_urp_part_is_keyed_by_the_supplementary_party_not_the_protection_parameters(
    rtds: Path, rtds_keys: KeyStore
) -> None:
    """ECS21b to an unknown remote party: the header names the supplier and counter 2002 in the
    supplementary fields; the DLMS parameters name the ACB and 1302. Only the first keys it."""
    (path,) = (rtds / "vectors").glob("*/ECS21b_4.14_URP_SUCCESS_RESPONSE_GBCS.HEX")
    s = _message(path).signing
    assert protect.remote_party(s) == Eui64.parse("90-B3-D5-1F-30-01-00-00")
    assert protect.part_counter(s) == 2002 != s.counter
    (part,) = protect.find_parts(s)
    protection_keyed = GeneralSigning(
        s.cra, s.counter, s.originator, s.recipient, s.message_code, s.payload
    )
    with pytest.raises(VerifyError):
        protect.decrypt_part(protection_keyed, part.block, rtds_keys)
    assert protect.decrypt_part(s, part.block, rtds_keys)


@pytest.mark.parametrize("name", ["GCS53_NA_8F0A_ALERT", "ECS66_4.17_SUCCESS_RESPONSE"])
def test_a_flipped_ciphertext_bit_is_invalid(rtds: Path, rtds_keys: KeyStore, name: str) -> None:
    (path,) = (rtds / "vectors").glob(f"*/{name}_GBCS.HEX")
    message = _message(path)
    (part,) = protect.find_parts(message.signing)
    payload = bytearray(message.signing.payload)
    payload[part.offset + 7] ^= 0x01
    s = message.signing
    tampered = GeneralSigning(
        s.cra, s.counter, s.originator, s.recipient, s.message_code, bytes(payload), s.date_time
    )
    (result,) = protect.decrypt_parts(tampered, rtds_keys)
    assert result.verdict == "INVALID" and result.plaintext is None
    assert protect.overall_verdict((result,)) == "INVALID"


def test_without_either_private_key_the_verdict_names_both(rtds: Path, tmp_path: Path) -> None:
    (path,) = (rtds / "vectors").glob("*/GCS18_4.10_SUCCESS_RESPONSE_GBCS.HEX")
    (result,) = protect.decrypt_message(bytes.fromhex(path.read_text()), KeyStore([tmp_path]))
    assert result.verdict == (
        "not checked (key not available: needs the KA private key of 90-B3-D5-1F-30-01-00-00"
        " or 00-DB-12-34-56-78-90-A1)"
    )
    report = inspect(bytes.fromhex(path.read_text()), KeyStore([tmp_path]))
    assert report.verdicts["decryption"] == result.verdict


def test_the_tree_shows_every_part_decrypted(rtds: Path, rtds_keys: KeyStore) -> None:
    for name in ("GCS53_NA_8F0A_ALERT", "ECS21b_4.14_URP_SUCCESS_RESPONSE"):
        (path,) = (rtds / "vectors").glob(f"*/{name}_GBCS.HEX")
        report = inspect(bytes.fromhex(path.read_text()), rtds_keys)
        assert report.verdicts["decryption"] == "valid"
        assert "decryption: decrypted" in report.render()


@dataclass(frozen=True)
class _Sized:
    size: int


def test_registered_plaintext_type_is_shown(rtds: Path, rtds_keys: KeyStore) -> None:
    """The hook for typed decoders: a registered decoder's object appears in the tree."""
    (path,) = (rtds / "vectors").glob("*/ECS66_4.17_SUCCESS_RESPONSE_GBCS.HEX")
    code = _message(path).signing.message_code
    previous = protect.plaintext_decoder(code)
    protect.register_plaintext(code, lambda part, plaintext: _Sized(len(plaintext)))
    try:
        text = inspect(bytes.fromhex(path.read_text()), rtds_keys).render()
    finally:
        protect._PLAINTEXT_TYPES.pop(code)
        if previous is not None:
            protect.register_plaintext(code, previous)
    assert "typed: _Sized" in text and "size: 40 (0x28)" in text


@given(st.binary(max_size=64))
def test_encrypt_then_decrypt_round_trips(bench_keys: KeyStore, plaintext: bytes) -> None:
    s = GeneralSigning(Cra.RESPONSE, 7, ESME, SUPPLIER, 0x0027, b"")
    block = protect.encrypt_part(s, plaintext, bench_keys)
    assert block.startswith(b"\x31\x00\x00\x00\x00")
    assert protect.decrypt_part(s, block, bench_keys) == plaintext


def test_find_parts_ignores_malformed_payloads() -> None:
    for payload in (b"\x01\x09\x01\x8f", b"\xda\x20", b"\x01\x09\x05\x8f\x0a\x00", b""):
        for cra in (Cra.RESPONSE, Cra.ALERT):
            assert protect.find_parts(GeneralSigning(cra, 1, ESME, SUPPLIER, 1, payload)) == ()
