"""A small Python DUIS adapter for the ``rig serve`` tests: it signs requests with the User's
XML-signing key, POSTs them over loopback sockets (urllib), and receives what the rig POSTs
back at its own endpoint (a stdlib HTTP server on a thread): what a supplier's adapter does
against DCC Boxed (docs/dcc-boxed.md)."""

from __future__ import annotations

import queue
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from rig.config.bench import load_bench
from rig.duis.dsig import CertificateStore, Signer, sign, signer_eui, verify
from rig.duis.messages import Response, build_request, parse_response
from rig.duis.request import RequestId, ServiceRequest
from rig.gbcs.eui import Eui64
from rig.gbcs.utrn import ValueClass, make_utrn
from rig.keys import RTDS_KEYS
from rig.keys.keystore import KeyStore
from rig.live.launch import launch
from rig.results.record import RequestRecord
from rig.serve.server import DuisServer

if TYPE_CHECKING:
    from rig.live.orchestrator import Rig

SUPPLIER = Eui64.parse("90-B3-D5-1F-30-01-00-00")
ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
DSP = Eui64.parse("90-B3-D5-1F-30-00-00-02")

BENCH = """
[bench]
name = "serve"
[keys]
dirs = ["@rtds"]
[[user]]
name = "supplier"
eui = "90-B3-D5-1F-30-01-00-00"
[[user]]
name = "supplier2"
eui = "90-B3-D5-1F-30-03-00-00"
[dsp]
tmm = "{tmm}"
[[device]]
name = "esme"
kind = "esme"
eui = "00-DB-12-34-56-78-90-A0"   # the RTDS ESME of the DUIS templates (keys generated)
emulated = true
response_timeout_s = {timeout}
[duis]
keys = "{keys}"
retry_attempts = 3
retry_backoff_s = 0.05
{duis}
[[duis.user]]
name = "supplier"
response_url = "{url}"
"""


def write_bench(
    folder: Path,
    keys: Path,
    url: str,
    *,
    tmm: str = "default",
    timeout: float = 2.0,
    duis: str = "",
) -> Path:
    """The serve bench; ``duis`` adds lines to its ``[duis]`` table."""
    path = folder / "serve.toml"
    path.write_text(BENCH.format(keys=keys, url=url, tmm=tmm, timeout=timeout, duis=duis))
    return path


class Receiver:
    """The adapter's endpoint: every POST body it is sent, answered with ``status``; HTTPS
    with ``context`` (a server context: with CERT_REQUIRED, only to clients it trusts)."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.bodies: queue.Queue[bytes] = queue.Queue()
        self.status = 204
        self.posts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.posts += 1
                status = receiver.status
                if 200 <= status < 300:
                    receiver.bodies.put(body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if context is not None:
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        scheme = "http" if context is None else "https"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}/duis"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def next(self, certificates: CertificateStore, timeout: float = 10.0) -> Response:
        """The next message POSTed to the endpoint; its DSP signature must verify."""
        body = self.bodies.get(timeout=timeout)
        assert signer_eui(verify(body, certificates)) == DSP
        return parse_response(body)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Adapter:
    """Signs and POSTs requests as the supplier."""

    def __init__(self, url: str, signer: Signer) -> None:
        self.url, self.signer = url, signer

    def signed(self, request: ServiceRequest) -> bytes:
        return sign(build_request(request), self.signer)

    def post(
        self,
        service: str,
        xml: bytes,
        *,
        content_type: str = "application/xml",
        context: object = None,
    ) -> tuple[int, bytes]:
        """POST ``xml``: the HTTP status and body (an error status is returned, not raised)."""
        http = urllib.request.Request(
            f"{self.url}/api/v1/{service}", data=xml, headers={"Content-Type": content_type}
        )
        try:
            with urllib.request.urlopen(http, timeout=10, context=context) as answer:  # type: ignore[arg-type]
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


def utrn(run_dir: Path, counter: int, pence: int) -> str:
    """A UTRN for the bench's emulated ESME (its KA key is generated in the run folder)."""
    keys = KeyStore([run_dir / "keys", RTDS_KEYS])
    return make_utrn(
        keys.ka_private(SUPPLIER, prepayment=True),
        keys.ka_public(ESME),
        SUPPLIER,
        ESME,
        counter,
        pence,
        ValueClass.PENNIES,
    )


def rid(counter: int) -> RequestId:
    return RequestId(SUPPLIER, ESME, counter)


def record_of(server: object, counter: int, timeout: float = 10.0) -> RequestRecord:
    """The written record of the HTTP request with RequestID ``counter`` (it is written once
    its response has been POSTed, just after the endpoint received it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in list(server.records):  # type: ignore[attr-defined]
            if record.request_id.rsplit(":", 1)[1] == str(counter):
                return record
        time.sleep(0.01)
    raise AssertionError(f"no record of RequestID counter {counter} within {timeout} s")


@dataclass
class Served:
    """A rig serving DUIS on loopback, with a User's adapter and its response endpoint."""

    rig: Rig
    server: DuisServer
    receiver: Receiver
    adapter: Adapter
    run_dir: Path


@contextmanager
def serving(folder: Path, keys: Path, signer: Signer, extra: str = "") -> Iterator[Served]:
    """``rig serve`` on the bench of :func:`write_bench` in ``folder`` (plus the tables
    ``extra``), its run folder ``folder/run``, for the block; the adapter signs with ``signer``."""
    receiver = Receiver()
    bench = write_bench(folder, keys, receiver.url)
    bench.write_text(bench.read_text() + extra)
    run_dir = folder / "run"
    try:
        with launch(load_bench(bench), run_dir) as rig:
            server = DuisServer(rig, port=0)
            try:
                yield Served(rig, server, receiver, Adapter(server.start(), signer), run_dir)
            finally:
                server.stop()
    finally:
        receiver.close()
