"""A HAN's test PKI on file (docs/han.md "On the bench", docs/bench-files.md ``[han]``): the
certificate authority the Comms Hub and the meters trust for Key Establishment (SE 1.2a Annex
C, suite 2), and each party's certificate with its private key. **Test** material only.

Two JSON files, values as hex digits:

- the CA: ``{"issuer": "<8 bytes>", "public": "<37-byte compressed point>"}``;
- a party's credentials: ``{"certificate": "<74 bytes>", "private_key": "<36 bytes>"}``; the
  private key may be left out of a file that only names a device's certificate.

:func:`generate` writes a new CA and credentials for a list of EUI-64s; :func:`read_ca` and
:func:`read_credentials` read them back, checked (a certificate of the CA, for the EUI-64 named,
its private key matching the key the certificate reconstructs, SEC 4 §2.6), each error a
:class:`PkiError` naming the file and what is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

from rig.zigbee.cbke import curve
from rig.zigbee.cbke.curve import G, Point, PointError
from rig.zigbee.cbke.ecqv import Certificate, CertificateAuthority, CertificateError
from rig.zigbee.keyest import Credentials, issue

#: The generated CA's issuer identifier [ASSUMED: any 8 bytes; "TESTCA01" says what it is].
TEST_ISSUER = b"TESTCA01"
CA_FILE = "ca.json"


class PkiError(ValueError):
    """A PKI file that cannot be used; the message names the file and the problem."""


def _hex(path: Path, data: dict[str, object], key: str, size: int) -> bytes:
    text = data.get(key)
    try:
        if not isinstance(text, str):
            raise ValueError
        value = bytes.fromhex(text)
    except ValueError:
        raise PkiError(f"{path}: {key}: expected {size * 2} hex digits, got {text!r}") from None
    if len(value) != size:
        raise PkiError(f"{path}: {key}: expected {size * 2} hex digits, got {len(value) * 2}")
    return value


def _json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PkiError(f"{path}: {type(exc).__name__}: {exc}") from None
    if not isinstance(data, dict):
        raise PkiError(f"{path}: expected a JSON object")
    return data


def read_ca(path: Path) -> tuple[bytes, Point]:
    """The CA's issuer identifier and public key."""
    data = _json(path)
    issuer = _hex(path, data, "issuer", 8)
    try:
        public = curve.validate(curve.decode(_hex(path, data, "public", 37)))
    except PointError as exc:
        raise PkiError(f"{path}: public: not a sect283k1 public key ({exc})") from None
    return issuer, public


def read_certificate(path: Path, ca: tuple[bytes, Point], eui64: bytes) -> Certificate:
    """The certificate in ``path``, checked: issued by ``ca`` for ``eui64``."""
    data = _json(path)
    try:
        certificate = Certificate.decode(_hex(path, data, "certificate", 74))
        certificate.public_key(ca[1])
    except CertificateError as exc:
        raise PkiError(f"{path}: certificate: {exc}") from None
    if certificate.issuer != ca[0]:
        raise PkiError(
            f"{path}: certificate: issuer {certificate.issuer.hex().upper()}, not the CA's "
            f"{ca[0].hex().upper()}"
        )
    if certificate.subject != eui64:
        raise PkiError(
            f"{path}: certificate: subject {certificate.subject.hex().upper()}, "
            f"not {eui64.hex().upper()}"
        )
    return certificate


def read_credentials(path: Path, ca: tuple[bytes, Point], eui64: bytes) -> Credentials:
    """``eui64``'s credentials: its certificate from ``ca`` and the private key that matches it."""
    certificate = read_certificate(path, ca, eui64)
    private = int.from_bytes(_hex(path, _json(path), "private_key", 36), "big")
    if curve.multiply(private, G) != certificate.public_key(ca[1]):
        raise PkiError(f"{path}: private_key: not the key of the certificate")
    return Credentials(private, certificate, ca[0], ca[1])


def write_credentials(path: Path, credentials: Credentials) -> Path:
    data = {
        "certificate": credentials.certificate.encode().hex().upper(),
        "private_key": credentials.private.to_bytes(36, "big").hex().upper(),
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def generate(
    folder: Path, euis: list[bytes], issuer: bytes = TEST_ISSUER
) -> dict[bytes, Credentials]:
    """A new test CA in ``folder/ca.json`` and credentials for each EUI-64 in
    ``folder/<EUI-64>.json``; the credentials by EUI-64."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = CertificateAuthority.generate(issuer)
    ca_data = {"issuer": ca.issuer.hex().upper(), "public": curve.encode(ca.public).hex().upper()}
    (folder / CA_FILE).write_text(json.dumps(ca_data, indent=2) + "\n")
    made = {}
    for serial, eui in enumerate(euis, start=1):
        made[eui] = issue(ca, eui, serial)
        write_credentials(credentials_path(folder, eui), made[eui])
    return made


def credentials_path(folder: Path, eui64: bytes) -> Path:
    return folder / f"{eui64.hex().upper()}.json"
