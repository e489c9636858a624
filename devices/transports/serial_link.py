"""A framed serial link on an asyncio loop: pyserial for the port, ``hdlc`` for the framing.

Any pyserial URL works: a device or pty path, ``rfc2217://``, ``socket://``, ``loop://``.
Ports with a file descriptor (ttys, ptys, sockets) are watched with ``loop.add_reader`` and read
and written with one system call each (``os.read``, ``os.write``: pyserial adds a select(2) and
its timeout bookkeeping to every call, about a tenth of the rig's CPU per request); pyserial
takes over a write the port cannot take at once, with its write timeout. The others get a
reader thread that hands bytes to the loop. Either way every callback runs on the
loop's thread, and a dropped link is reported once through ``on_closed``, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Any

import serial

from devices.transports.hdlc import (
    DEFAULT_MAX_PAYLOAD,
    FrameDecoder,
    FrameError,
    FrameKind,
    encode_frame,
)
from devices.transports.link import (
    ClosedCallback,
    ErrorCallback,
    FrameCallback,
    LinkClosedError,
    LinkEvents,
    LinkFactory,
    log_closed,
    log_error,
)

_log = logging.getLogger(__name__)

READ_CHUNK = 4096
THREAD_POLL_INTERVAL = 0.05  # how long a reader thread blocks per read, so close() can stop it
LINK_LOST = "link lost (peer gone or device removed)"  # starts every on_closed reason but "closed"


#: What a port that will not open means on a bench, by errno (docs/wiring.md "Serial ports").
_OPEN_HINTS = {
    errno.ENOENT: "no such port (unplugged, or the name mistyped?)",
    errno.ENODEV: "no such device (unplugged?)",
    errno.ENXIO: "no such device (unplugged?)",
    errno.EACCES: "permission denied (is the bench user in the dialout group?)",
    errno.EPERM: "permission denied (is the bench user in the dialout group?)",
    errno.EBUSY: "port busy (held by another program?)",
    errno.ECONNREFUSED: "connection refused (nothing listens there: is the serial server or "
    "the loopback forward running?)",
    errno.ETIMEDOUT: "connection timed out",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ENOTTY: "not a serial port",
}


class PortOpenError(LinkClosedError):
    """A port that would not open: ``str()`` is one line naming the port and the cause."""

    def __init__(self, url: str, cause: str) -> None:
        super().__init__(f"{url}: {cause}")
        self.url = url
        self.cause = cause


def open_failure_cause(exc: BaseException) -> str:
    """Why a port did not open, in a few words: pyserial's messages repeat the port name and
    nest the OS error (``could not open port X: [Errno 2] No such file or directory: 'X'``)."""
    number = getattr(exc, "errno", None)
    text = str(exc)
    if not isinstance(number, int):
        found = re.search(r"\[Errno (\d+)\]", text) or re.search(r"\((\d+), '", text)
        number = int(found.group(1)) if found else None
    if number in _OPEN_HINTS:
        return _OPEN_HINTS[number]
    if number is not None:
        return os.strerror(number)
    return text or type(exc).__name__


def _fileno(port: serial.SerialBase) -> int | None:
    try:
        return port.fileno()
    except OSError:  # io.UnsupportedOperation: loop://, rfc2217://
        return None


class SerialLink:
    """One framed serial link.

    ``on_frame(frame, received_at)`` gets every good frame, stamped with ``loop.time()`` when
    the read that completed it returned. ``on_error`` gets each rejected frame, and any
    exception raised by ``on_frame``. ``on_closed(reason)`` fires once when the link drops or
    is closed.
    """

    def __init__(
        self,
        url: str,
        *,
        on_frame: FrameCallback,
        on_error: ErrorCallback = log_error,
        on_closed: ClosedCallback = log_closed,
        baudrate: int = 115200,
        write_timeout: float = 2.0,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
    ) -> None:
        self.url = url
        self.baudrate = baudrate
        self.write_timeout = write_timeout
        self.decoder = FrameDecoder(max_payload)
        self._on_frame = on_frame
        self._on_error = on_error
        self._on_closed = on_closed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._port: serial.SerialBase | None = None
        self._fd: int | None = None
        self._thread: threading.Thread | None = None
        self._stop_thread = threading.Event()

    @classmethod
    def factory(cls, url: str, **options: Any) -> LinkFactory:
        """A :data:`~devices.transports.link.LinkFactory` for this URL (options as for
        ``__init__``), for the wrappers that stack on a link."""

        def make(events: LinkEvents) -> SerialLink:
            return cls(
                url,
                on_frame=events.on_frame,
                on_error=events.on_error,
                on_closed=events.on_closed,
                **options,
            )

        return make

    @property
    def is_open(self) -> bool:
        return self._port is not None

    async def open(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Open the port (off the loop: RFC 2217 negotiation can take a while) and start
        reading. ``loop`` defaults to the running loop. A port that will not open raises
        :class:`PortOpenError` (one line: the port and why)."""
        if self._port is not None:
            raise RuntimeError(f"{self.url} is already open")
        loop = loop or asyncio.get_running_loop()
        options: dict[str, Any] = {"baudrate": self.baudrate, "timeout": 0}
        if not self.url.startswith("rfc2217://"):  # pyserial 3.5's RFC 2217 client has none
            options["write_timeout"] = self.write_timeout
        try:
            port = await loop.run_in_executor(
                None, functools.partial(serial.serial_for_url, self.url, **options)
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortOpenError(self.url, open_failure_cause(exc)) from exc
        self._loop, self._port = loop, port
        self._new_session()
        self._fd = _fileno(port)
        if self._fd is not None:
            loop.add_reader(self._fd, self._read_ready)
        else:
            port.timeout = THREAD_POLL_INTERVAL
            self._stop_thread.clear()
            self._thread = threading.Thread(
                target=self._read_thread, name=f"SerialLink({self.url})", daemon=True
            )
            self._thread.start()

    def send(self, payload: bytes, kind: FrameKind = FrameKind.GBCS) -> float:
        """Write one frame; return ``loop.time()`` when the write returned.

        That is when the whole frame was handed to the OS: on a pty the peer can read it; on a
        UART the last byte leaves the wire up to (bytes still queued) x 10 / baud later.
        Raises LinkClosedError if the link is not open, ``serial.SerialTimeoutException`` if
        the peer stops reading for ``write_timeout`` (not on ``rfc2217://``, which pyserial 3.5
        gives no write timeout: there a write blocks while the socket buffer is full).
        """
        if len(payload) > self.decoder.max_payload:
            raise ValueError(
                f"payload of {len(payload)} bytes exceeds max_payload {self.decoder.max_payload}"
            )
        return self._write(encode_frame(kind, payload))

    def _new_session(self) -> None:
        """Reset the decoding state on open: no half frame from a past session."""
        self.decoder = FrameDecoder(self.decoder.max_payload)

    def _write(self, data: bytes) -> float:
        """Write bytes already framed; the timing and failure rules of :meth:`send`."""
        if self._port is None or self._loop is None:
            raise LinkClosedError(f"{self.url} is not open")
        try:
            written = 0
            if self._fd is not None:
                # a full buffer (BlockingIOError) leaves it all to pyserial, which waits
                with contextlib.suppress(BlockingIOError):
                    written = os.write(self._fd, data)
            if written < len(data):
                self._port.write(data[written:])
        except serial.SerialTimeoutException:
            raise
        except (serial.SerialException, OSError) as exc:
            self._shutdown(f"write failed: {exc}")
            raise LinkClosedError(f"{self.url}: write failed: {exc}") from exc
        return self._loop.time()

    def close(self) -> None:
        """Close the link; ``on_closed("closed")`` fires if it was open. Idempotent."""
        self._shutdown("closed")

    def _shutdown(self, reason: str) -> None:
        port, self._port = self._port, None
        if port is None:
            return
        if self._fd is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._fd)
        self._fd = None
        if self._thread is not None:
            self._stop_thread.set()
            if self._thread is not threading.current_thread():
                self._thread.join(timeout=1.0)
            self._thread = None
        try:
            port.close()
        except (serial.SerialException, OSError) as exc:
            _log.debug("closing %s: %s", self.url, exc)
        self._on_closed(reason)

    def _read_ready(self) -> None:
        if self._fd is None or self._loop is None:
            return
        try:
            data = os.read(self._fd, READ_CHUNK)
        except BlockingIOError:  # woken for nothing (another reader took it)
            return
        except OSError as exc:  # EIO: the pty's other end is gone
            self._shutdown(f"{LINK_LOST}: {exc}")
            return
        if not data:  # readable with nothing to read: end of file, the peer closed
            peer = (
                "the far end closed the connection" if "://" in self.url else "peer closed the port"
            )
            self._shutdown(f"{LINK_LOST}: end of file ({peer})")
            return
        self._deliver(data, self._loop.time())

    def _read_thread(self) -> None:
        port, loop = self._port, self._loop
        assert port is not None and loop is not None
        while not self._stop_thread.is_set():
            try:
                data = port.read(max(1, port.in_waiting))
                received_at = loop.time()
            except Exception as exc:  # any port type, any failure: the link is gone
                if not self._stop_thread.is_set():
                    self._call_from_thread(self._thread_lost, port, f"{LINK_LOST}: {exc}")
                return
            if data and not self._call_from_thread(self._deliver, data, received_at):
                return

    def _call_from_thread(self, callback: Callable[..., None], *args: object) -> bool:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed
            return False
        return True

    def _thread_lost(self, port: serial.SerialBase, reason: str) -> None:
        if self._port is port:  # not already closed or reopened
            self._shutdown(reason)

    def _deliver(self, data: bytes, received_at: float) -> None:
        """Decode bytes read at ``received_at`` and hand on frames and errors."""
        for item in self.decoder.feed(data):
            if self._port is None:  # closed by a callback, or before a thread's hand-over ran
                return
            if isinstance(item, FrameError):
                self._on_error(item)
                continue
            try:
                self._on_frame(item, received_at)
            except Exception as exc:
                self._on_error(exc)
