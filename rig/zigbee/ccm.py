"""CCM* over AES-128 (ZigBee specification 05-3474 Annex A; IEEE 802.15.4 Annex B), the mode that
secures ZigBee NWK and APS frames.

A **security level** (ZigBee Table 4-6; IEEE 802.15.4 Table 58) says whether the payload is
encrypted (bit 2) and how long the message integrity code is (bits 0-1: 0, 4, 8 or 16 bytes):

=====  ============  ===  =========  =====================================================
level  name          MIC  encrypted  how it is computed here
=====  ============  ===  =========  =====================================================
0      None          0    no         nothing: the payload is returned as it is
1-3    MIC-32/64/128 4-16 no         CCM with an empty message and ``aad || payload`` as
                                     the associated data (CCM* A.2 with ``m`` empty: the
                                     payload travels in the clear, authenticated only)
4      ENC           0    yes        AES-CTR from counter block ``A1`` (flags 0x01 ‖ nonce ‖
                                     counter 1), CCM*'s encryption with no MIC (A.2.3)
5-7    ENC-MIC-...   4-16 yes        CCM (``cryptography``'s AESCCM, 13-byte nonce), which
                                     is CCM* for MIC lengths CCM allows
=====  ============  ===  =========  =====================================================

The **nonce** (ZigBee 4.5.2.2) is 13 bytes: the source's IEEE address (8 bytes, least
significant first, as on the air), the frame counter (4 bytes, little-endian), the security
control byte (with the real security level in its low bits). Known answers from the ZigBee
specification, IEEE 802.15.4 Annex C and the CCM* levels 0-7 are in tests/zigbee/test_ccm.py.
"""

from __future__ import annotations

import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

NONCE_LENGTH = 13
KEY_LENGTH = 16
#: The security level that ZigBee PRO networks use (nwkSecurityLevel, ZigBee 4.3.1.1; SE 1.2a
#: §5.4.1): ENC-MIC-32.
NWK_SECURITY_LEVEL = 5


#: The nonce's layout: source, frame counter (both little-endian), security control.
_NONCE = struct.Struct("<QIB")
#: One ``AESCCM`` per (key, MIC length) in use, so a frame does not build one (its key
#: schedule) for each call [ASSUMED bound: a node holds a network key and a link key or two
#: per peer; past it the cache starts again, so a replaced key does not stay in it for good].
_CIPHERS: dict[tuple[bytes, int], AESCCM] = {}
_CIPHERS_MAX = 64


class CcmError(ValueError):
    """A MIC that does not verify, or arguments CCM* cannot take; the message says which."""


def mic_length(level: int) -> int:
    """The MIC length in bytes of a security level 0-7."""
    if not 0 <= level <= 7:
        raise CcmError(f"a security level is 0 to 7, not {level}")
    return (0, 4, 8, 16)[level & 3]


def encrypts(level: int) -> bool:
    """Whether a security level encrypts the payload."""
    mic_length(level)
    return bool(level & 4)


def nonce(source: int, counter: int, security_control: int) -> bytes:
    """The CCM* nonce of a frame from IEEE address ``source`` (ZigBee 4.5.2.2)."""
    if not 0 <= source < 1 << 64 or not 0 <= counter < 1 << 32:
        raise CcmError(f"a source is 64 bits and a frame counter 32: {source:#x}, {counter:#x}")
    return _NONCE.pack(source, counter, security_control)


def _check(key: bytes, nonce_: bytes) -> None:
    if len(key) != KEY_LENGTH or len(nonce_) != NONCE_LENGTH:
        raise CcmError(
            f"CCM* takes a 16-byte key and a 13-byte nonce, not {len(key)} and {len(nonce_)}"
        )


def _cipher(key: bytes, length: int) -> AESCCM:
    """The ``AESCCM`` of ``key`` with a ``length``-byte tag, made once."""
    cipher = _CIPHERS.get((key, length))
    if cipher is None:
        if len(_CIPHERS) >= _CIPHERS_MAX:
            _CIPHERS.clear()
        cipher = _CIPHERS[(key, length)] = AESCCM(key, length)
    return cipher


def _ctr(key: bytes, nonce_: bytes, data: bytes) -> bytes:
    block = b"\x01" + nonce_ + (1).to_bytes(2, "big")  # A1: flags L-1 = 1, counter from 1
    encryptor = Cipher(algorithms.AES(key), modes.CTR(block)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def seal(key: bytes, nonce_: bytes, level: int, aad: bytes, payload: bytes) -> bytes:
    """The secured payload at ``level``: the (encrypted or clear) payload followed by its MIC."""
    _check(key, nonce_)
    length = mic_length(level)
    if level == 0:
        return payload
    if not encrypts(level):
        return payload + _cipher(key, length).encrypt(nonce_, b"", aad + payload)
    if length == 0:
        return _ctr(key, nonce_, payload)
    return _cipher(key, length).encrypt(nonce_, payload, aad)


def unseal(key: bytes, nonce_: bytes, level: int, aad: bytes, secured: bytes) -> bytes:
    """The payload of :func:`seal`'s output; CcmError if the MIC does not verify."""
    _check(key, nonce_)
    length = mic_length(level)
    if len(secured) < length:
        raise CcmError(f"{len(secured)} bytes cannot hold a {length}-byte MIC")
    try:
        if level == 0:
            return secured
        if not encrypts(level):
            payload, mic = secured[: len(secured) - length], secured[len(secured) - length :]
            _cipher(key, length).decrypt(nonce_, mic, aad + payload)
            return payload
        if length == 0:
            return _ctr(key, nonce_, secured)
        return _cipher(key, length).decrypt(nonce_, secured, aad)
    except InvalidTag:
        raise CcmError("the MIC does not verify (wrong key, or the frame was altered)") from None
