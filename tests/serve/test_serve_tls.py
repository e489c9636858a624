"""Mutual TLS both ways: ``rig serve`` serves a client with a certificate from the CA and refuses
one without in the handshake; its northbound POSTs present the rig's client certificate to an
``https`` User endpoint that requires one (test certificates from ``rig keys tls``)."""

from __future__ import annotations

import ssl
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from serve_adapter import Adapter, Receiver, Served, rid, write_bench

from rig.cli import main
from rig.config.bench import load_bench
from rig.duis.codes import ResponseCode
from rig.duis.dsig import CertificateStore, Signer
from rig.duis.messages import parse_response
from rig.duis.request import CommandVariant, ReadSupplyStatus, ServiceRequest
from rig.keys.web import tls_set
from rig.live.launch import launch
from rig.serve.gate import ServeError
from rig.serve.server import DuisServer, Tls


@pytest.fixture(scope="module")
def tls_server(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("tls")
    tls_set(folder)
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


def _endpoint(folder: Path) -> ssl.SSLContext:
    """A User endpoint's TLS: the server pair, and a client certificate from the CA required."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=folder / "ca.pem")
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def test_rig_keys_tls_writes_the_set(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["keys", "tls", str(tmp_path / "tls")])
    assert result.exit_code == 0, result.output
    names = {Path(line).name for line in result.output.split()}
    assert names == {f"{n}.{e}" for n in ("ca", "server", "client") for e in ("key", "pem")}
    again = CliRunner().invoke(main, ["keys", "tls", str(tmp_path / "tls")])
    assert again.exit_code == 1 and "--overwrite" in again.output


@pytest.mark.parametrize("client_cert", [True, False])
def test_northbound_posts_present_the_rigs_client_certificate(
    tmp_path: Path,
    keys: Path,
    supplier_signer: Signer,
    certificates: CertificateStore,
    client_cert: bool,
) -> None:
    tls_set(tmp_path)
    receiver = Receiver(_endpoint(tmp_path))
    pair = f'tls_client_cert = "{tmp_path}/client.pem"\ntls_client_key = "{tmp_path}/client.key"'
    duis = f'tls_ca = "{tmp_path}/ca.pem"\n' + (pair if client_cert else "")
    bench = load_bench(write_bench(tmp_path, keys, receiver.url, duis=duis))
    try:
        with launch(bench, tmp_path / "run") as rig:
            server = DuisServer(rig, port=0)
            adapter = Adapter(server.start(), supplier_signer)
            try:
                read = ServiceRequest(rid(41 << 32), ReadSupplyStatus(), CommandVariant(1))
                assert adapter.post("serviceS", adapter.signed(read))[0] == 200
                if client_cert:
                    response = receiver.next(certificates)
                    assert response.request_id == read.request_id
                    assert response.code == ResponseCode.SUCCESS
                else:  # the endpoint refuses the handshake: retried, then kept undelivered
                    deadline = time.monotonic() + 10
                    while not server.poster.undelivered and time.monotonic() < deadline:
                        time.sleep(0.025)
                    assert server.poster.undelivered == 1 and receiver.bodies.empty()
            finally:
                server.stop()
    finally:
        receiver.close()


def test_unusable_client_tls_files_are_one_line(tmp_path: Path, keys: Path) -> None:
    (tmp_path / "bad.pem").write_text("not a certificate")
    duis = f'tls_ca = "{tmp_path}/bad.pem"'
    bench = load_bench(write_bench(tmp_path, keys, "https://127.0.0.1:9/", duis=duis))
    with launch(bench, tmp_path / "run") as rig, pytest.raises(ServeError, match=r"\[duis\] tls_"):
        DuisServer(rig, port=0)
