"""Crypto primitives and EUI-64 parsing (reference/gbcs.md §1.4, §1.5)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from rig.gbcs import crypto, eui
from rig.gbcs.errors import DecodeError, VerifyError
from rig.gbcs.eui import Eui64

ORIGINATOR = Eui64.parse("00DB1234567890A0")
P256 = ec.generate_private_key(ec.SECP256R1())


@given(st.binary(max_size=200))
def test_sign_verify(data: bytes) -> None:
    signature = crypto.sign(P256, data)
    assert len(signature) == 64
    crypto.verify_signature(P256.public_key(), data, signature)
    with pytest.raises(VerifyError):
        crypto.verify_signature(P256.public_key(), data + b"x", signature)


def test_signature_length_checked() -> None:
    with pytest.raises(VerifyError, match="63 bytes"):
        crypto.verify_signature(P256.public_key(), b"", bytes(63))


@given(st.binary(max_size=200))
def test_encrypt_decrypt_part(plaintext: bytes) -> None:
    key = bytes(range(16))
    block = crypto.encrypt_part(key, ORIGINATOR, plaintext)
    assert len(block) == 5 + len(plaintext) + 12
    assert crypto.decrypt_part(key, ORIGINATOR, block) == plaintext
    with pytest.raises(VerifyError):
        crypto.decrypt_part(bytes(16), ORIGINATOR, block)


@pytest.mark.parametrize("block", [b"", bytes.fromhex("3000000000") + bytes(12)])
def test_malformed_encrypted_part(block: bytes) -> None:
    with pytest.raises(DecodeError):
        crypto.decrypt_part(bytes(16), ORIGINATOR, block)


def test_kdf_is_symmetric_and_checks_inputs() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    args = (ORIGINATOR, 2, 7, ORIGINATOR)
    assert crypto.kdf(P256, other.public_key(), *args) == crypto.kdf(
        other, P256.public_key(), *args
    )
    with pytest.raises(ValueError, match="CRA"):
        crypto.kdf(P256, other.public_key(), ORIGINATOR, 5, 7, ORIGINATOR)
    with pytest.raises(ValueError, match="64 bits"):
        crypto.kdf(P256, other.public_key(), ORIGINATOR, 1, 1 << 64, ORIGINATOR)
    wrong_curve = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(ValueError, match="P-256"):
        crypto.kdf(P256, wrong_curve, *args)


@pytest.mark.parametrize(
    "text",
    ["90-B3-D5-1F-30-01-00-00", "90B3D51F30010000", "90b3d51f30010000", "90-b3-d5-1f-30-01-00-00"],
)
def test_eui_parse_forms(text: str) -> None:
    eui = Eui64.parse(text)
    assert str(eui) == "90-B3-D5-1F-30-01-00-00"
    assert eui.hex == "90b3d51f30010000"
    assert eui.raw == bytes.fromhex("90B3D51F30010000")


@pytest.mark.parametrize(
    "text", ["", "90B3D51F3001000", "90-B3D51F30010000", "90B3D51F3001000G", "90B3D51F30010000\n"]
)
def test_eui_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not an EUI-64"):
        Eui64.parse(text)


def test_eui_value_semantics() -> None:
    a, b = Eui64.parse("00DB1234567890A0"), Eui64.parse("90B3D51F30010000")
    assert a < b and sorted([b, a]) == [a, b]
    assert {a, Eui64.parse("00-db-12-34-56-78-90-a0")} == {a}
    with pytest.raises(ValueError):
        Eui64(b"short")


def test_eui_of_shares_instances_and_stays_bounded() -> None:
    raw = bytes.fromhex("00DB1234567890A0")
    assert Eui64.of(raw) is Eui64.of(bytes(raw)) and Eui64.of(raw) == Eui64(raw)
    for n in range(3000):
        Eui64.of(n.to_bytes(8, "big"))
    assert len(eui._interned) <= eui._INTERNED_MAX
    with pytest.raises(ValueError):
        Eui64.of(b"short")
