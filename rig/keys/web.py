"""Test key sets for ``rig serve`` (docs/dcc-boxed.md), never real keys:

* :func:`tls_set`: a test CA, a server pair (for ``rig serve --tls-*``, valid for 127.0.0.1 and
  localhost) and a client pair (an adapter's, and the rig's own northbound POSTs with
  ``[duis] tls_client_cert``), for mutual TLS;
* :func:`duis_set`: DUIS XML-signing keys in the layout :mod:`rig.duis.dsig` and
  :func:`rig.serve.gate.dsp_signer` read (the DCC Boxed signing tool's naming,
  shared/duis/README.md): ``dsp-xml-sign-<EUI>-ds.key/.pem`` for the DSP and
  ``xml-sign-<EUI>-ds.key/.pem`` per User, each certificate naming its EUI-64 in the subject's
  x500UniqueIdentifier (as DCC's test certificates do) and issued by one test CA.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rig.gbcs.eui import DCC, Eui64

_VALIDITY = datetime.timedelta(days=5 * 365)
#: The DCC Boxed test Users whose keys shared/duis ships: a supplier and a network operator.
DEFAULT_USERS = (Eui64.parse("90-B3-D5-1F-30-01-00-00"), Eui64.parse("90-B3-D5-1F-30-02-00-00"))

Issuer = tuple[x509.Name, ec.EllipticCurvePrivateKey]


def _usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _issue(
    subject: x509.Name,
    issuer: Issuer | None,
    extensions: Iterable[tuple[x509.ExtensionType, bool]] = (),
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A P-256 key and its certificate, issued by ``issuer`` (self-signed CA when None)."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_name, issuer_key = issuer or (subject, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        .add_extension(_usage(sign=True, ca=issuer is None), critical=True)
        # Key identifiers: Python 3.13's default TLS context verifies strictly (RFC 5280), and
        # refuses a certificate whose issuer is named by no Authority Key Identifier.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return key, builder.sign(issuer_key, hashes.SHA256())


def _write(
    folder: Path, stem: str, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate
) -> list[Path]:
    key_file, pem_file = folder / f"{stem}.key", folder / f"{stem}.pem"
    key_file.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    key_file.chmod(0o600)
    pem_file.write_bytes(certificate.public_bytes(Encoding.PEM))
    return [key_file, pem_file]


def _prepare(folder: Path, stems: Iterable[str], overwrite: bool) -> None:
    """Create ``folder``; refuse (FileExistsError) to replace a file unless ``overwrite``."""
    folder.mkdir(parents=True, exist_ok=True)
    if overwrite:
        return
    for stem in stems:
        for suffix in (".key", ".pem"):
            if (folder / f"{stem}{suffix}").exists():
                raise FileExistsError(f"{folder / stem}{suffix} exists")


def _name(common_name: str, *extra: x509.NameAttribute) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name), *extra])


def tls_set(folder: Path, *, overwrite: bool = False) -> list[Path]:
    """``ca``, ``server`` and ``client`` pairs (``.key``, ``.pem``) for mutual TLS on loopback."""
    _prepare(folder, ("ca", "server", "client"), overwrite)
    ca_name = _name("gb-smart-rig test TLS CA")
    ca_key, ca = _issue(ca_name, None)
    loopback = x509.SubjectAlternativeName(
        [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    )
    server = _issue(
        _name("rig serve"),
        (ca_name, ca_key),
        [(loopback, False), (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)],
    )
    client = _issue(
        _name("DUIS adapter"),
        (ca_name, ca_key),
        [(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)],
    )
    return [
        *_write(folder, "ca", ca_key, ca),
        *_write(folder, "server", *server),
        *_write(folder, "client", *client),
    ]


def _eui_name(eui: Eui64) -> x509.Name:
    """A subject naming ``eui`` as DCC's XML-signing certificates do (x500UniqueIdentifier:
    a BIT STRING of 0x00 then the 8 octets; :func:`rig.duis.dsig.signer_eui` reads it)."""
    unique = x509.NameAttribute(
        NameOID.X500_UNIQUE_IDENTIFIER,
        b"\x00" + eui.raw,
        _type=x509.name._ASN1Type.BitString,
    )
    return _name(str(eui), unique)


def duis_set(
    folder: Path,
    users: Iterable[Eui64] = DEFAULT_USERS,
    *,
    dsp: Eui64 = DCC,
    overwrite: bool = False,
) -> list[Path]:
    """The DSP's XML-signing pair and one per User, issued by a test CA (``xml-sign-ca``)."""
    users = list(users)
    stems = {eui: f"xml-sign-{eui.hex.upper()}-ds" for eui in users}
    dsp_stem = f"dsp-xml-sign-{dsp.hex.upper()}-ds"
    _prepare(folder, [dsp_stem, "xml-sign-ca", *stems.values()], overwrite)
    ca_name = _name("gb-smart-rig test XML-signing CA")
    ca_key, ca = _issue(ca_name, None)
    issuer = (ca_name, ca_key)
    written = _write(folder, "xml-sign-ca", ca_key, ca)
    written += _write(folder, dsp_stem, *_issue(_eui_name(dsp), issuer))
    for eui, stem in stems.items():
        written += _write(folder, stem, *_issue(_eui_name(eui), issuer))
    return written
