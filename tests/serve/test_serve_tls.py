"""``rig serve`` with mutual TLS: a client with a certificate from the CA is served, one without
is refused in the handshake (test certificates made here with ``cryptography``)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from serve_adapter import Adapter, Served, rid

from rig.duis.codes import ResponseCode
from rig.duis.messages import parse_response
from rig.duis.request import CommandVariant, ReadSupplyStatus, ServiceRequest
from rig.serve.gate import ServeError
from rig.serve.server import DuisServer, Tls


def _pair(
    folder: Path, name: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None
) -> tuple[x509.Name, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if name == "server":
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        builder = builder.add_extension(san, critical=False)
    certificate = builder.sign(issuer_key, hashes.SHA256())
    (folder / f"{name}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return subject, key


@pytest.fixture(scope="module")
def tls_server(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("tls")
    ca = _pair(folder, "ca", None)
    _pair(folder, "server", ca)
    _pair(folder, "client", ca)
    server = DuisServer(
        served.rig, port=0, tls=Tls(folder / "server.pem", folder / "server.key", folder / "ca.pem")
    )
    served.adapter = Adapter(server.start(), served.adapter.signer)
    yield folder
    server.stop()


def _client(folder: Path, *, certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=folder / "ca.pem")
    if certificate:
        context.load_cert_chain(folder / "client.pem", folder / "client.key")
    return context


def test_a_client_with_a_certificate_is_served(served: Served, tls_server: Path) -> None:
    assert served.adapter.url.startswith("https://")
    read = ServiceRequest(rid(11 << 32), ReadSupplyStatus(), CommandVariant.NON_CRITICAL_WAN)
    context = _client(tls_server, certificate=True)
    status, body = served.adapter.post("serviceS", served.adapter.signed(read), context=context)
    assert status == 200 and parse_response(body).code == ResponseCode.ACKNOWLEDGEMENT


def test_a_client_without_a_certificate_is_refused(served: Served, tls_server: Path) -> None:
    read = ServiceRequest(rid(12 << 32), ReadSupplyStatus(), CommandVariant.NON_CRITICAL_WAN)
    context = _client(tls_server, certificate=False)
    with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
        served.adapter.post("serviceS", served.adapter.signed(read), context=context)


def test_unusable_tls_files_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(ServeError, match="TLS: "):
        Tls(tmp_path / "bad.pem", tmp_path / "bad.pem").context()
