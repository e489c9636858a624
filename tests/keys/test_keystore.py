"""KeyStore lookup, layering, formats and errors; generate_pki (reference/gbcs.md §1.4, §1.9)."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from rig.gbcs.eui import Eui64
from rig.keys.keystore import KeyFileError, KeyNotFound, KeyStore
from rig.keys.pki import generate_pki

SUPPLIER = Eui64.parse("90B3D51F30010000")
ESME = Eui64.parse("00DB1234567890A0")


def same(a: ec.EllipticCurvePublicKey, b: ec.EllipticCurvePublicKey) -> bool:
    return a.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint) == b.public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint
    )


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    generate_pki(tmp_path, [SUPPLIER], [ESME], [SUPPLIER])
    return tmp_path


def test_generated_pki_reads_back(pki: Path) -> None:
    keys = KeyStore([pki])
    for eui in (SUPPLIER, ESME):
        assert same(keys.ka_private(eui).public_key(), keys.ka_public(eui))
        assert same(keys.ds_private(eui).public_key(), keys.ds_public(eui))
    pp = keys.ka_public(SUPPLIER, prepayment=True)
    assert same(keys.ka_private(SUPPLIER, prepayment=True).public_key(), pp)
    assert not same(pp, keys.ka_public(SUPPLIER))
    assert keys.ka_private(ESME) is keys.ka_private(ESME)  # cached


def test_generated_files(pki: Path) -> None:
    names = sorted(p.name for p in pki.iterdir())
    assert names == sorted(
        f"{eui}-{role}.{ext}"
        for eui, roles in (
            ("90b3d51f30010000", ("ka", "ds", "pp-ka")),
            ("00db1234567890a0", ("ka", "ds")),
        )
        for role in roles
        for ext in ("key", "pem")
    )
    assert stat.S_IMODE((pki / "00db1234567890a0-ka.key").stat().st_mode) == 0o600
    certificate = x509.load_pem_x509_certificate((pki / "00db1234567890a0-ds.pem").read_bytes())
    assert "00-DB-12-34-56-78-90-A0" in certificate.subject.rfc4514_string()


def test_generate_refuses_to_overwrite(pki: Path) -> None:
    before = (pki / "00db1234567890a0-ka.key").read_bytes()
    with pytest.raises(FileExistsError, match=re.escape("90b3d51f30010000-ka.key")):
        generate_pki(pki, [SUPPLIER], [ESME])
    assert (pki / "00db1234567890a0-ka.key").read_bytes() == before
    generate_pki(pki, [], [ESME], overwrite=True)
    assert (pki / "00db1234567890a0-ka.key").read_bytes() != before


def test_layers_search_in_order(pki: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    bench = tmp_path_factory.mktemp("bench")
    generate_pki(bench, [], [ESME])
    layered = KeyStore([bench, pki])
    assert same(layered.ka_public(ESME), KeyStore([bench]).ka_public(ESME))
    assert same(layered.ka_public(SUPPLIER), KeyStore([pki]).ka_public(SUPPLIER))


def test_public_falls_back_to_private_key_and_sec1(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    sec1 = key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption())
    assert b"EC PRIVATE KEY" in sec1
    (tmp_path / "00db1234567890a0-ds.key").write_bytes(sec1)
    assert same(KeyStore([tmp_path]).ds_public(ESME), key.public_key())


def test_bare_public_key_pem(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    (tmp_path / "00db1234567890a0-ka.pem").write_bytes(
        key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    assert same(KeyStore([tmp_path]).ka_public(ESME), key)


def test_key_not_found_names_eui_role_and_dirs(tmp_path: Path) -> None:
    with pytest.raises(KeyNotFound) as caught:
        KeyStore([tmp_path, tmp_path / "other"]).ka_private(ESME, prepayment=True)
    message = str(caught.value)
    assert "prepayment KA private" in message and "00-DB-12-34-56-78-90-A0" in message
    assert str(tmp_path / "other") in message
    assert isinstance(caught.value, KeyError) and caught.value.eui == ESME


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (
            "00db1234567890a0-ka.key",
            b"-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n",
        ),
        ("00db1234567890a0-ka.pem", b"not a certificate"),
        (
            "00db1234567890a0-ka.key",
            ec.generate_private_key(ec.SECP384R1()).private_bytes(
                Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
            ),
        ),
    ],
)
def test_malformed_file_names_the_file(tmp_path: Path, name: str, content: bytes) -> None:
    (tmp_path / name).write_bytes(content)
    keys = KeyStore([tmp_path])
    with pytest.raises(KeyFileError, match=re.escape(name)):
        if name.endswith(".key"):
            keys.ka_private(ESME)
        else:
            keys.ka_public(ESME)
