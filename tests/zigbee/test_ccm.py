"""CCM* (rig/zigbee/ccm.py) against published known answers, every security level 0-7."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rig.zigbee.ccm import CcmError, mic_length, nonce, seal, unseal

H = bytes.fromhex
IEEE_KEY = H("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF")

#: (source, level, key, nonce, aad, payload, secured payload with its MIC)
VECTORS = [
    # ZigBee specification 05-3474 Annex C.6.1 "CCM* mode encryption and authentication", test
    # vector set 1 (also in "Formal Specification of the CCM* Mode of Operation" (Struik, 2004)
    # §2.5; as found in the Nordic nRF5 SDK's nrf_crypto test vectors and blueluna/psila).
    (
        "ZigBee C.6.1",
        6,
        IEEE_KEY,
        H("A0A1A2A3A4A5A6A70302010006"),
        H("0001020304050607"),
        H("08090A0B0C0D0E0F101112131415161718191A1B1C1D1E"),
        H("1A55A36ABB6C610D066B3375649CEF10D4664ECAD854A80A895CC1D8FF9469"),
    ),
    # IEEE 802.15.4-2006 Annex C.2.1: MAC beacon frame, level 2 (MIC-64), authentication only
    # (as in OpenThread tests/unit/test_aes.cpp TestMacBeaconFrame).
    (
        "IEEE 802.15.4 C.2.1",
        2,
        IEEE_KEY,
        H("ACDE4800000000010000000502"),
        H("08D0842143010000000048DEAC020500000055CF000051525354"),
        b"",
        H("223BC1EC841AB553"),
    ),
    # IEEE 802.15.4-2006 Annex C.2.2: data frame, level 4 (ENC), no MIC.
    (
        "IEEE 802.15.4 C.2.2",
        4,
        IEEE_KEY,
        H("ACDE4800000000010000000504"),
        H("69DC842143020000000048DEAC010000000048DEAC0405000000"),
        H("61626364"),
        H("D43E022B"),
    ),
    # IEEE 802.15.4-2006 Annex C.2.3: MAC command frame, level 6 (ENC-MIC-64) (OpenThread
    # TestMacCommandFrame).
    (
        "IEEE 802.15.4 C.2.3",
        6,
        IEEE_KEY,
        H("ACDE4800000000010000000506"),
        H("2BDC842143020000000048DEACFFFF010000000048DEAC060500000001"),
        H("CE"),
        H("D84FDE529061F9C6F1"),
    ),
]

# The Nordic nRF5 SDK's CCM* vectors, one per security level 0-7 ("AES CCM STAR - Custom Test
# vector", test_vector_aes_ccm_star_128_level_0..7 and _2): key, nonce ending in the level.
NORDIC_KEY = H("D1FA7145ECD7A327CA3A8B58CD1147E6")
NORDIC_PLAIN = H("34CB14F841EF56495779D46B21978724")
NORDIC = [
    (0, b"", b"", b""),
    (1, b"", b"", H("FC91D4FB")),
    (2, b"", b"", H("DC52D7F5B66DDE7F")),
    (3, b"", b"", H("38E9C4FC3B4129D893BBA206C820BB67")),
    (4, b"", NORDIC_PLAIN, H("D16C46686C549404206596899B935C4B")),
    (5, b"", NORDIC_PLAIN, H("44D1DB2DC774A623ADA69AFD47B952AF031367FB")),
    (5, H("04EBED593E86388A"), NORDIC_PLAIN, H("44D1DB2DC774A623ADA69AFD47B952AFD01B3D22")),
    (6, H("04EBED593E86388A"), NORDIC_PLAIN, H("96B87289284ED8779E98A5BF55D16F00A3FD8B8DAE862DC5")),
    (
        7,
        H("04EBED593E86388A"),
        NORDIC_PLAIN,
        H("604E3FE798363ABFB65C29A7DD3BA5334EB450488D495C1092F65217AA6B3DE8"),
    ),
]


@pytest.mark.parametrize(("source", "level", "key", "nonce_", "aad", "payload", "secured"), VECTORS)
def test_published_vectors(
    source: str, level: int, key: bytes, nonce_: bytes, aad: bytes, payload: bytes, secured: bytes
) -> None:
    assert seal(key, nonce_, level, aad, payload) == secured, source
    assert unseal(key, nonce_, level, aad, secured) == payload, source


@pytest.mark.parametrize(("level", "aad", "payload", "secured"), NORDIC)
def test_every_security_level(level: int, aad: bytes, payload: bytes, secured: bytes) -> None:
    nonce_ = H("01F04F8873EA675D98A43A4E") + bytes([level])
    assert seal(NORDIC_KEY, nonce_, level, aad, payload) == secured
    assert unseal(NORDIC_KEY, nonce_, level, aad, secured) == payload


def test_the_nonce_is_source_counter_control_least_significant_first() -> None:
    assert nonce(0x0706050403020100, 0x0B0A0908, 0x2D) == bytes(range(12)) + b"\x2d"
    with pytest.raises(CcmError, match="32"):
        nonce(0, 1 << 32, 0)


@given(
    st.integers(1, 7),
    st.binary(max_size=40),
    st.binary(max_size=60),
    st.integers(0, 2**32 - 1),
    st.data(),
)
def test_any_bit_flip_in_a_mic_level_is_refused(
    level: int, aad: bytes, payload: bytes, counter: int, data: st.DataObject
) -> None:
    if level == 4:  # ENC alone has no MIC: nothing can be refused
        level = 5
    nonce_ = nonce(0x1122334455667788, counter, level)
    secured = seal(IEEE_KEY, nonce_, level, aad, payload)
    assert len(secured) == len(payload) + mic_length(level)
    assert unseal(IEEE_KEY, nonce_, level, aad, secured) == payload
    whole = aad + secured
    bit = data.draw(st.integers(0, len(whole) * 8 - 1))
    flipped = bytearray(whole)
    flipped[bit // 8] ^= 1 << bit % 8
    with pytest.raises(CcmError, match="MIC does not verify"):
        unseal(IEEE_KEY, nonce_, level, bytes(flipped[: len(aad)]), bytes(flipped[len(aad) :]))


def test_wrong_sizes_are_one_clear_error() -> None:
    with pytest.raises(CcmError, match="16-byte key and a 13-byte nonce"):
        seal(bytes(15), bytes(13), 5, b"", b"")
    with pytest.raises(CcmError, match="cannot hold a 4-byte MIC"):
        unseal(IEEE_KEY, bytes(13), 5, b"", b"abc")
    with pytest.raises(CcmError, match="0 to 7, not 8"):
        mic_length(8)
