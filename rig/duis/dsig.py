"""XML-DSig for DUIS: enveloped, ECDSA-SHA256, KeyInfo/X509IssuerSerial (reference/gbcs.md §3).

The profile the DCC uses (DUIS README; DCC Boxed signing tool): one ``Reference URI=""`` whose
only transform is enveloped-signature, so the referenced document is canonicalised with the
XML-DSig default, inclusive C14N 1.0 without comments; SHA-256 digest; ``SignedInfo``
canonicalised with exclusive C14N; ``SignatureValue`` is the raw ``r || s`` (32 + 32 bytes, as
XML-DSig requires for ECDSA, RFC 4050), base64. The signer is named by issuer and serial number.

Documents are signed and verified in their compact form (no whitespace between elements): the DCC
parses ignoring element-content whitespace, so pretty-printing a signed request keeps it valid.
Certificates' validity dates are never enforced (the test keys have expired, shared/duis/README).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID
from lxml import etree

from rig.duis.codes import DuisError, RigCode
from rig.duis.xmltext import DS, canonical, parse_xml, serialize
from rig.gbcs.eui import Eui64

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
INCLUSIVE_C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
_SCALAR = 32
_SIGNATURE = f"{{{DS}}}Signature"


def _ds(name: str) -> str:
    return f"{{{DS}}}{name}"


def _issuer_key(issuer: str) -> tuple[str, ...]:
    """Issuer names compared by their RDNs, ignoring order, spaces and attribute-name case."""
    parts = (part.strip().split("=", 1) for part in issuer.split(","))
    return tuple(sorted(f"{p[0].strip().upper()}={p[-1].strip()}" for p in parts))


def signer_eui(certificate: x509.Certificate) -> Eui64:
    """The entity EUI-64 of a DCC certificate: its subject's x500UniqueIdentifier."""
    for attribute in certificate.subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER):
        value = attribute.value
        if isinstance(value, bytes) and len(value) == 9 and value[0] == 0:
            return Eui64(value[1:])
    raise ValueError(f"certificate {certificate.serial_number} has no EUI-64 identifier")


@dataclass(frozen=True)
class Signer:
    """An XML-signing key pair: private key and its certificate."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def load(cls, key_file: Path, certificate_file: Path) -> Signer:
        """Load a P-256 key (PEM or DER) and its PEM certificate."""
        data = key_file.read_bytes()
        try:
            key = serialization.load_pem_private_key(data, None)
        except ValueError:
            key = serialization.load_der_private_key(data, None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_file}: not an EC private key")
        return cls(key, x509.load_pem_x509_certificate(certificate_file.read_bytes()))


class CertificateStore:
    """XML-signing certificates looked up by issuer name and serial number."""

    def __init__(self, certificates: Iterable[x509.Certificate]) -> None:
        self._by_issuer_serial: Mapping[tuple[tuple[str, ...], int], x509.Certificate] = {
            (_issuer_key(c.issuer.rfc4514_string()), c.serial_number): c for c in certificates
        }

    @classmethod
    def from_dirs(cls, *dirs: Path) -> CertificateStore:
        """Every ``*.pem`` certificate in ``dirs``."""
        return cls(
            x509.load_pem_x509_certificate(path.read_bytes())
            for directory in dirs
            for path in sorted(directory.glob("*.pem"))
        )

    def lookup(self, issuer: str, serial: int) -> x509.Certificate | None:
        return self._by_issuer_serial.get((_issuer_key(issuer), serial))


def _digest(root: etree._Element, exclusive: bool) -> bytes:
    """SHA-256 of the document without its Signature, canonicalised (no comments)."""
    copy = etree.fromstring(etree.tostring(root))
    for signature in copy.findall(_SIGNATURE):
        copy.remove(signature)
    return hashlib.sha256(canonical(copy, exclusive=exclusive)).digest()


def _signed_info_bytes(signed_info: etree._Element) -> bytes:
    return canonical(signed_info, exclusive=True)


def sign(document: bytes, signer: Signer) -> bytes:
    """``document`` in compact form with any old signature replaced by one from ``signer``."""
    root = parse_xml(document)
    for old in root.findall(_SIGNATURE):
        root.remove(old)
    digest = _digest(root, exclusive=False)
    signature = etree.SubElement(root, _SIGNATURE, nsmap={"ds": DS})
    signed_info = etree.SubElement(signature, _ds("SignedInfo"))
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=ECDSA_SHA256)
    reference = etree.SubElement(signed_info, _ds("Reference"), URI="")
    transforms = etree.SubElement(reference, _ds("Transforms"))
    etree.SubElement(transforms, _ds("Transform"), Algorithm=ENVELOPED)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=SHA256)
    etree.SubElement(reference, _ds("DigestValue")).text = base64.b64encode(digest).decode()
    der = signer.key.sign(_signed_info_bytes(signed_info), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(_SCALAR, "big") + s.to_bytes(_SCALAR, "big")
    etree.SubElement(signature, _ds("SignatureValue")).text = base64.b64encode(raw).decode()
    issuer_serial = etree.SubElement(
        etree.SubElement(etree.SubElement(signature, _ds("KeyInfo")), _ds("X509Data")),
        _ds("X509IssuerSerial"),
    )
    certificate = signer.certificate
    etree.SubElement(
        issuer_serial, _ds("X509IssuerName")
    ).text = certificate.issuer.rfc4514_string()
    etree.SubElement(issuer_serial, _ds("X509SerialNumber")).text = str(certificate.serial_number)
    return serialize(root)


def _bad(reason: str, element: str = "ds:Signature") -> DuisError:
    return DuisError(RigCode.BAD_SIGNATURE, reason, element)


def _one(parent: etree._Element, path: str) -> etree._Element:
    found = parent.findall(path, {"ds": DS})
    if len(found) != 1:
        raise _bad(f"expected one {path}, found {len(found)}", path)
    return found[0]


def _algorithm(parent: etree._Element, path: str, expected: str) -> None:
    algorithm = _one(parent, path).get("Algorithm")
    if algorithm != expected:
        raise _bad(f"algorithm {algorithm!r}, expected {expected!r}", path)


def _b64(element: etree._Element, what: str) -> bytes:
    try:
        return base64.b64decode("".join((element.text or "").split()), validate=True)
    except binascii.Error as exc:
        raise _bad(f"{what} is not base64", what) from exc


def verify(document: bytes | etree._Element, certificates: CertificateStore) -> x509.Certificate:
    """The signer's certificate if the DUIS signature of ``document`` is valid.

    Raises :class:`DuisError` ``RIG-BAD-SIGNATURE`` naming the element at fault otherwise:
    missing signature, an algorithm outside the DUIS profile, unknown signer, wrong digest (the
    signed content was changed) or wrong signature value.
    """
    root = parse_xml(document) if isinstance(document, bytes) else document
    signature = _one(root, "ds:Signature")
    signed_info = _one(signature, "ds:SignedInfo")
    _algorithm(signed_info, "ds:CanonicalizationMethod", EXC_C14N)
    _algorithm(signed_info, "ds:SignatureMethod", ECDSA_SHA256)
    reference = _one(signed_info, "ds:Reference")
    if reference.get("URI") != "":
        raise _bad('the reference must be the whole document (URI="")', "ds:Reference")
    transforms = [
        t.get("Algorithm") for t in reference.findall("ds:Transforms/ds:Transform", {"ds": DS})
    ]
    if ENVELOPED not in transforms or not set(transforms) <= {ENVELOPED, EXC_C14N, INCLUSIVE_C14N}:
        raise _bad(f"transforms {transforms} are not the enveloped DUIS profile", "ds:Transforms")
    _algorithm(reference, "ds:DigestMethod", SHA256)
    digest = _digest(root, exclusive=EXC_C14N in transforms)
    if _b64(_one(reference, "ds:DigestValue"), "ds:DigestValue") != digest:
        raise _bad("digest mismatch: the signed content was changed", "ds:DigestValue")
    issuer = _one(signature, "ds:KeyInfo/ds:X509Data/ds:X509IssuerSerial")
    serial_text = (_one(issuer, "ds:X509SerialNumber").text or "").strip()
    if not serial_text.isdigit():
        raise _bad(f"serial number {serial_text!r} is not decimal", "ds:X509SerialNumber")
    issuer_name = _one(issuer, "ds:X509IssuerName").text or ""
    certificate = certificates.lookup(issuer_name, int(serial_text))
    if certificate is None:
        raise _bad(f"no certificate for issuer {issuer_name!r} serial {serial_text}", "ds:KeyInfo")
    raw = _b64(_one(signature, "ds:SignatureValue"), "ds:SignatureValue")
    if len(raw) != 2 * _SCALAR:
        raise _bad(f"ECDSA value is {len(raw)} bytes, expected r||s of 64", "ds:SignatureValue")
    der = encode_dss_signature(int.from_bytes(raw[:_SCALAR]), int.from_bytes(raw[_SCALAR:]))
    public_key = certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise _bad("the signer's certificate has no EC key", "ds:KeyInfo")
    try:
        public_key.verify(der, _signed_info_bytes(signed_info), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise _bad("ECDSA signature does not verify", "ds:SignatureValue") from exc
    return certificate
