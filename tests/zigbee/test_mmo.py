"""AES-MMO and install codes (ZigBee spec Annex B.6; the known answer is issue 15's)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rig.zigbee.mmo import InstallCodeError, _pad, hmac_mmo, link_key, mmo_hash, with_crc

INSTALL_CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")


def test_install_code_known_answer() -> None:
    assert link_key(INSTALL_CODE).hex().upper() == "66B6900981E1EE3CA4206B6B861C02BB"
    assert with_crc(INSTALL_CODE[:-2]) == INSTALL_CODE


def test_a_wrong_crc_or_length_is_refused_with_the_reason() -> None:
    with pytest.raises(InstallCodeError, match="CRC B5C3 does not match"):
        link_key(INSTALL_CODE[:-2] + bytes.fromhex("B5C3"))
    with pytest.raises(InstallCodeError, match="6, 8, 12 or 16 bytes, not 10"):
        link_key(bytes(12))


@given(st.binary(max_size=300))
def test_padding_is_whole_blocks_ending_in_the_bit_length(message: bytes) -> None:
    padded = _pad(message)
    assert len(padded) % 16 == 0 and padded.startswith(message + b"\x80")
    assert int.from_bytes(padded[-2:], "big") == len(message) * 8
    assert len(padded) - len(message) <= 18


def test_long_messages_use_the_32_bit_length_form() -> None:
    message = bytes(8192)  # 2^16 bits
    padded = _pad(message)
    assert len(padded) % 16 == 0 and padded[-2:] == bytes(2)
    assert int.from_bytes(padded[-6:-2], "big") == 1 << 16
    assert len(mmo_hash(message)) == 16


def test_hmac_mmo_zigbee_annex_c61_vectors() -> None:
    """ZigBee specification Annex C.6.1 (keyed hash test vector sets 1 and 2): a 16-byte key and
    one byte; a 32-byte key (hashed first) and 16 bytes."""
    assert hmac_mmo(bytes(range(0x40, 0x50)), b"\xc0").hex().upper() == (
        "4512807BF94CB3400F0E2C25FB76E999"
    )
    assert hmac_mmo(bytes(range(0x40, 0x60)), bytes(range(0xC0, 0xD0))).hex().upper() == (
        "A3B0079984BF1557F74A0D6387E0A11A"
    )


def test_keyed_hash_of_the_default_link_key() -> None:
    # The key-transport key of the default trust-center link key "ZigBeeAlliance09" (ZigBee
    # 4.5.3, input 0x00), as blueluna/psila computes it to open captured Transport Key frames.
    assert hmac_mmo(b"ZigBeeAlliance09", b"\x00").hex().upper() == (
        "4BAB0F173E1434A2D572E1C1EF478782"
    )
