"""The DUIS web service on the rig's own loop (docs/dcc-boxed.md): aiohttp's server, started on
the loop thread that runs the DSP model and the devices, never a second event loop.

Each POST to ``/api/v1/serviceS|T|D`` is stamped ``received``, read and verified off the loop
(parse, schema, XML signature: CPU work that must not delay the DSP's timers), admitted on the
loop (URL, access control, RequestID counter), then becomes a normal rig request
(:meth:`Rig.enqueue`) whose completed record the :class:`~rig.serve.poster.Poster` POSTs to
its User before it is written. Refusals answer with the DUIS error code, or an HTTP status and
one line where DUIS has no code, and each is a ``refused`` record.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ssl
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from rig.duis.codes import DuisError, ResponseCode
from rig.duis.messages import Content, PreCommand
from rig.duis.request import ServiceRequest
from rig.duis.srv_matrix import NON_DEVICE_SRVS
from rig.live.orchestrator import Rig
from rig.results.record import RequestRecord
from rig.serve.gate import HTTP_STATUS, SERVICES, Gate, ServeError
from rig.serve.nondevice import Inventory
from rig.serve.poster import KEPT_XML, Poster

T = TypeVar("T")

#: The Content-Types a DUIS request may come with (DCC Boxed's clients send application/xml).
XML_TYPES = frozenset({"application/xml", "text/xml"})
#: The largest request body taken (HTTP 413 above it) [ASSUMED]: a 1.1.1 tariff is ~20 KiB.
MAX_BODY = 1024 * 1024
#: HTTP status of a request the DSP's SECMP0067 throttling rejects [ASSUMED].
THROTTLED = 429
#: How long ``stop`` lets requests in flight finish and their responses be POSTed [ASSUMED].
DRAIN_S = 5.0


@dataclass(frozen=True)
class Tls:
    """Serve HTTPS with ``cert``/``key``; with ``ca``, only to clients it signed (mutual TLS)."""

    cert: Path
    key: Path
    ca: Path | None = None

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.cert, self.key)
            if self.ca is not None:
                context.load_verify_locations(self.ca)
                context.verify_mode = ssl.CERT_REQUIRED
        except (OSError, ssl.SSLError) as exc:
            raise ServeError(f"TLS: {self.cert} / {self.key} / {self.ca}: {exc}") from exc
        return context


class DuisServer:
    """``rig serve`` on a started :class:`Rig`: :meth:`start` and :meth:`stop` from any thread
    but the loop's."""

    def __init__(
        self, rig: Rig, *, host: str = "127.0.0.1", port: int = 8079, tls: Tls | None = None
    ) -> None:
        self.rig = rig
        self.gate = Gate(rig.bench)
        self._host, self._port = host, port
        self._ssl = tls.context() if tls is not None else None
        self._pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="rig-serve")
        self.poster = Poster(rig, rig.bench.duis, self.gate.sign, self._pool)
        self.inventory = Inventory(rig.bench)
        self._user_names = {user.eui: name for name, user in rig.bench.users.items()}
        self._runner: web.AppRunner | None = None
        self.url = ""
        #: The records of the requests that came in by HTTP, as each is written.
        self.records: list[RequestRecord] = []
        #: The refusals, as their records hold them.
        self.refused: list[dict[str, Any]] = []
        self._pending = 0  # requests acknowledged whose record is not written yet

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> str:
        """Listen; returns the URL (its port chosen by the OS if 0 was asked for)."""
        return self._on_loop(self._start())

    def _on_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.rig.loop).result()

    async def _start(self) -> str:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/api/v1/{service}", self._service)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, ssl_context=self._ssl)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise ServeError(f"cannot listen on {self._host}:{self._port}: {exc}") from exc
        port = self._runner.addresses[0][1]
        scheme = "https" if self._ssl is not None else "http"
        self.url = f"{scheme}://{self._host}:{port}"
        self.poster.start()
        self.rig.alert_relay = self.poster.alert
        self.rig.dcc_alert_relay = self.poster.dcc_alert
        return self.url

    def stop(self, drain_s: float = DRAIN_S) -> None:
        """No new request; those in flight get ``drain_s`` to finish and be POSTed; what is
        left is kept undelivered with why (the rig's close fails what is still on the wire)."""
        if self._runner is None:
            return
        self._on_loop(self._runner.cleanup())
        deadline = time.monotonic() + drain_s
        while self.rig.call(lambda: self._pending) and time.monotonic() < deadline:
            time.sleep(0.02)
        self._on_loop(self._close())
        self._pool.shutdown()
        self._runner = None

    async def _close(self) -> None:
        self.rig.alert_relay = None
        self.rig.dcc_alert_relay = None
        await self.poster.close()

    # -- the services -------------------------------------------------------------------------

    async def _service(self, http: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        received = loop.time()
        service = http.match_info["service"]
        if service not in SERVICES:
            raise web.HTTPNotFound(text=f"no service {service}: serviceS, serviceT, serviceD\n")
        if http.content_type not in XML_TYPES:
            return _line(415, f"Content-Type {http.content_type} is not application/xml")
        body = await http.read()
        try:
            request, signer = await loop.run_in_executor(self._pool, self.gate.read, body)
        except DuisError as error:  # not even read: refused without a request
            return await self._refuse(service, None, error, body)
        try:
            admitted = self.gate.admit(request, signer, service)
        except DuisError as error:
            return await self._refuse(service, request, error, body)
        if request.srv in NON_DEVICE_SRVS:
            return await self._non_device(request, received)
        if admitted.pre_command is not None:
            self.rig.note(_event("transformed", service, request, received, loop.time()))
            return await self._answer(
                request, ResponseCode.SUCCESS, PreCommand(admitted.pre_command)
            )
        self._pending += 1
        record = self.rig.enqueue(
            request, self._written, relay=self.poster.response, received=received
        )
        if record.ack_code is None or not record.ack_code.startswith("I"):
            if record.ack_code is not None:  # refused by the DSP's throttling
                return _line(THROTTLED, record.reason or record.ack_code)
            return _line(400, record.reason or "the request could not be transformed")
        return await self._answer(request, ResponseCode.ACKNOWLEDGEMENT)

    async def _non_device(self, request: ServiceRequest, received: float) -> web.Response:
        """A Non-Device request answered at once from the rig's state, signed; recorded as a
        request whose hops are ``http_in`` and ``ack`` (answering and signing)."""
        loop = asyncio.get_running_loop()
        rid = request.request_id
        user = self._user_names.get(rid.originator, str(rid.originator))
        record = RequestRecord(str(rid), request.srv, "DCC", user, test=self.rig.test)
        record.stamps["received"] = received
        record.stamps["submitted"] = loop.time()
        content: Content = None
        try:
            code, content = self.inventory.answer(request)
            record.outcome = "ok"
        except DuisError as error:
            code = error.code
            record.fail(str(error))
        record.ack_code = str(code)
        xml = await loop.run_in_executor(self._pool, self.gate.answer, request, code, content)
        record.stamps["acknowledged"] = record.stamps["delivered"] = loop.time()
        self.rig.note(record)
        self.records.append(record)
        return web.Response(body=xml, content_type="application/xml")

    def _written(self, record: RequestRecord) -> None:
        self._pending -= 1
        self.records.append(record)

    async def _answer(
        self, request: ServiceRequest, code: str, content: Content = None
    ) -> web.Response:
        loop = asyncio.get_running_loop()
        xml = await loop.run_in_executor(self._pool, self.gate.answer, request, code, content)
        return web.Response(body=xml, content_type="application/xml")

    async def _refuse(
        self, service: str, request: ServiceRequest | None, error: DuisError, body: bytes
    ) -> web.Response:
        """A refusal: recorded; the DUIS response with its code, or its HTTP status and line."""
        refusal = {
            "kind": "refused",
            "source": f"http /api/v1/{service}",
            "request_id": str(request.request_id) if request is not None else None,
            "code": str(error.code),
            "reason": str(error),
            "xml": body[:KEPT_XML].decode("utf-8", "replace"),
        }
        self.rig.note(refusal)
        self.refused.append(refusal)
        if isinstance(error.code, ResponseCode) and request is not None:
            return await self._answer(request, error.code)
        return _line(HTTP_STATUS.get(error.code, 400), str(error))


def _line(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n")


def _event(
    kind: str, service: str, request: ServiceRequest, received: float, answered: float
) -> dict[str, Any]:
    return {
        "kind": kind,
        "source": f"http /api/v1/{service}",
        "request_id": str(request.request_id),
        "srv": request.srv,
        "received": received,
        "answered": answered,
    }
