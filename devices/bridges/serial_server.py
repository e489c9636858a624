"""A tiny ser2net: one serial port served on a loopback TCP port, raw or as RFC 2217.

Put it in front of an emulator's pty and the same device code runs over ``socket://`` and
``rfc2217://`` as over the pty itself. One client at a time; each connection opens the port
afresh and closing either side ends the session (the client sees its link lost).

Run as a process: ``python -m devices.bridges.serial_server --port /dev/pts/N
--listen 127.0.0.1:0 [--rfc2217]`` prints the emulator host's JSON ready line naming the URL
to open, so :func:`devices.emulated.host.spawn_emulator` starts it like any emulator.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import socket
import sys
import threading
from types import TracebackType
from typing import Self

import click
import serial
import serial.rfc2217

from devices.emulated.host import announce_ready, stdin_is_parent_pipe
from devices.transports.loopback import check_loopback, parse_loopback

_log = logging.getLogger(__name__)

POLL_INTERVAL = 0.05  # how long a blocking read waits, so a stop request is seen promptly
_NO_MODEM_LINES = (errno.ENOTTY, errno.EINVAL)


class LenientSerial(serial.Serial):
    """A POSIX port whose modem lines read as inactive, and ignore writes, where the device has
    none (ptys, some USB adapters): RFC 2217 clients set and poll them regardless."""

    def _modem_line(self, name: str) -> bool:
        try:
            return bool(getattr(super(), name))
        except OSError as exc:
            if exc.errno not in _NO_MODEM_LINES:
                raise
            return False

    @property
    def cts(self) -> bool:
        return self._modem_line("cts")

    @property
    def dsr(self) -> bool:
        return self._modem_line("dsr")

    @property
    def ri(self) -> bool:
        return self._modem_line("ri")

    @property
    def cd(self) -> bool:
        return self._modem_line("cd")

    def _ignoring_missing_lines(self, update: str) -> None:
        try:
            getattr(super(), update)()
        except OSError as exc:
            if exc.errno not in _NO_MODEM_LINES:
                raise

    def _update_rts_state(self) -> None:
        self._ignoring_missing_lines("_update_rts_state")

    def _update_dtr_state(self) -> None:
        self._ignoring_missing_lines("_update_dtr_state")

    def _update_break_state(self) -> None:
        self._ignoring_missing_lines("_update_break_state")


class _Connection:
    """What PortManager writes to: the client socket, one writer at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            self.sock.sendall(data)


class SerialServer:
    """Serve ``device`` (a tty or pty path) on ``host:port`` until :meth:`close`."""

    def __init__(
        self,
        device: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rfc2217: bool = False,
        baudrate: int = 115200,
    ) -> None:
        check_loopback(host)
        self.device = device
        self.rfc2217 = rfc2217
        self.baudrate = baudrate
        self.sessions = 0
        self._listener = socket.create_server((host, port), backlog=1)
        self._listener.settimeout(POLL_INTERVAL)
        self._stop = threading.Event()
        self._client: socket.socket | None = None
        self._in_session = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name=f"serve {device}")

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"{'rfc2217' if self.rfc2217 else 'socket'}://{host}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def wait_for_session(self, timeout: float) -> bool:
        """Block until a client is connected and the port is open; False on timeout."""
        return self._in_session.wait(timeout)

    def drop_client(self) -> bool:
        """Cut the current connection, as a terminal server restarting would; True if there
        was one. The server keeps listening."""
        client = self._client
        if client is None:
            return False
        try:
            client.shutdown(socket.SHUT_RDWR)
        except OSError:
            return False
        return True

    def close(self) -> None:
        """Stop serving; idempotent."""
        self._stop.set()
        self.drop_client()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._listener.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, peer = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            _log.info("client %s connected", peer)
            with client:
                self._client = client
                try:
                    self._session(client)
                finally:
                    self._client = None
            _log.info("client %s gone", peer)

    def _session(self, client: socket.socket) -> None:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            port = LenientSerial(self.device, self.baudrate, timeout=POLL_INTERVAL)
        except (serial.SerialException, OSError) as exc:
            _log.warning("cannot open %s: %s", self.device, exc)
            return
        self.sessions += 1
        self._in_session.set()
        connection = _Connection(client)
        manager = serial.rfc2217.PortManager(port, connection) if self.rfc2217 else None
        done = threading.Event()
        upstream = threading.Thread(
            target=self._port_to_client, args=(port, connection, manager, done), daemon=True
        )
        upstream.start()
        try:
            while not done.is_set():
                try:
                    data = client.recv(4096)
                except OSError:
                    break
                if not data:
                    break
                if manager is not None:
                    data = b"".join(manager.filter(data))
                if data:
                    port.write(data)
        except (serial.SerialException, OSError) as exc:
            _log.warning("%s: %s", self.device, exc)
        finally:
            self._in_session.clear()
            done.set()
            upstream.join(timeout=2.0)
            port.close()

    def _port_to_client(
        self,
        port: serial.Serial,
        connection: _Connection,
        manager: serial.rfc2217.PortManager | None,
        done: threading.Event,
    ) -> None:
        try:
            while not done.is_set():
                data = port.read(max(1, port.in_waiting))
                if manager is not None:
                    manager.check_modem_lines()
                    data = b"".join(manager.escape(data))
                if data:
                    connection.write(data)
        except (OSError, serial.SerialException) as exc:
            if not done.is_set():
                _log.info("session over: %s", exc)
        finally:
            done.set()
            with contextlib.suppress(OSError):  # wake the other direction's recv
                connection.sock.shutdown(socket.SHUT_RDWR)


@click.command()
@click.option("--port", "device", required=True, help="The serial port (tty or pty path).")
@click.option("--listen", default="127.0.0.1:0", show_default=True, help="Loopback HOST:PORT.")
@click.option("--rfc2217/--raw", default=False, help="Speak RFC 2217 (default: raw TCP).")
def main(device: str, listen: str, rfc2217: bool) -> None:
    """Serve a serial port on loopback TCP; print a JSON ready line naming the URL.

    Runs until SIGTERM, SIGINT or, when stdin is a pipe, its end of file (the parent died).
    """
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(name)s: %(message)s")
    try:
        host, port = parse_loopback(listen)
    except ValueError as exc:
        raise click.BadParameter(f"--listen: {exc}") from None
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    with SerialServer(device, host=host, port=port, rfc2217=rfc2217) as server:
        announce_ready(server.url)
        if stdin_is_parent_pipe():
            while os.read(sys.stdin.fileno(), 4096):
                pass
        else:
            while True:
                signal.pause()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    main()
