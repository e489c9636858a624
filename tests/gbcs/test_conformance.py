"""Conformance against the RTDS subset and the reference known answers (reference/gbcs.md §1.4,
§1.10, §2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from gbcs_testdata import ACB, ESME, SUPPLIER

from rig.gbcs import crypto
from rig.gbcs.codec import DeviceCodec, RemotePartyCodec
from rig.gbcs.codes import HAN_ONLY_CODES, MESSAGE_CODE_TABLE
from rig.gbcs.dlms import AccessResponse, Data, Tag, decode_apdu
from rig.gbcs.errors import VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, decode, verify_mac
from rig.gbcs.tree import inspect
from rig.gbcs.usecases import (
    RawPayload,
    ReadSupplyStatusEsme,
    ReadSupplyStatusEsmeResponse,
    SupplyState,
    TopUpEsme,
    TopUpEsmeResponse,
    decode_payload,
    encode_payload,
)
from rig.gbcs.utrn import UtrnError, ValueClass, make_utrn, parse_utrn, verify_utrn
from rig.keys.keystore import KeyStore

pytestmark = pytest.mark.shared

GSME = Eui64.parse("00DB1234567890A1")
#: Supplier A's raw DS private key from the GBCS §18.4 vector (§1.10.9; not in the keystore).
SUPPLIER_A_DS_PRIVATE = "3A6B2EAA0D9F25A9E455983FEB5BB947528121911BF3B76BE5661C89DBF24B26"
RESPONSE_DATE_TIME = bytes.fromhex("07DF0101FF000000008000FF")


def vector(rtds: Path, name: str) -> bytes:
    """An RTDS vector by file stem."""
    (path,) = (rtds / "vectors").glob(f"*/{name}.HEX")
    return bytes.fromhex(path.read_text().strip())


def test_kdf_known_answer(rtds_keys: KeyStore) -> None:
    key = crypto.kdf(
        rtds_keys.ka_private(ACB), rtds_keys.ka_public(ESME), SUPPLIER, 1, 0x100000000, ESME
    )
    assert key.hex().upper() == "6A93E360717394015DF93E031218C9A6"


def test_gbcs_18_4_vector(rtds_keys: KeyStore) -> None:
    """§1.10.9: signature by Supplier A's DS key and MAC by the ACB, both valid."""
    frame = bytes.fromhex(
        "DD00000000000081A91100000000DF0901000000000000000108123456789ABCDEF008FFFFFFFFFFFFFFFE"
        "000200B335D92000000100030300700000130A00FF020300700000130A01FF020300700000130A02FF0203"
        "0500000000050000000005000000004059045AB0F554622B0360340B9D87B5A23ED5723B41DE3F206E58CD"
        "D10F915B9FE2E12E2DA3632478A8DF678E418895869AC1E55318CCE04D120D2D6B44DC167B5D832D15B57A"
        "56D620F198B3"
    )
    message = decode(frame)
    s = message.signing
    supplier_a, device_a = Eui64.parse("123456789ABCDEF0"), Eui64.parse("FFFFFFFFFFFFFFFE")
    acb = Eui64.parse("ABABABABABABABAB")
    assert (s.originator, s.recipient, s.message_code) == (supplier_a, device_a, 0x00B3)
    key = crypto.kdf(
        rtds_keys.ka_private(acb), rtds_keys.ka_public(device_a), supplier_a, 1, 1, device_a
    )
    verify_mac(message, key)
    ds_private = ec.derive_private_key(int(SUPPLIER_A_DS_PRIVATE, 16), ec.SECP256R1())
    crypto.verify_signature(ds_private.public_key(), s.signed_data(), s.signature or b"")


def test_vector_decodes_canonically(vector_bytes: bytes) -> None:
    message = decode(vector_bytes)
    assert message.encode() == vector_bytes


def check_verdict(frame: bytes, keys: KeyStore) -> None:
    """Commands: ACB MAC (+ originator signature if critical), or the originator's signature alone
    (a signed command without a MAC header, e.g. CS02a's signature form); responses and alerts:
    device MAC to the recipient or device signature (§1.3). VerifyError otherwise."""
    message = decode(frame)
    s = message.signing
    if s.message_code in HAN_ONLY_CODES:
        assert inspect(frame, keys).verdicts["mac"].startswith("not checked")
        return
    if s.cra is not Cra.COMMAND:
        RemotePartyCodec(keys).open_response(frame)
        return
    if message.mac is not None or s.signature is None:
        mac_key = crypto.kdf(
            keys.ka_private(ACB),
            keys.ka_public(s.recipient),
            s.originator,
            1,
            s.counter,
            s.recipient,
        )
        verify_mac(message, mac_key)
    if s.signature is not None:
        crypto.verify_signature(keys.ds_public(s.originator), s.signed_data(), s.signature)
    if s.recipient == ESME:
        assert _esme(keys).open_command(frame) == message


def test_vector_verdict(vector_bytes: bytes, rtds_keys: KeyStore, rtds_vector: Path) -> None:
    message = decode(vector_bytes)
    s = message.signing
    kind = {Cra.COMMAND: "COMMAND", Cra.RESPONSE: "RESPONSE", Cra.ALERT: "ALERT"}[s.cra]
    assert kind in rtds_vector.name
    if "PRECOMMAND" in rtds_vector.name:
        assert message.mac is None and not s.has_signature_field
        return
    check_verdict(vector_bytes, rtds_keys)
    row = MESSAGE_CODE_TABLE[s.message_code]
    if row.critical is not None:  # Variant use cases and unnamed codes may come in either form
        assert (s.signature is not None) == row.critical, f"{row.name} is {row.type}"


@pytest.mark.authenticated_vectors  # pre-commands carry neither MAC nor signature
def test_vector_tampered_fails(vector_bytes: bytes, rtds_keys: KeyStore) -> None:
    tampered = bytearray(vector_bytes)
    tampered[-1] ^= 0x01  # the MAC, or the signature's last byte
    with pytest.raises(VerifyError):
        check_verdict(bytes(tampered), rtds_keys)


def test_vector_payload_round_trips(vector_bytes: bytes) -> None:
    s = decode(vector_bytes).signing
    typed = decode_payload(s.message_code, s.payload, s.cra)
    assert encode_payload(typed, s.counter) == s.payload


@pytest.mark.parametrize(
    ("counter", "value", "value_class", "target", "expected"),
    [
        (0x100000000, 100, ValueClass.POUNDS, ESME, "73943333457189043313"),
        (0x400000000, 1234, ValueClass.PENNIES, ESME, "73947252416745201637"),
        (0x300000000, 10, ValueClass.POUNDS, ESME, "73946144332040217315"),
        (0x500000000, 10, ValueClass.POUNDS, ESME, "73948959061972833313"),
        (0x600000000, 1250, ValueClass.PENNIES, GSME, "73950067887105178605"),
    ],
)
def test_utrn_known_answers(
    rtds_keys: KeyStore,
    counter: int,
    value: int,
    value_class: ValueClass,
    target: Eui64,
    expected: str,
) -> None:
    pp = rtds_keys.ka_private(SUPPLIER, prepayment=True)
    utrn = make_utrn(pp, rtds_keys.ka_public(target), SUPPLIER, target, counter, value, value_class)
    assert utrn == expected
    parsed = parse_utrn(utrn)
    assert (parsed.counter_bits, parsed.value_class, parsed.value) == (
        counter >> 32,
        value_class,
        value,
    )


def test_utrn_device_side_with_public_esme_key(rtds_keys: KeyStore) -> None:
    pp_public = rtds_keys.ka_public(SUPPLIER, prepayment=True)
    esme_private = rtds_keys.ka_private(ESME)
    utrn = verify_utrn("73946144332040217315", pp_public, esme_private, SUPPLIER, ESME, 0x300000000)
    assert utrn.mac32.hex().upper() == "9CD029E3"
    with pytest.raises(UtrnError, match="not for this device"):
        verify_utrn("73946144332040217315", pp_public, esme_private, SUPPLIER, ESME, 0x500000000)


def test_bogus_utrn_rejected() -> None:
    with pytest.raises(UtrnError, match="check digit"):
        parse_utrn("12345678910121314156")


def test_regenerate_cs01a_command(rtds: Path, rtds_keys: KeyStore) -> None:
    counter = 0x300000000
    pp = rtds_keys.ka_private(SUPPLIER, prepayment=True)
    utrn = make_utrn(pp, rtds_keys.ka_public(ESME), SUPPLIER, ESME, counter, 10, ValueClass.POUNDS)
    payload = encode_payload(TopUpEsme(utrn), counter)
    frame = RemotePartyCodec(rtds_keys).build_command(
        SUPPLIER, ESME, counter, TopUpEsme.MESSAGE_CODE, payload
    )
    assert frame == vector(rtds, "CS01a_2.2_SUCCESS_COMMAND_GBCS")


def test_regenerate_ecs45_command(rtds: Path, rtds_keys: KeyStore) -> None:
    payload = encode_payload(ReadSupplyStatusEsme(), 1000)
    frame = RemotePartyCodec(rtds_keys).build_command(
        SUPPLIER, ESME, 1000, ReadSupplyStatusEsme.MESSAGE_CODE, payload
    )
    assert frame == vector(rtds, "ECS45_7.4_SUCCESS_COMMAND_GBCS")


def _esme(rtds_keys: KeyStore) -> DeviceCodec:
    return DeviceCodec(ESME, ka_private=rtds_keys.ka_private(ESME), ds_private=None, keys=rtds_keys)


@pytest.mark.parametrize(
    ("name", "reply", "date_time"),
    [
        ("ECS45_7.4_SUCCESS", ReadSupplyStatusEsmeResponse(SupplyState.CONNECTED), None),
        ("ECS45_7.4_ERROR", ReadSupplyStatusEsmeResponse(None, result=1), None),
        ("CS01a_2.2_SUCCESS", TopUpEsmeResponse(0), RESPONSE_DATE_TIME),
        ("CS01a_2.2_ERROR", TopUpEsmeResponse(1), RESPONSE_DATE_TIME),
    ],
)
def test_regenerate_device_response(
    rtds: Path, rtds_keys: KeyStore, name: str, reply: object, date_time: bytes | None
) -> None:
    """The device MAC (ESME KA private x supplier KA public) is deterministic."""
    command = _esme(rtds_keys).open_command(vector(rtds, f"{name}_COMMAND_GBCS"))
    payload = encode_payload(reply, command.signing.counter)  # type: ignore[arg-type]
    frame = _esme(rtds_keys).build_response(command, payload, date_time=date_time)
    assert frame == vector(rtds, f"{name}_RESPONSE_GBCS")


def test_esme_opens_rtds_commands_and_rejects_tamper(rtds: Path, rtds_keys: KeyStore) -> None:
    frame = vector(rtds, "ECS45_7.4_SUCCESS_COMMAND_GBCS")
    assert _esme(rtds_keys).open_command(frame).signing.counter == 1000
    tampered = bytearray(frame)
    tampered[50] ^= 0x01
    with pytest.raises(VerifyError):
        _esme(rtds_keys).open_command(bytes(tampered))


def test_ecs17b_encrypted_part_decrypts(rtds: Path, rtds_keys: KeyStore) -> None:
    codec = RemotePartyCodec(rtds_keys)
    message = codec.open_response(vector(rtds, "ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS"))
    apdu = decode_apdu(message.signing.payload)
    assert isinstance(apdu, AccessResponse)
    (outer,) = apdu.data
    assert isinstance(outer.value, tuple)
    block = outer.value[-1]
    assert block.tag is Tag.OCTET_STRING and isinstance(block.value, bytes)
    plaintext = codec.decrypt_part(message, block.value)
    assert plaintext.hex().upper() == (
        "0201020406" + "0000000A" + "02020F00161E" + "06" + "0000000A" + "02020F001620"
    )
    with pytest.raises(VerifyError):
        codec.decrypt_part(message, block.value[:-1] + bytes([block.value[-1] ^ 1]))


def test_rtds_keystore_loads_every_file(rtds: Path, rtds_keys: KeyStore) -> None:
    for path in sorted((rtds / "keystore").iterdir()):
        eui = Eui64.parse(path.name[:16])
        prepayment = "-pp-" in path.name
        if path.name.endswith("-ka.key"):
            assert rtds_keys.ka_private(eui, prepayment=prepayment)
        elif path.name.endswith("-ds.key"):
            assert rtds_keys.ds_private(eui)
        elif path.name.endswith("-ka.pem"):
            assert rtds_keys.ka_public(eui, prepayment=prepayment)
        else:
            assert rtds_keys.ds_public(eui)
    # The one public device private key matches its certificate.
    assert rtds_keys.ka_private(ESME).public_key() == rtds_keys.ka_public(ESME)


def test_regenerated_alert_matches_typed_payload(rtds: Path) -> None:
    s = decode(vector(rtds, "GNCA-DLMS_NA_810E_ALERT_GBCS")).signing
    typed = decode_payload(s.message_code, s.payload, s.cra)
    assert not isinstance(typed, RawPayload)
    assert Data.long_unsigned(0x810E).encode() in s.payload
