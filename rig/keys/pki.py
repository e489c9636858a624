"""Generate bench key pairs in the keystore naming convention (reference/gbcs.md §1.4, §1.9).

Each key pair is a P-256 private key (``.key``, unencrypted PKCS#8 PEM) and a self-signed X.509
certificate (``.pem``) whose subject names the EUI-64, so :class:`~rig.keys.keystore.KeyStore`
reads them like the RTDS keys. These are bench keys, not GBCS-conformant organisation certificates.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID

from rig.gbcs.eui import Eui64
from rig.keys.keystore import Role, key_file_name

_VALIDITY = datetime.timedelta(days=20 * 365)


def _certificate(key: ec.EllipticCurvePrivateKey, eui: Eui64, role: Role) -> bytes:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, str(eui)),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, eui.hex),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role.upper()),
        ]
    )
    usage = role is Role.KA
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not usage,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=usage,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.PEM)


def generate_pki(
    out_dir: Path,
    remote_parties: Iterable[Eui64],
    devices: Iterable[Eui64],
    prepayment_parties: Iterable[Eui64] = (),
    *,
    overwrite: bool = False,
) -> list[Path]:
    """Write KA and DS key pairs for every party and device, and prepayment KA pairs.

    Returns the files written. Refuses (FileExistsError, before writing anything) to replace an
    existing file unless ``overwrite``.
    """
    wanted = [(eui, role, False) for eui in (*remote_parties, *devices) for role in Role]
    wanted += [(eui, Role.KA, True) for eui in prepayment_parties]
    out_dir = Path(out_dir)
    plan = [
        (
            role,
            eui,
            out_dir / key_file_name(eui, role, prepayment=pp, private=True),
            out_dir / key_file_name(eui, role, prepayment=pp, private=False),
        )
        for eui, role, pp in dict.fromkeys(wanted)
    ]
    if not overwrite:
        for path in (path for *_, private, public in plan for path in (private, public)):
            if path.exists():
                raise FileExistsError(f"{path} exists (pass overwrite=True to replace)")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for role, eui, private_path, public_path in plan:
        key = ec.generate_private_key(ec.SECP256R1())
        private_path.write_bytes(
            key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        )
        os.chmod(private_path, 0o600)
        public_path.write_bytes(_certificate(key, eui, role))
        written += [private_path, public_path]
    return written
