"""Host a pure firmware stub behind a pty, in its own process; and start such a process.

Child side: :func:`serve` puts a :class:`Firmware` on the master end of a fresh pty pair,
announces the slave path, and runs until SIGTERM, SIGINT or the parent's end of stdin closes.
The framing and scheduling logic is :class:`EmulatorCore`, pure and testable without a pty;
``serve`` only moves bytes and arms timers.

Parent side: :func:`spawn_emulator` starts the child, waits for its ready line and returns an
:class:`EmulatorProcess` naming the port to open.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import itertools
import json
import logging
import os
import selectors
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import IO, Protocol, Self, runtime_checkable

import click

from devices.transports.hdlc import (
    DEFAULT_MAX_PAYLOAD,
    FrameDecoder,
    FrameError,
    FrameKind,
    LinkControl,
    LinkOp,
    encode_frame,
)
from devices.transports.loopback import check_loopback
from devices.transports.pty_pair import PtyPair, open_pty_pair

_log = logging.getLogger(__name__)

#: (delay in seconds from ``now``, GBCS bytes to send): the firmware's processing-time model.
Output = list[tuple[float, bytes]]

#: Framed bytes waiting for a slow or absent reader, beyond which whole frames are dropped.
MAX_BACKLOG = 64 * 1024


class Firmware(Protocol):
    """A device's behaviour as a pure function of frames and time: no I/O, no wall clock."""

    def handle(self, frame: bytes, now: float) -> Output:
        """React to one GBCS frame received at ``now`` (monotonic seconds)."""
        ...


@runtime_checkable
class TickingFirmware(Firmware, Protocol):
    """A firmware with unsolicited output (alerts): the host calls ``tick`` periodically."""

    def tick(self, now: float) -> Output:
        """Return what the device sends of its own accord at ``now``."""
        ...


class EmulatorCore:
    """The device end of a link, sans I/O: bytes in, frames due at given times out.

    Link control is answered here: PING gets a PONG with the same token; RESET drops every
    frame scheduled but not yet sent, then PONGs (so the PONG marks a clean point in the stream).
    """

    def __init__(self, firmware: Firmware, *, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        self.firmware = firmware
        self.decoder = FrameDecoder(max_payload)
        self._queue: list[tuple[float, int, bytes]] = []
        self._seq = itertools.count()

    def receive(self, data: bytes, now: float) -> list[FrameError | Exception]:
        """Decode ``data``, run the firmware on each GBCS frame; return the rejected frames."""
        errors: list[FrameError | Exception] = []
        for item in self.decoder.feed(data):
            if isinstance(item, FrameError):
                errors.append(item)
            elif item.kind is FrameKind.GBCS:
                self._schedule(now, self.firmware.handle(item.payload, now))
            else:
                self._link_control(item.payload, now)
        return errors

    def tick(self, now: float) -> None:
        if isinstance(self.firmware, TickingFirmware):
            self._schedule(now, self.firmware.tick(now))

    def next_due(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def pop_due(self, now: float) -> list[bytes]:
        """Framed bytes of every frame due by ``now``, in due order (ties: scheduling order)."""
        due = []
        while self._queue and self._queue[0][0] <= now:
            due.append(heapq.heappop(self._queue)[2])
        return due

    def _schedule(self, now: float, output: Output, kind: FrameKind = FrameKind.GBCS) -> None:
        for delay, payload in output:
            if delay < 0:
                raise ValueError(f"firmware asked for a negative delay: {delay}")
            if len(payload) > self.decoder.max_payload:
                raise ValueError(f"firmware output of {len(payload)} bytes exceeds max_payload")
            wire = self._encode(kind, payload)
            heapq.heappush(self._queue, (now + delay, next(self._seq), wire))

    def _encode(self, kind: FrameKind, payload: bytes) -> bytes:
        """The wire bytes of one output frame (a core with another framing overrides this)."""
        return encode_frame(kind, payload)

    def _link_control(self, payload: bytes, now: float) -> None:
        try:
            control = LinkControl.decode(payload)
        except ValueError as exc:
            _log.warning("ignored link-control frame: %s", exc)
            return
        if control.op is LinkOp.RESET:
            self._queue.clear()
        if control.op in (LinkOp.PING, LinkOp.RESET):
            pong = LinkControl(LinkOp.PONG, control.token).encode()
            self._schedule(now, [(0.0, pong)], FrameKind.LINK)


def stdin_is_parent_pipe() -> bool:
    """True when stdin is a pipe or socket: a parent holds the other end."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):  # stdin closed or replaced
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def announce_ready(port: str, *more: str) -> None:
    """The default ``ready``: one JSON line on stdout naming the port (``ports``: all of a
    group's, in order), then stdout becomes stderr, so stray prints can never fill a pipe the
    parent has stopped reading."""
    ready = {"event": "ready", "port": port, "ports": [port, *more], "pid": os.getpid()}
    print(json.dumps(ready), flush=True)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


#: What an emulator makes observable on the bench, e.g. ``{"supply": "connected"}``.
Observation = Mapping[str, object]


class StateReporter:
    """Tells a bench instrument what the emulated device's hardware is doing (its supply
    contactor, say): one JSON datagram to a loopback UDP address whenever ``observe()``
    changes, and once at start. Fire and forget: the device never waits for the bench.

    Datagram: ``{"event": "state", "pid": …, "at": <time.monotonic()>, **observe()}``.
    """

    def __init__(self, observe: Callable[[], Observation], address: tuple[str, int]) -> None:
        self._observe = observe
        self._address = address
        self._last: dict[str, object] | None = None
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sent = 0

    def poll(self, now: float) -> None:
        state = dict(self._observe())
        if state == self._last:
            return
        self._last = state
        datagram = json.dumps({"event": "state", "pid": os.getpid(), "at": now, **state})
        try:
            self._socket.sendto(datagram.encode(), self._address)
            self.sent += 1
        except OSError as exc:  # nobody listening is not the device's problem
            _log.warning("state report to %s:%d failed: %s", *self._address, exc)

    def close(self) -> None:
        self._socket.close()


class _Host:
    """The I/O shell around an :class:`EmulatorCore` on a pty master, on an asyncio loop."""

    def __init__(
        self,
        core: EmulatorCore,
        pty: PtyPair,
        tick_interval: float,
        done: asyncio.Future[BaseException | None],
        reporter: StateReporter | None = None,
    ) -> None:
        self._core = core
        self._reporter = reporter
        self._fd = pty.master_fd
        self._tick_interval = tick_interval
        self._loop = asyncio.get_running_loop()
        #: Shared by every host of the process: set (with the failure, if any) to stop them all.
        self._done = done
        self._backlog = bytearray()
        self._writing = False
        self._send_timer: asyncio.TimerHandle | None = None
        self._tick_timer: asyncio.TimerHandle | None = None
        self.dropped = 0

    async def run(self) -> None:
        """Serve until the shared ``done`` is set; re-raise whatever broke a firmware or pty."""
        loop = self._loop
        os.set_blocking(self._fd, False)
        loop.add_reader(self._fd, self._guarded, self._on_master_readable)
        if isinstance(self._core.firmware, TickingFirmware):
            self._tick_timer = loop.call_later(self._tick_interval, self._guarded, self._tick)
        self._report()
        try:
            failure = await asyncio.shield(self._done)
        finally:
            loop.remove_reader(self._fd)
            if self._writing:
                loop.remove_writer(self._fd)
            for timer in (self._send_timer, self._tick_timer):
                if timer is not None:
                    timer.cancel()
        if failure is not None:
            raise failure

    def _guarded(self, callback: Callable[[], None]) -> None:
        """Run a loop callback; a failure ends the process instead of being logged and ignored."""
        try:
            callback()
        except Exception as exc:
            _stop(self._done, exc)

    def _on_master_readable(self) -> None:
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        for error in self._core.receive(data, self._loop.time()):
            _log.warning("rejected %s", error)
        self._report()
        self._send_due()

    def _report(self) -> None:
        if self._reporter is not None:
            self._reporter.poll(self._loop.time())

    def _tick(self) -> None:
        self._core.tick(self._loop.time())
        self._report()
        self._send_due()
        self._tick_timer = self._loop.call_later(self._tick_interval, self._guarded, self._tick)

    def _send_due(self) -> None:
        for wire in self._core.pop_due(self._loop.time()):
            if len(self._backlog) + len(wire) > MAX_BACKLOG:
                self.dropped += 1
                _log.warning("nobody is reading the port: dropped a %d-byte frame", len(wire))
            else:
                self._backlog += wire
        self._flush()
        if self._send_timer is not None:
            self._send_timer.cancel()
        due = self._core.next_due()
        self._send_timer = (
            None if due is None else self._loop.call_at(due, self._guarded, self._send_due)
        )

    def _flush(self) -> None:
        if self._backlog:
            try:
                written = os.write(self._fd, self._backlog)
            except BlockingIOError:
                written = 0
            del self._backlog[:written]
        if self._backlog and not self._writing:
            self._loop.add_writer(self._fd, self._guarded, self._flush)
        elif not self._backlog and self._writing:
            self._loop.remove_writer(self._fd)
        self._writing = bool(self._backlog)


#: ``--clock-skew`` of the emulator processes (esme.py, hub.py): the clock-skew fault (issue 5).
clock_skew_option = click.option(
    "--clock-skew",
    "clock_skew",
    type=float,
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="Fault: the device clock runs this many seconds ahead of the host's (negative: behind).",
)


def device_clock_offset(skew_s: float, *, host_offset: float | None = None) -> float:
    """The firmware's ``wall_clock_offset`` (wall-clock minus monotonic seconds): the host's,
    ``time.time() - time.monotonic()`` unless ``host_offset`` is given, plus ``skew_s``, so every
    date-time the firmware derives from its clock is shifted by ``skew_s``. A non-zero skew is
    logged as a fault on stderr."""
    if skew_s:
        _log_to_stderr()
        _log.warning("fault clock_skew: device clock %+.3f s from the host's", skew_s)
    base = time.time() - time.monotonic() if host_offset is None else host_offset
    return base + skew_s


def _log_to_stderr() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s: %(message)s"
        )


def serve(
    firmware: Firmware,
    *,
    ready: Callable[..., None] | None = None,
    tick_interval: float = 1.0,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
    observe: Callable[[], Observation] | None = None,
    report_to: tuple[str, int] | None = None,
    make_core: Callable[[Firmware], EmulatorCore] | None = None,
) -> None:
    """Serve ``firmware`` on a new pty until SIGTERM/SIGINT or stdin (a pipe) closes.

    ``ready`` is called with the slave path once the port is up; by default
    :func:`announce_ready`. ``now`` handed to the firmware is ``loop.time()``, i.e.
    ``time.monotonic()``. An exception from the firmware stops the host and propagates.
    With ``observe`` and ``report_to`` (a loopback UDP address), a :class:`StateReporter`
    sends ``observe()`` there at start and whenever it changes after a frame or a tick.
    ``make_core`` replaces the HDLC framing with another wire (e.g. a ZigBee bridge's).
    """
    if (observe is None) != (report_to is None):
        raise ValueError("observe and report_to go together")
    core = make_core(firmware) if make_core else EmulatorCore(firmware, max_payload=max_payload)
    reporter = None
    if observe is not None and report_to is not None:
        check_loopback(report_to[0])
        reporter = StateReporter(observe, report_to)
    try:
        _serve([core], ready, tick_interval, reporter)
    finally:
        if reporter is not None:
            reporter.close()


def serve_group(
    firmwares: Sequence[Firmware],
    *,
    ready: Callable[..., None] | None = None,
    tick_interval: float = 1.0,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
) -> None:
    """Serve several devices from one process, each on a pty of its own, as :func:`serve`
    serves one; ``ready`` gets the slave paths in ``firmwares`` order. One process and one
    loop for a bench's meters costs less CPU per request than a process each: the loop sleeps
    less between frames, and a process woken from sleep runs its first frames slower
    (docs/load.md "One process for the emulated meters"). A failure of any device stops all."""
    if not firmwares:
        raise ValueError("serve_group needs at least one firmware")
    _serve([EmulatorCore(f, max_payload=max_payload) for f in firmwares], ready, tick_interval)


def _serve(
    cores: Sequence[EmulatorCore],
    ready: Callable[..., None] | None,
    tick_interval: float,
    reporter: StateReporter | None = None,
) -> None:
    """Each core on a new pty, one loop, until a signal, the parent's going or a failure."""
    if tick_interval <= 0:
        raise ValueError("tick_interval must be positive")
    _log_to_stderr()

    async def main(ptys: Sequence[PtyPair]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[BaseException | None] = loop.create_future()
        hosts = [
            _Host(core, pty, tick_interval, done, reporter)
            for core, pty in zip(cores, ptys, strict=True)
        ]
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, _stop, done, None)
        watch_stdin = stdin_is_parent_pipe()
        if watch_stdin:
            loop.add_reader(sys.stdin.fileno(), _on_stdin_readable, done)
        # What start-up made lives as long as the process: out of the collector's scans, so
        # a full collection does not stall the device for tens of ms (as it did the rig's loop).
        gc.collect()
        gc.freeze()
        (ready or announce_ready)(*(pty.slave_path for pty in ptys))
        try:
            await asyncio.gather(*(host.run() for host in hosts))
        finally:
            if watch_stdin:
                loop.remove_reader(sys.stdin.fileno())
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    with contextlib.ExitStack() as stack:
        ptys = [stack.enter_context(open_pty_pair()) for _ in cores]
        runner = stack.enter_context(asyncio.Runner(loop_factory=precise_loop))
        runner.run(main(ptys))


def _stop(done: asyncio.Future[BaseException | None], failure: BaseException | None) -> None:
    if not done.done():
        done.set_result(failure)


def _on_stdin_readable(done: asyncio.Future[BaseException | None]) -> None:
    if not os.read(sys.stdin.fileno(), 4096):
        _log.info("stdin closed: the parent is gone, exiting")
        _stop(done, None)


def precise_loop() -> asyncio.AbstractEventLoop:
    """An event loop whose timers fire to the microsecond: select(2) takes its timeout in
    microseconds where epoll rounds it up to a whole millisecond, which turned a 0.5 ms
    processing time into about 1 ms (the rig's own loop does the same, docs/load.md). The host
    watches two descriptors (the pty master and stdin)."""
    return asyncio.SelectorEventLoop(selectors.SelectSelector())


class EmulatorError(RuntimeError):
    """The emulator process failed to start."""


def _tail(file: IO[bytes], limit: int = 4096) -> str:
    """The end of a file the child still appends to (pread: the shared offset is untouched)."""
    size = os.fstat(file.fileno()).st_size
    data = os.pread(file.fileno(), limit, max(0, size - limit))
    return data.decode("utf-8", "replace")


class EmulatorProcess:
    """A running emulator: its ``port`` (slave pty path; ``ports``: every port of a group, in
    order) and ``pid``. Stop it, or use ``with``."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        stderr: IO[bytes],
        port: str,
        ports: Sequence[str] = (),
    ) -> None:
        self.port = port
        self.ports = list(ports) or [port]
        self.pid = process.pid
        self._process = process
        self._stderr = stderr
        self._final_stderr: str | None = None

    @property
    def returncode(self) -> int | None:
        """None while running."""
        return self._process.poll()

    def stderr_tail(self) -> str:
        """The last few KiB the emulator wrote to stderr (its log)."""
        return self._final_stderr if self._final_stderr is not None else _tail(self._stderr)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the emulator to exit; raise ``subprocess.TimeoutExpired`` after ``timeout``."""
        return self._process.wait(timeout)

    def stop(self, grace: float = 2.0) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds; return the exit status. Idempotent."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(grace)
            except subprocess.TimeoutExpired:
                self._process.kill()
        returncode = self._process.wait()
        if self._final_stderr is None:
            self._final_stderr = _tail(self._stderr)
            self._stderr.close()
            if self._process.stdin is not None:
                self._process.stdin.close()
        return returncode

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _await_ready(process: subprocess.Popen[bytes], timeout: float) -> list[str]:
    """Read the child's stdout until its ready line; return the ports it names."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    deadline = time.monotonic() + timeout
    buffered = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # not ours: anything printed before the ready line
                if isinstance(event, dict) and event.get("event") == "ready":
                    return [str(port) for port in event.get("ports") or [event["port"]]]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no ready line within {timeout} s")
            if selector.select(remaining):
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise EOFError("exited before its ready line")
                buffered += chunk


def spawn_emulator(argv: list[str], timeout: float = 10.0) -> EmulatorProcess:
    """Start an emulator (e.g. ``[sys.executable, "-m", "devices.emulated.esme", ...]``) and wait
    up to ``timeout`` seconds for its ready line.

    Its stdin is a pipe the child watches, so it exits when this process dies; its stderr goes
    to a temporary file (never a pipe that could fill up). Raises :class:`EmulatorError`, with
    the child's stderr tail, if it dies or stays silent.
    """
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 (the EmulatorProcess owns and closes it)
    try:
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr
        )
    except BaseException:
        stderr.close()
        raise
    assert process.stdout is not None
    try:
        ports = _await_ready(process, timeout)
    except BaseException as exc:
        emulator = EmulatorProcess(process, stderr, port="")
        emulator.stop(grace=0.5)
        if isinstance(exc, TimeoutError | EOFError):
            raise EmulatorError(
                f"emulator {argv!r} {exc} (exit status {emulator.returncode});"
                f" stderr tail:\n{emulator.stderr_tail()}"
            ) from None
        raise
    finally:
        process.stdout.close()
    return EmulatorProcess(process, stderr, ports[0], ports)
