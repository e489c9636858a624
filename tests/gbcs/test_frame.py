"""Frame structure: round trips, precise decode errors, fuzzing (reference/gbcs.md §1.1-1.3)."""

from __future__ import annotations

import dataclasses

import pytest
from gbcs_strategies import general_signings
from hypothesis import given, settings
from hypothesis import strategies as st

from rig.gbcs import crypto
from rig.gbcs.errors import DecodeError, VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import (
    Cra,
    GeneralSigning,
    Message,
    apdu_mac,
    check_apdu_mac,
    decode,
    encode_apdu,
    encode_mac_frame,
    encode_signed,
    mac_frame,
    signed_apdu,
    verify_mac,
)

KEY = bytes(range(16))
#: The ECS45 command of reference/gbcs.md §1.2.
ECS45 = bytes.fromhex(
    "DD000000000000471100000000DF090100000000000003E80890B3D51F300100000800DB1234567890A0000200"
    "5213D9200003E80001010046000060030AFF0301000052E8965230E91EE41782CE42"
)

#: Offset of the content length in the bare APDU ``ECS45[13:-12]``.
CONTENT_LENGTH = 33


@given(general_signings())
def test_signed_round_trip(signing: GeneralSigning) -> None:
    assert decode(encode_signed(signing)) == Message(signing, None)


@given(general_signings())
def test_mac_frame_round_trip(signing: GeneralSigning) -> None:
    frame = encode_mac_frame(signing, KEY)
    message = decode(frame)
    assert message.signing == signing and message.encode() == frame
    verify_mac(message, KEY)
    with pytest.raises(VerifyError):
        verify_mac(message, bytes(16))


def test_ecs45_fields() -> None:
    s = decode(ECS45).signing
    assert (s.cra, s.counter, s.message_code) == (Cra.COMMAND, 1000, 0x0052)
    assert s.originator == Eui64.parse("90B3D51F30010000")
    assert s.recipient == Eui64.parse("00DB1234567890A0")
    assert s.transaction_id.hex() == "0100000000000003e8"
    assert s.signed_data() == ECS45[14:66]


def _edit(offset: int, value: int, frame: bytes = ECS45) -> bytes:
    return frame[:offset] + bytes([value]) + frame[offset + 1 :]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (_edit(14, 7), "offset 14: transaction-id length 7, expected 9"),
        (_edit(15, 4), "offset 15: CRA flag 0x04, expected 01, 02 or 03"),
        (_edit(24, 7), "offset 24: originator system title length 7, expected 8"),
        (_edit(42, 5), "offset 42: date-time length 5, expected 0 or 12"),
        (_edit(43, 3), "offset 43: other-information length 3, expected 2, 10, 18, 26+"),
        (_edit(8, 0x10), "offset 8: security control byte 0x10, expected 0x11"),
        (
            _edit(1, 9),
            "offset 1: a GBT block, not a frame: decode it with rig.gbcs.gbt.decode_block",
        ),
        (
            b"\xe0\x80\x00\x01\x00\x00",
            "offset 0: a bare GBT APDU; blocks travel behind a routing header (DD 09)",
        ),
        (_edit(0, 0x42), "offset 0: frame tag 0x42, expected DD or DF"),
        (_edit(7, 0x48), "offset 7: ciphered-content length 72, only 71 bytes left"),
        (ECS45[:-1], "offset 7: ciphered-content length 71, only 70 bytes left"),
        (b"", "offset 0: input ends where frame tag was expected"),
        (ECS45 + b"\x00", "offset 7: ciphered-content length 71, but 72 bytes follow"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_decode_error_names_offset(frame: bytes, message: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(frame)
    assert str(caught.value) == message
    assert caught.value.offset == int(message.split(":")[0].removeprefix("offset "))


def test_signature_length_must_be_0_or_64() -> None:
    apdu = ECS45[13:-12]
    with pytest.raises(DecodeError, match="signature length 3, expected 0 or 64"):
        decode(apdu[:-1] + b"\x03abc")


def test_trailing_bytes_rejected() -> None:
    with pytest.raises(DecodeError, match="unexpected bytes"):
        decode(ECS45[13:-12] + b"\x00")


def test_non_minimal_length_rejected() -> None:
    apdu = ECS45[13:-12]
    stretched = apdu[:CONTENT_LENGTH] + b"\x81" + apdu[CONTENT_LENGTH:]  # 0x13 as 81 13
    with pytest.raises(DecodeError, match="not minimally encoded"):
        decode(stretched)


@pytest.mark.parametrize(
    "length", [b"\x84\xff\xff\xff\xff", b"\x83\xff\xff\xff", b"\x85" + bytes(5)]
)
def test_huge_length_fails_fast(length: bytes) -> None:
    apdu = ECS45[13:-12]
    with pytest.raises(DecodeError):
        decode(apdu[:CONTENT_LENGTH] + length + apdu[CONTENT_LENGTH + 1 :])


def test_precommand_has_no_signature_field() -> None:
    signing = decode(ECS45).signing
    precommand = dataclasses.replace(signing, has_signature_field=False)
    assert encode_signed(precommand) == ECS45[13:-13]
    assert decode(ECS45[13:-13]).signing == precommand
    assert precommand.with_signature(bytes(64)).encode().endswith(b"\x40" + bytes(64))


@pytest.mark.parametrize(
    "changes",
    [
        {"counter": 1 << 64},
        {"message_code": 0x10000},
        {"date_time": b"short"},
        {"signature": bytes(63)},
        {"supplementary_remote_party_counter": 5},
        {"supplementary_remote_party_id": Eui64(bytes(8)), "supplementary_originator_counter": 1},
        {"signature": bytes(64), "has_signature_field": False},
        {"cra": 4},
    ],
)
def test_invalid_fields_rejected(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(decode(ECS45).signing, **changes)  # type: ignore[arg-type]


def _decode_or_error(data: bytes) -> None:
    try:
        message = decode(data)
    except DecodeError:
        return
    assert message.encode() == data


@given(st.binary(max_size=400))
def test_fuzz_binary(data: bytes) -> None:
    _decode_or_error(data)


@settings(max_examples=300)
@given(st.sampled_from([b"\xdd\x00\x00\x00\x00\x00\x00", b"\xdf\x09", b"\xdf"]), st.binary())
def test_fuzz_with_plausible_prefix(prefix: bytes, rest: bytes) -> None:
    _decode_or_error(prefix + rest)


def test_non_bytes_input_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        decode("DD00")  # type: ignore[arg-type]


def test_a_long_form_length_byte_alone_is_not_read_as_a_short_length() -> None:
    """Found by the RTDS mutation test: 0xA1 where a length goes, with exactly 0xA1 bytes after
    it, once decoded on the fast path and re-encoded differently (0x81 0xA1)."""
    body = bytes([0x11, 0, 0, 0, 0]) + bytes(0xA1 - 5)
    with pytest.raises(DecodeError):
        decode(bytes([0xDD, 0, 0, 0, 0, 0, 0, 0xA1]) + body)


@given(general_signings(), st.binary(min_size=32, max_size=32))
def test_apdu_mac_reads_the_kdf_fields_from_the_apdu(signing: GeneralSigning, z: bytes) -> None:
    """The hot path's MAC (KDF OtherInfo sliced from the APDU) equals the one built from the
    field values (§1.4), and check_apdu_mac accepts it and nothing else."""
    apdu = signing.encode()
    key = crypto.kdf_from_secret(
        z, signing.originator, signing.cra, signing.counter, signing.recipient
    )
    mac = crypto.gmac(key, signing.originator, apdu)
    assert apdu_mac(crypto.kdf_prefix(z), apdu) == mac
    assert mac_frame(apdu, crypto.kdf_prefix(z)) == encode_mac_frame(signing, key)
    check_apdu_mac(crypto.kdf_prefix(z), apdu, mac)
    with pytest.raises(VerifyError, match=f"originator {signing.originator}"):
        check_apdu_mac(crypto.kdf_prefix(z), apdu, bytes(12))


@pytest.mark.parametrize(
    ("cra", "counter", "code", "reason"),
    [
        (Cra.COMMAND, 1 << 64, 0, "originator counter"),
        (Cra.COMMAND, -1, 0, "originator counter"),
        (Cra.COMMAND, 0, 0x10000, "message code"),
        (4, 0, 0, "CRA flag 4"),
    ],
)
def test_encode_apdu_rejects_out_of_range(cra: int, counter: int, code: int, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        encode_apdu(cra, counter, Eui64(bytes(8)), Eui64(bytes(8)), code, b"")  # type: ignore[arg-type]


def test_signed_apdu_is_the_signed_form() -> None:
    signing = decode(ECS45).signing
    signature = bytes(range(64))
    assert (
        signed_apdu(signing.signed_data(), signature) == signing.with_signature(signature).encode()
    )
    with pytest.raises(ValueError, match="64 bytes"):
        signed_apdu(signing.signed_data(), bytes(3))
