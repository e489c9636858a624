"""GBCS cryptography: ECDH, the KDF, GMAC, ECDSA and payload encryption (reference/gbcs.md §1.4).

Keys are pyca/cryptography P-256 key objects. ECDH is the expensive step, so shared secrets are
kept in a small LRU cache keyed on the two public points. Per message the design needs one SHA-256
(the KDF, whose OtherInfo holds the transaction id) and one AES-GCM (the GMAC), or an ECDSA
operation; each is a single pyca or hashlib call here (AESGCM rather than the slower Cipher
objects, one ECDSA algorithm object for every call).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from rig.gbcs.errors import DecodeError, VerifyError
from rig.gbcs.eui import Eui64

#: KDF AlgorithmID: BER of OID 2.16.756.5.8.3.0, DLMS aes-gcm-128 (§1.4).
_ALGORITHM_ID = bytes.fromhex("60857406080300")
#: The single-step KDF's 32-bit block counter: one SHA-256 block is enough (§1.4).
_KDF_BLOCK_ONE = b"\x00\x00\x00\x01"
#: The GCM IV is the originator's system title and a zero invocation counter (§1.4).
_IV_TAIL = bytes(4)
_ECDSA = ec.ECDSA(hashes.SHA256())
#: The KDF's hash and the GMAC's AEAD class: :func:`kdf_mac` calls them, and so does the C
#: accelerator's ``apdu_mac`` (rig/gbcs/_wire.c), in the same way.
KDF_HASH = hashlib.sha256
MAC_AEAD = AESGCM
#: Security control byte for authentication only, suite 1, plus the five zero bytes (§1.4).
MAC_AAD_PREFIX = bytes.fromhex("110000000000")
#: Security header of an encrypted payload part: SC 0x31 and a zero invocation counter (§1.4).
ENCRYPTED_PART_HEADER = bytes.fromhex("3100000000")
#: KDF CRA value that derives a payload-encryption key rather than a MAC key (§1.4).
CRA_ENCRYPTION = 4
MAC_LENGTH = 12
SIGNATURE_LENGTH = 64

_CACHE_SIZE = 256
_secrets: OrderedDict[tuple[bytes, bytes], bytes] = OrderedDict()
_secrets_lock = threading.Lock()
#: Fast path keyed on the key objects' identities; the entry holds the objects, so an id is
#: never reused while its entry lives.
_by_identity: dict[tuple[int, int], tuple[object, object, bytes]] = {}


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"GBCS keys are P-256, got {key.curve.name}")
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def shared_secret(
    private_key: ec.EllipticCurvePrivateKey, peer_public: ec.EllipticCurvePublicKey
) -> bytes:
    """ECDH shared secret Z (32 bytes), cached per key pair."""
    hit = _by_identity.get((id(private_key), id(peer_public)))
    if hit is not None and hit[0] is private_key and hit[1] is peer_public:
        return hit[2]
    z = _shared_secret_by_points(private_key, peer_public)
    with _secrets_lock:
        if len(_by_identity) >= _CACHE_SIZE:
            _by_identity.clear()
        _by_identity[(id(private_key), id(peer_public))] = (private_key, peer_public, z)
    return z


def _shared_secret_by_points(
    private_key: ec.EllipticCurvePrivateKey, peer_public: ec.EllipticCurvePublicKey
) -> bytes:
    cache_key = (_point(private_key.public_key()), _point(peer_public))
    with _secrets_lock:
        if (z := _secrets.get(cache_key)) is not None:
            _secrets.move_to_end(cache_key)
            return z
    z = private_key.exchange(ec.ECDH(), peer_public)
    with _secrets_lock:
        _secrets[cache_key] = z
        if len(_secrets) > _CACHE_SIZE:
            _secrets.popitem(last=False)
    return z


def kdf_prefix(z: bytes) -> bytes:
    """``00 00 00 01 || Z || AlgorithmID``: the KDF input before the per-message OtherInfo fields,
    constant for a pair of KA keys (§1.4)."""
    return _KDF_BLOCK_ONE + z + _ALGORITHM_ID


def derive_key(kdf_input: bytes) -> bytes:
    """NIST SP 800-56A single-step KDF, SHA-256, one block, truncated to an AES-128 key.

    ``kdf_input`` is :func:`kdf_prefix` then the rest of OtherInfo: originator title, ``09``,
    CRA, counter, recipient title (§1.4).
    """
    return KDF_HASH(kdf_input).digest()[:16]


def kdf_from_secret(z: bytes, originator: Eui64, cra: int, counter: int, recipient: Eui64) -> bytes:
    """The KDF from the shared secret and the OtherInfo fields as values."""
    return derive_key(
        kdf_prefix(z)
        + originator.raw
        + bytes([9, cra])
        + counter.to_bytes(8, "big")
        + recipient.raw
    )


def kdf(
    private_key: ec.EllipticCurvePrivateKey,
    peer_public: ec.EllipticCurvePublicKey,
    originator: Eui64,
    cra: int,
    counter: int,
    recipient: Eui64,
) -> bytes:
    """The 16-byte AES key for one transaction: CRA 1-3 for MACs, 4 for payload encryption."""
    if not 1 <= cra <= CRA_ENCRYPTION:
        raise ValueError(f"KDF CRA must be 1..4, got {cra}")
    if not 0 <= counter < 1 << 64:
        raise ValueError(f"originator counter {counter} does not fit in 64 bits")
    return kdf_from_secret(
        shared_secret(private_key, peer_public), originator, cra, counter, recipient
    )


def _iv(originator: Eui64) -> bytes:
    return originator.raw + _IV_TAIL


def gmac_tag(key: bytes, originator: Eui64, aad: bytes) -> bytes:
    """The full 16-byte AES-GCM tag over ``aad`` with an empty plaintext (GMAC)."""
    return AESGCM(key).encrypt(_iv(originator), b"", aad)


def gmac(key: bytes, originator: Eui64, apdu: bytes) -> bytes:
    """The 12-byte GBCS MAC of a General-Signing APDU (AAD = ``11 00 00 00 00 00`` || APDU)."""
    return AESGCM(key).encrypt(_iv(originator), b"", MAC_AAD_PREFIX + apdu)[:MAC_LENGTH]


def kdf_mac(kdf_input: bytes, iv: bytes, aad: bytes) -> bytes:
    """The 12-byte GMAC over ``aad`` under the key :func:`derive_key` makes of ``kdf_input``:
    a MAC'd frame's two per-message calls in one function, for the frame hot path
    (:func:`rig.gbcs.frame.apdu_mac` builds the inputs; §1.4)."""
    return MAC_AEAD(KDF_HASH(kdf_input).digest()[:16]).encrypt(iv, b"", aad)[:MAC_LENGTH]


def check_mac(key: bytes, originator: Eui64, apdu: bytes, mac: bytes) -> None:
    """Raise :class:`VerifyError` unless ``mac`` is the GBCS MAC of ``apdu``."""
    if not hmac.compare_digest(gmac(key, originator, apdu), mac):
        raise VerifyError(f"MAC does not verify (originator {originator})")


def sign(private_ds: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA P-256/SHA-256 signature as raw ``r || s`` (64 bytes)."""
    r, s = decode_dss_signature(private_ds.sign(data, _ECDSA))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_signature(public_ds: ec.EllipticCurvePublicKey, data: bytes, signature: bytes) -> None:
    """Raise :class:`VerifyError` unless ``signature`` (raw ``r || s``) signs ``data``."""
    if len(signature) != SIGNATURE_LENGTH:
        raise VerifyError(f"signature is {len(signature)} bytes, expected {SIGNATURE_LENGTH}")
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        public_ds.verify(der, data, _ECDSA)
    except InvalidSignature:
        raise VerifyError("ECDSA signature does not verify") from None


def encrypt_part(key: bytes, originator: Eui64, plaintext: bytes) -> bytes:
    """Encrypt a sensitive payload part: ``31 00000000`` || ciphertext || 12-byte tag (AAD 31)."""
    encryptor = Cipher(algorithms.AES(key), modes.GCM(_iv(originator))).encryptor()
    encryptor.authenticate_additional_data(ENCRYPTED_PART_HEADER[:1])
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return ENCRYPTED_PART_HEADER + ciphertext + encryptor.tag[:MAC_LENGTH]


def decrypt_part(key: bytes, originator: Eui64, block: bytes) -> bytes:
    """Inverse of :func:`encrypt_part`; DecodeError if malformed, VerifyError if the tag fails."""
    if len(block) < len(ENCRYPTED_PART_HEADER) + MAC_LENGTH:
        raise DecodeError(0, f"encrypted part is {len(block)} bytes, too short")
    if block[: len(ENCRYPTED_PART_HEADER)] != ENCRYPTED_PART_HEADER:
        header = block[: len(ENCRYPTED_PART_HEADER)].hex()
        raise DecodeError(0, f"encrypted part header {header}, expected 3100000000")
    body, tag = block[len(ENCRYPTED_PART_HEADER) : -MAC_LENGTH], block[-MAC_LENGTH:]
    decryptor = Cipher(
        algorithms.AES(key), modes.GCM(_iv(originator), tag, min_tag_length=MAC_LENGTH)
    ).decryptor()
    decryptor.authenticate_additional_data(ENCRYPTED_PART_HEADER[:1])
    try:
        return decryptor.update(body) + decryptor.finalize()
    except InvalidTag:
        raise VerifyError("encrypted payload part: GCM tag does not verify") from None
