"""The HAN's test PKI on file (rig/zigbee/pki.py): what is written reads back, checked; every
file that cannot serve is one PkiError naming the file and what is wrong."""

import json
from pathlib import Path

import pytest

from rig.zigbee.pki import (
    CA_FILE,
    PkiError,
    credentials_path,
    generate,
    read_ca,
    read_certificate,
    read_credentials,
)

HUB, METER = bytes.fromhex("00DB123456789501"), bytes.fromhex("00DB123456789502")


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    made = generate(folder, [HUB, METER])
    assert set(made) == {HUB, METER}
    return folder


def test_generated_credentials_read_back_the_same(pki):
    ca = read_ca(pki / CA_FILE)
    made = read_credentials(credentials_path(pki, METER), ca, METER)
    assert made.certificate.subject == METER and made.ca_issuer == ca[0]
    assert read_certificate(credentials_path(pki, HUB), ca, HUB).subject == HUB


def test_a_certificate_for_another_device_is_refused(pki):
    ca = read_ca(pki / CA_FILE)
    with pytest.raises(PkiError, match=f"subject {METER.hex().upper()}, not {HUB.hex().upper()}"):
        read_certificate(credentials_path(pki, METER), ca, HUB)


def test_a_private_key_of_another_certificate_is_refused(pki, tmp_path):
    ca = read_ca(pki / CA_FILE)
    mixed = json.loads(credentials_path(pki, METER).read_text())
    mixed["private_key"] = json.loads(credentials_path(pki, HUB).read_text())["private_key"]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(mixed))
    with pytest.raises(PkiError, match=r"mixed\.json: private_key: not the key"):
        read_credentials(path, ca, METER)


def test_a_certificate_of_another_ca_is_refused(pki, tmp_path):
    generate(tmp_path, [METER], issuer=b"OTHERCA1")
    with pytest.raises(PkiError, match="issuer 4F54484552434131, not the CA's"):
        read_certificate(credentials_path(tmp_path, METER), read_ca(pki / CA_FILE), METER)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"JSONDecodeError"),
        ("[]", r"expected a JSON object"),
        ('{"issuer": "00"}', r"issuer: expected 16 hex digits, got 2"),
        ('{"issuer": "zz"}', r"issuer: expected 16 hex digits, got 'zz'"),
        ('{"issuer": "0011223344556677"}', r"public: expected 74 hex digits, got None"),
        (
            '{"issuer": "0011223344556677", "public": "02' + "FF" * 36 + '"}',
            r"public: not a sect283k1 public key",
        ),
    ],
)
def test_a_bad_ca_file_is_one_error_naming_it(tmp_path, text, message):
    path = tmp_path / "ca.json"
    path.write_text(text)
    with pytest.raises(PkiError, match=message) as info:
        read_ca(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_missing_file_is_one_error_naming_it(tmp_path):
    with pytest.raises(PkiError, match=r"none\.json: FileNotFoundError"):
        read_ca(tmp_path / "none.json")
