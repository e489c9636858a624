"""The AES-MMO hash and install codes (ZigBee specification Annex B.6; Smart Energy 1.2a §5.4.8).

The Matyas-Meyer-Oseas hash over AES-128 (block 16 bytes, initial hash all zeros): each block
``M`` gives ``H = AES(H, M) xor M``. The message is padded with a 1 bit and zero bits to 14 bytes
modulo 16, then its length in bits as 16 bits big-endian; a message of 2^16 bits or more is
padded to 10 bytes modulo 16, then its length as 32 bits and 16 zero bits (B.6, second form).

An **install code** is 6, 8, 12 or 16 bytes followed by its CRC-16 (CRC-16/X-25: polynomial
0x1021 reflected, initial 0xFFFF, final xor 0xFFFF), least significant byte first. The
trust-center link key of a joining device is the MMO hash of the whole code, CRC included
(known answer in tests/zigbee/test_mmo.py).

The **keyed hash** (ZigBee spec Annex B.1.4) is HMAC (FIPS 198) over the MMO hash, with a block
of 16 bytes: ``H((K xor opad) || H((K xor ipad) || M))``, ipad 0x36 and opad 0x5C repeated. The
APS key-transport and key-load keys are the keyed hash of a link key with the one byte 0x00 and
0x02 (ZigBee spec 4.5.3; rig/zigbee/security.py).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 16
#: Install-code lengths without the CRC (SE 1.2a §5.4.8.1.1).
INSTALL_CODE_LENGTHS = (6, 8, 12, 16)


class InstallCodeError(ValueError):
    """An install code of the wrong length or whose CRC does not match."""


def _pad(message: bytes) -> bytes:
    bits = len(message) * 8
    if bits < 1 << 16:
        padded = message + b"\x80" + bytes((BLOCK - 2 - (len(message) + 1) % BLOCK) % BLOCK)
        return padded + bits.to_bytes(2, "big")
    padded = message + b"\x80" + bytes((BLOCK - 6 - (len(message) + 1) % BLOCK) % BLOCK)
    return padded + bits.to_bytes(4, "big") + bytes(2)


def mmo_hash(message: bytes) -> bytes:
    """The 16-byte AES-MMO hash of ``message``."""
    digest = bytes(BLOCK)
    padded = _pad(message)
    for start in range(0, len(padded), BLOCK):
        block = padded[start : start + BLOCK]
        encryptor = Cipher(algorithms.AES(digest), modes.ECB()).encryptor()
        cipher = encryptor.update(block) + encryptor.finalize()
        digest = bytes(a ^ b for a, b in zip(cipher, block, strict=True))
    return digest


def crc16_x25(data: bytes) -> int:
    """CRC-16/X-25 of ``data``, the install code's check value."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def with_crc(code: bytes) -> bytes:
    """An install code (without CRC) followed by its CRC, as printed on a device."""
    if len(code) not in INSTALL_CODE_LENGTHS:
        raise InstallCodeError(f"an install code has 6, 8, 12 or 16 bytes, not {len(code)}")
    return code + crc16_x25(code).to_bytes(2, "little")


def link_key(install_code: bytes) -> bytes:
    """The trust-center link key of an install code given with its CRC; InstallCodeError if the
    length or the CRC is wrong."""
    code, crc = install_code[:-2], install_code[-2:]
    if with_crc(code)[-2:] != crc:
        raise InstallCodeError(
            f"install code {install_code.hex().upper()}: CRC {crc.hex().upper()} does not match "
            f"its code (expected {with_crc(code)[-2:].hex().upper()})"
        )
    return mmo_hash(install_code)


def hmac_mmo(key: bytes, message: bytes) -> bytes:
    """The keyed hash for message authentication (ZigBee specification B.1.4): HMAC (FIPS 198)
    over the MMO hash, whose block is 16 bytes; ipad 0x36, opad 0x5C, a longer key hashed first,
    a shorter one padded with zeros."""
    if len(key) > BLOCK:
        key = mmo_hash(key)
    key = key.ljust(BLOCK, b"\x00")
    inner = mmo_hash(bytes(k ^ 0x36 for k in key) + message)
    return mmo_hash(bytes(k ^ 0x5C for k in key) + inner)
