"""ECQV implicit certificates of crypto suite 2 (SEC 4 v1.0; ZigBee SE 1.2a Annex C.3.2).

A suite-2 certificate is 74 bytes, big-endian fields (the layout Wireshark's
``packet-zbee-zcl-se.c`` dissects as "Crypto Suite 2 certificate"):

====== ===== ==========================================================================
offset bytes field
====== ===== ==========================================================================
0      1     type: 0x00, implicit certificate with no extensions
1      8     serial number
9      1     curve: 0x0D, sect283k1
10     1     hash: 0x08, AES-MMO
11     8     issuer (the CA's 64-bit identifier)
19     5     valid from, seconds since 1970-01-01 UTC
24     4     valid for, seconds after "valid from" (0xFFFFFFFF: does not expire)
28     8     subject: the device's EUI-64, most significant byte first
36     1     key usage: 0x08 key agreement, 0x80 digital signature
37     37    public-key reconstruction data P: a compressed sect283k1 point (SEC 1 §2.3.3)
====== ===== ==========================================================================

The hash of a certificate is ``e = Hn(Cert)`` (SEC 4 §2.3): the 16-byte AES-MMO digest of the
whole 74-byte certificate read as a big-endian integer. [ASSUMED] that suite 2 hashes the whole
encoding and keeps all 128 bits (SEC 4's Hn keeps the leftmost ⌊log2 n⌋ = 280 bits, more than
128); no published suite-2 certificate with its key was at hand to confirm it.

The device's public key is never sent: anyone holding the CA's public key reconstructs it as
``Q = e·P + Q_CA`` (SEC 4 §2.6). The CA (SEC 4 §2.4/§2.5) takes a request ``R = k_U·G``, picks
``k``, publishes ``P = R + k·G``, returns ``r = e·k + d_CA mod n``, and the device's private key
is ``d = e·k_U + r mod n``; then ``d·G = Q`` is the check both ends can make.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from rig.zigbee.cbke import curve
from rig.zigbee.cbke.curve import G, N, Point, PointError
from rig.zigbee.mmo import mmo_hash

LENGTH: Final = 74
TYPE_IMPLICIT: Final = 0x00
CURVE_SECT283K1: Final = 0x0D
HASH_AES_MMO: Final = 0x08
KEY_AGREEMENT: Final = 0x08
DIGITAL_SIGNATURE: Final = 0x80
NO_EXPIRY: Final = 0xFFFFFFFF

Random = Callable[[int], bytes]


class CertificateError(ValueError):
    """Bytes that are not a suite-2 certificate, or one that does not check out."""


def random_scalar(rng: Random = secrets.token_bytes) -> int:
    """A scalar in [1, n-1] (SEC 1 §3.2.1), by rejection of 281-bit draws."""
    while True:
        k = int.from_bytes(rng(curve.SIZE), "big") >> (8 * curve.SIZE - N.bit_length())
        if 0 < k < N:
            return k


@dataclass(frozen=True)
class Certificate:
    """A decoded suite-2 implicit certificate (the table in the module docstring)."""

    serial: bytes
    issuer: bytes
    valid_from: int
    valid_for: int
    subject: bytes
    key_usage: int
    reconstruction: bytes

    def encode(self) -> bytes:
        """The 74 bytes."""
        return b"".join(
            (
                bytes((TYPE_IMPLICIT,)),
                self.serial,
                bytes((CURVE_SECT283K1, HASH_AES_MMO)),
                self.issuer,
                self.valid_from.to_bytes(5, "big"),
                self.valid_for.to_bytes(4, "big"),
                self.subject,
                bytes((self.key_usage,)),
                self.reconstruction,
            )
        )

    @classmethod
    def decode(cls, data: bytes) -> Certificate:
        """The certificate in ``data``; CertificateError naming the first field that is wrong."""
        if len(data) != LENGTH:
            raise CertificateError(f"a suite-2 certificate is {LENGTH} bytes, not {len(data)}")
        for offset, name, expected in (
            (0, "type", TYPE_IMPLICIT),
            (9, "curve", CURVE_SECT283K1),
            (10, "hash", HASH_AES_MMO),
        ):
            if data[offset] != expected:
                raise CertificateError(
                    f"certificate {name} 0x{data[offset]:02X} is not 0x{expected:02X}"
                )
        return cls(
            serial=data[1:9],
            issuer=data[11:19],
            valid_from=int.from_bytes(data[19:24], "big"),
            valid_for=int.from_bytes(data[24:28], "big"),
            subject=data[28:36],
            key_usage=data[36],
            reconstruction=data[37:74],
        )

    def hash_integer(self) -> int:
        """``e = Hn(Cert)``: the AES-MMO digest of the encoding as an integer (see above)."""
        return int.from_bytes(mmo_hash(self.encode()), "big")

    def public_key(self, ca_public: Point) -> Point:
        """The subject's public key ``e·P + Q_CA`` (SEC 4 §2.6), validated (SEC 1 §3.2.2.1);
        CertificateError if the reconstruction data or the result is not a valid key."""
        try:
            p = curve.decode(self.reconstruction)
            return curve.validate(curve.add(curve.multiply(self.hash_integer(), p), ca_public))
        except PointError as error:
            raise CertificateError(
                f"certificate of {self.subject.hex().upper()}: {error}"
            ) from None

    def valid_at(self, utc_seconds: int) -> bool:
        """Whether ``utc_seconds`` falls in the certificate's validity."""
        if utc_seconds < self.valid_from:
            return False
        return self.valid_for == NO_EXPIRY or utc_seconds <= self.valid_from + self.valid_for


@dataclass(frozen=True)
class CertificateAuthority:
    """A test certificate authority: its private key and 8-byte issuer identifier."""

    private: int
    issuer: bytes

    @classmethod
    def generate(cls, issuer: bytes, rng: Random = secrets.token_bytes) -> CertificateAuthority:
        """A new test CA."""
        return cls(random_scalar(rng), issuer)

    @property
    def public(self) -> Point:
        """``Q_CA = d_CA·G``."""
        return curve.multiply(self.private, G)

    def issue(
        self,
        subject: bytes,
        serial: bytes,
        valid_from: int = 0,
        valid_for: int = NO_EXPIRY,
        key_usage: int = KEY_AGREEMENT | DIGITAL_SIGNATURE,
        rng: Random = secrets.token_bytes,
    ) -> tuple[int, Certificate]:
        """A device's private key and certificate: both halves of SEC 4's protocol at once (the
        device's request, the CA's answer, the device's reception with its check)."""
        if len(subject) != 8 or len(serial) != 8:
            raise CertificateError("the subject (EUI-64) and the serial are 8 bytes each")
        k_u = random_scalar(rng)
        request = curve.multiply(k_u, G)
        while True:
            k = random_scalar(rng)
            p = curve.add(request, curve.multiply(k, G))
            if p is not None:
                break
        cert = Certificate(
            serial, self.issuer, valid_from, valid_for, subject, key_usage, curve.encode(p)
        )
        e = cert.hash_integer()
        private = (e * k_u + e * k + self.private) % N
        if curve.multiply(private, G) != cert.public_key(self.public):
            raise CertificateError("the issued private key does not match the reconstruction")
        return private, cert
