"""What every framed link offers, so wrappers (reconnect, fault injection) stack on any of them.

A link is built from a :class:`LinkEvents` (its callbacks) by a :data:`LinkFactory`; wrappers
take a factory, build the inner link with their own events, and present the same interface.
All callbacks run on the loop's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from devices.transports.hdlc import Frame, FrameError, FrameKind

_log = logging.getLogger(__name__)

FrameCallback = Callable[[Frame, float], None]
ErrorCallback = Callable[[FrameError | Exception], None]
ClosedCallback = Callable[[str], None]
ReopenedCallback = Callable[[], None]


class LinkClosedError(ConnectionError):
    """The link is not open (never opened, closed, or dropped)."""


def log_error(error: FrameError | Exception) -> None:
    _log.warning("link error: %s", error)


def log_closed(reason: str) -> None:
    _log.info("link closed: %s", reason)


def log_reopened() -> None:
    _log.info("link reopened")


@dataclass(frozen=True)
class LinkEvents:
    """A link's callbacks.

    ``on_frame(frame, received_at)``: every good frame. ``on_error``: rejected frames and
    consumer exceptions. ``on_closed(reason)``: the link went down; ``reason`` is ``"closed"``
    after :meth:`Link.close`. ``on_reopened()``: a link that reconnects by itself is up again
    (only such links call it).
    """

    on_frame: FrameCallback
    on_error: ErrorCallback = log_error
    on_closed: ClosedCallback = log_closed
    on_reopened: ReopenedCallback = log_reopened


class Link(Protocol):
    """A framed, bidirectional link (``SerialLink`` and the wrappers around it)."""

    url: str

    @property
    def is_open(self) -> bool: ...

    async def open(self) -> None:
        """Connect on the running loop; raise if the first connection fails."""
        ...

    def send(self, payload: bytes, kind: FrameKind = FrameKind.GBCS) -> float:
        """Write one frame; return the loop time it was handed to the OS.

        Raises ``LinkClosedError`` (a ``ConnectionError``) while the link is down.
        """
        ...

    def close(self) -> None:
        """Close for good; ``on_closed("closed")`` fires if it was open. Idempotent."""
        ...


LinkFactory = Callable[[LinkEvents], Link]
