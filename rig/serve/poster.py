"""Northbound over HTTP: each User's device responses and alerts, signed by the DSP and POSTed
to the User's ``response_url`` (docs/dcc-boxed.md "Northbound").

The DSP model's northbound adapter has already paced them (per-User rate, SECMP0062, DP100):
the rig hands each one over when the DSP delivers it. Per User, one message at a time in that
order; a failed POST is retried after ``retry_backoff_s``, doubling, up to ``retry_attempts``;
then the message is kept in the results (``kind: "undelivered"``) with why. One log line when
a User's endpoint starts failing and one when it answers again, never one per retry.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import itertools
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from rig.config.duis import DuisConfig
from rig.dsp.alerts import DeviceAlert
from rig.duis.access import DCC
from rig.duis.codes import ResponseCode
from rig.duis.dcc_alerts import command_failure
from rig.duis.messages import DccAlert, Response, build_response, response_to
from rig.duis.messages import DeviceAlert as DuisDeviceAlert
from rig.duis.request import RequestId
from rig.gbcs.eui import Eui64
from rig.live.inflight import DccEvent, InFlight
from rig.live.orchestrator import Rig
from rig.serve.gate import ServeError

_log = logging.getLogger("rig.serve")

#: How much of an undelivered message's XML its record keeps.
KEPT_XML = 64 * 1024


@dataclass(eq=False)
class Outgoing:
    """One northbound message on its way to a User: its unsigned XML, what it is, and the
    request it answers (None for an alert)."""

    user: str
    xml: bytes
    what: str
    entry: InFlight | None = None


def response_code(entry: InFlight) -> str:
    """The DUIS code of a device request's response: I0 with the device's answer (whatever
    result it reports), E21 when it did not answer in time, else E20 (domain.md §7.4)."""
    if entry.frame is not None:
        return ResponseCode.SUCCESS
    if (entry.record.reason or "").startswith("no response from"):
        return ResponseCode.NO_RESPONSE_FROM_DEVICE
    return ResponseCode.UNABLE_TO_COMMUNICATE


def client_context(config: DuisConfig) -> ssl.SSLContext | None:
    """The northbound POSTs' TLS for ``https`` endpoints: trust ``tls_ca`` (else the system's
    CAs) and present ``tls_client_cert`` (mutual TLS); None when ``[duis]`` sets neither.
    Raises ServeError, one line naming the files, when they do not load."""
    if config.tls_ca is None and config.tls_client_cert is None:
        return None
    try:
        context = ssl.create_default_context(cafile=config.tls_ca)
        if config.tls_client_cert is not None:
            context.load_cert_chain(config.tls_client_cert, config.tls_client_key)
    except (OSError, ssl.SSLError) as exc:
        files = [f for f in (config.tls_ca, config.tls_client_cert, config.tls_client_key) if f]
        raise ServeError(
            f"[duis] tls_*: {' / '.join(map(str, files))}: not a usable CA, certificate or key: "
            f"{exc}"
        ) from exc
    return context


class Poster:
    """The POSTs of one ``rig serve``; all its methods run on the rig's loop."""

    def __init__(
        self,
        rig: Rig,
        config: DuisConfig,
        sign: Callable[[bytes], bytes],
        pool: concurrent.futures.Executor,
    ) -> None:
        self._rig, self._config, self._sign, self._pool = rig, config, sign, pool
        self._ssl = client_context(config)
        self._queues: dict[str, asyncio.Queue[Outgoing]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._failing: set[str] = set()
        self._euis = {name: user.eui for name, user in rig.bench.users.items()} or {
            rig.bench.user.name: rig.bench.user.eui
        }
        self._alert_counter = itertools.count(1)
        self.closed = False
        #: How many messages were kept undelivered (``rig serve`` says so when it stops).
        self.undelivered = 0

    def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._config.post_timeout_s),
            connector=aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else True),
        )

    # -- what the rig hands over --------------------------------------------------------------

    def response(self, entry: InFlight) -> None:
        """A completed request that came in by HTTP: its DUIS response, to its User."""
        code = response_code(entry)
        content = entry.frame if code == ResponseCode.SUCCESS else None
        response = response_to(entry.request, code, datetime.now(UTC), content)
        label = f"response {code} to {entry.request.request_id}"
        self._queue(Outgoing(entry.record.user, build_response(response), label, entry))

    def alert(self, item: DeviceAlert) -> None:
        """A device alert the DSP delivered to a User with an endpoint."""
        if item.user not in self._config.response_urls:
            return
        payload = item.payload.encode() if item.payload is not None else b""
        counter = item.payload.signing.counter if item.payload is not None else None
        device = self._device_eui(item.device)
        response_id = RequestId(device, self._euis[item.user], counter or next(self._alert_counter))
        alert = DuisDeviceAlert(
            item.code, payload, item.throttled_sequence_id, item.throttled_count
        )
        response = Response("I0", datetime.now(UTC), alert, response_id=response_id)
        label = f"alert 0x{item.code:04X} from {item.device}"
        self._queue(Outgoing(item.user, build_response(response), label))

    def dcc_alert(self, item: DccEvent) -> None:
        """A DCC alert the DSP delivered to a User with an endpoint: its event with the bench's
        N-code, ``ResponseID`` = DCC : User : a counter of the rig's alerts."""
        if item.user not in self._config.response_urls:
            return
        code = self._config.dcc_alert_codes[item.event]
        event = command_failure(item.request_id, self._device_eui(item.device))
        response_id = RequestId(DCC, self._euis[item.user], next(self._alert_counter))
        response = Response("I0", datetime.now(UTC), DccAlert(code, event), response_id=response_id)
        label = f"DCC alert {code} ({item.event}) of {item.request_id}"
        self._queue(Outgoing(item.user, build_response(response), label))

    def _device_eui(self, name: Any) -> Eui64:
        config = self._rig.bench.devices.get(str(name))
        return config.eui if config is not None else Eui64(bytes(8))

    def _queue(self, message: Outgoing) -> None:
        url = self._config.response_urls.get(message.user)
        if self.closed or url is None:
            why = (
                "rig serve stopped before it was delivered"
                if self.closed
                else f"User {message.user} has no [[duis.user]] response_url in the bench file"
            )
            self._undelivered(message, url, why, 0)
            return
        queue = self._queues.get(message.user)
        if queue is None:
            queue = self._queues[message.user] = asyncio.Queue()
            self._workers.append(asyncio.create_task(self._work(message.user, url, queue)))
        queue.put_nowait(message)

    # -- delivery ------------------------------------------------------------------------------

    async def _work(self, user: str, url: str, queue: asyncio.Queue[Outgoing]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            message = await queue.get()
            try:
                signed = await loop.run_in_executor(self._pool, self._sign, message.xml)
                why, attempts = await self._post(user, url, signed)
            except asyncio.CancelledError:
                self._undelivered(message, url, "rig serve stopped before it was delivered", 0)
                raise
            except Exception as exc:  # a message that cannot be signed fails alone
                why, attempts = f"could not sign it: {exc}", 0
            if why is None:
                self._delivered(message, loop.time())
            else:
                self._undelivered(message, url, why, attempts)

    async def _post(self, user: str, url: str, body: bytes) -> tuple[str | None, int]:
        """POST until accepted or out of attempts: (None, n) or (why it failed, n)."""
        assert self._session is not None
        wait = self._config.retry_backoff_s
        why = ""
        for attempt in range(1, self._config.retry_attempts + 1):
            try:
                async with self._session.post(
                    url, data=body, headers={"Content-Type": "application/xml"}
                ) as answer:
                    await answer.read()
                    if 200 <= answer.status < 300:
                        if user in self._failing:
                            self._failing.discard(user)
                            _log.warning("DUIS: User %s's endpoint %s answers again", user, url)
                        return None, attempt
                    why = f"HTTP {answer.status} {answer.reason}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if user not in self._failing:
                self._failing.add(user)
                _log.warning(
                    "DUIS: User %s's endpoint %s failed (%s): retrying each message up to %d "
                    "times; undelivered ones are kept in the results",
                    user,
                    url,
                    why,
                    self._config.retry_attempts,
                )
            if attempt < self._config.retry_attempts:
                await asyncio.sleep(wait)
                wait *= 2
        return why, self._config.retry_attempts

    def _delivered(self, message: Outgoing, at: float) -> None:
        entry = message.entry
        if entry is not None:
            entry.record.stamps["posted"] = at
            self._finish(entry)

    def _undelivered(self, message: Outgoing, url: str | None, why: str, attempts: int) -> None:
        self.undelivered += 1
        reason = f"{message.what} not delivered to {url or 'no endpoint'}: {why}"
        if attempts:
            reason += f" (after {attempts} POSTs)"
        self._rig.note(
            {
                "kind": "undelivered",
                "user": message.user,
                "url": url,
                "what": message.what,
                "reason": reason,
                "attempts": attempts,
                "xml_b64": base64.b64encode(message.xml[:KEPT_XML]).decode(),
            }
        )
        entry = message.entry
        if entry is not None:
            record = entry.record
            record.fail(f"{record.reason}; {reason}" if record.reason else reason)
            self._finish(entry)

    def _finish(self, entry: InFlight) -> None:
        self._rig.note(entry.record)
        entry.done(entry.record)

    async def close(self) -> None:
        """Stop: what is still queued or being POSTed is kept undelivered with why."""
        self.closed = True
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        for user, queue in self._queues.items():
            while not queue.empty():
                message = queue.get_nowait()
                url = self._config.response_urls.get(user)
                self._undelivered(message, url, "rig serve stopped before it was delivered", 0)
        if self._session is not None:
            await self._session.close()
