"""A link that reconnects by itself, with bounded exponential backoff.

Contract (all callbacks on the loop's thread):

* ``on_closed(reason)``: the link is down. After a drop, ``reason`` is the inner link's (it
  starts with ``LINK_LOST``) and :attr:`ReconnectingLink.reconnecting` is True: frames sent now
  raise ``LinkClosedError`` and whatever was in flight will not be answered on this session. If
  every attempt fails, ``on_closed`` fires once more with a reason starting ``GAVE_UP``, and the
  link stays closed. After :meth:`close` it fires with ``"closed"`` and no reconnect follows.
* ``on_reopened()``: the link is up again after a drop; ``send`` works.

So a consumer needs one rule: ``on_closed`` means down (for the reason given), ``on_reopened``
means up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import serial

from devices.transports.hdlc import FrameKind
from devices.transports.link import LinkEvents, LinkFactory

_log = logging.getLogger(__name__)

GAVE_UP = "gave up reconnecting"


@dataclass(frozen=True)
class Backoff:
    """Waits before each reconnect attempt: ``initial``, times ``factor`` each retry, at most
    ``maximum``; ``attempts`` tries in all (None: until closed)."""

    initial: float = 0.05
    factor: float = 2.0
    maximum: float = 2.0
    attempts: int | None = 8

    def __post_init__(self) -> None:
        if self.initial < 0 or self.factor < 1 or self.maximum < self.initial:
            raise ValueError("need 0 <= initial <= maximum and factor >= 1")
        if self.attempts is not None and self.attempts < 1:
            raise ValueError("attempts must be at least 1 (or None)")

    def delays(self) -> Iterator[float]:
        delay, tried = self.initial, 0
        while self.attempts is None or tried < self.attempts:
            yield delay
            tried += 1
            delay = min(delay * self.factor, self.maximum)


class ReconnectingLink:
    """Wraps a link from ``make``; after an unrequested close it reopens the same link."""

    def __init__(self, make: LinkFactory, events: LinkEvents, backoff: Backoff | None = None):
        self.backoff = backoff or Backoff()
        self.reconnects = 0
        self._events = events
        self._inner = make(
            LinkEvents(
                on_frame=events.on_frame, on_error=events.on_error, on_closed=self._inner_closed
            )
        )
        self.url = self._inner.url
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def is_open(self) -> bool:
        return self._inner.is_open

    @property
    def reconnecting(self) -> bool:
        return self._task is not None and not self._task.done()

    async def open(self) -> None:
        self._closing = False
        await self._inner.open()

    def send(self, payload: bytes, kind: FrameKind = FrameKind.GBCS) -> float:
        return self._inner.send(payload, kind)

    def close(self) -> None:
        """Close for good, cancelling any reconnect; ``on_closed("closed")`` fires if the link
        was open or reconnecting. Idempotent."""
        self._closing = True
        was_reconnecting = self.reconnecting
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._inner.is_open:
            self._inner.close()
        elif was_reconnecting:
            self._events.on_closed("closed")

    def _inner_closed(self, reason: str) -> None:
        if self._closing:
            self._events.on_closed(reason)
            return
        self._task = asyncio.get_running_loop().create_task(self._reconnect())
        self._events.on_closed(reason)

    async def _reconnect(self) -> None:
        error: Exception | None = None
        tried = 0
        for tried, delay in enumerate(self.backoff.delays(), 1):
            await asyncio.sleep(delay)
            try:
                await self._inner.open()
            except (OSError, serial.SerialException) as exc:
                error = exc
                _log.info("%s: reconnect attempt %d failed: %s", self.url, tried, exc)
                continue
            self.reconnects += 1
            self._task = None
            self._events.on_reopened()
            return
        self._task = None
        self._closing = True
        self._events.on_closed(f"{GAVE_UP} after {tried} attempts: {error}")
