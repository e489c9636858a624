"""Host a pure firmware stub behind a pty, in its own process; and start such a process.

Child side: :func:`serve` puts a :class:`Firmware` on the master end of a fresh pty pair,
announces the slave path, and runs until SIGTERM, SIGINT or the parent's end of stdin closes.
The framing and scheduling logic is :class:`EmulatorCore`, pure and testable without a pty;
``serve`` only moves bytes and arms timers.

Parent side: :func:`spawn_emulator` starts the child, waits for its ready line and returns an
:class:`EmulatorProcess` naming the port to open.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import itertools
import json
import logging
import os
import select
import selectors
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
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

    def commands(self) -> list[dict[str, object]]:
        """What the bench answered to the reports (its relay, say), never waiting: each
        datagram a JSON object; anything else is logged and skipped."""
        found: list[dict[str, object]] = []
        while True:
            try:
                data = self._socket.recv(4096, socket.MSG_DONTWAIT)
            except OSError:  # nothing (more) waiting, or never sent from yet
                return found
            try:
                command = json.loads(data)
            except ValueError:
                command = None
            if isinstance(command, dict):
                found.append(command)
            else:
                _log.warning("ignored a bench command %r", data[:80])

    def close(self) -> None:
        self._socket.close()


class _Host:
    """The I/O shell around an :class:`EmulatorCore` on a pty master; :func:`_run_hosts`'s
    select loop calls it when its pty is readable or writable and when its time comes."""

    def __init__(
        self,
        core: EmulatorCore,
        pty: PtyPair,
        tick_interval: float,
        reporter: StateReporter | None = None,
    ) -> None:
        self.core = core
        self.fd = pty.master_fd
        os.set_blocking(self.fd, False)
        self._reporter = reporter
        self._tick_interval = tick_interval
        self._next_tick: float | None = None
        #: Framed bytes the pty has not taken yet (the loop waits for it to be writable).
        self.backlog = bytearray()
        self.dropped = 0

    def start(self, now: float) -> None:
        """The port is announced: the first tick is one interval away; report the state."""
        if isinstance(self.core.firmware, TickingFirmware):
            self._next_tick = now + self._tick_interval
        self._report(now)

    def next_wake(self) -> float | None:
        """The monotonic time of the next frame due or tick, if any."""
        due, tick = self.core.next_due(), self._next_tick
        if due is None or tick is None:
            return tick if due is None else due
        return min(due, tick)

    def on_readable(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        now = time.monotonic()
        for error in self.core.receive(data, now):
            _log.warning("rejected %s", error)
        self._report(now)
        self._send_due(now)

    def on_time(self, now: float) -> None:
        """Tick if the tick is due, and send whatever is due by ``now``."""
        if self._next_tick is not None and now >= self._next_tick:
            self.core.tick(now)
            self._report(now)
            self._next_tick = time.monotonic() + self._tick_interval
        self._send_due(now)

    def _report(self, now: float) -> None:
        if self._reporter is not None:
            self._reporter.poll(now)

    def _send_due(self, now: float) -> None:
        for wire in self.core.pop_due(now):
            if len(self.backlog) + len(wire) > MAX_BACKLOG:
                self.dropped += 1
                _log.warning("nobody is reading the port: dropped a %d-byte frame", len(wire))
            else:
                self.backlog += wire
        self.flush()

    def flush(self) -> None:
        if self.backlog:
            try:
                written = os.write(self.fd, self.backlog)
            except BlockingIOError:
                written = 0
            del self.backlog[:written]


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
    :func:`announce_ready`. ``now`` handed to the firmware is ``time.monotonic()``. An
    exception from the firmware stops the host and propagates. With ``observe`` and
    ``report_to`` (a loopback UDP address), a :class:`StateReporter`
    sends ``observe()`` there at start and whenever it changes after a frame or a tick.
    ``make_core`` replaces the HDLC framing with another wire (e.g. an emulated RCP's Spinel).
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
    make_core: Callable[[Firmware], EmulatorCore] | None = None,
) -> None:
    """Serve several devices from one process, each on a pty of its own, as :func:`serve`
    serves one (``make_core`` as there); ``ready`` gets the slave paths in ``firmwares``
    order. One process and one loop for a bench's meters costs less CPU per request than a
    process each: the loop sleeps less between frames, and a process woken from sleep runs its
    first frames slower
    (docs/load.md "One process for the emulated meters"). A failure of any device stops all."""
    if not firmwares:
        raise ValueError("serve_group needs at least one firmware")
    cores = [
        make_core(f) if make_core else EmulatorCore(f, max_payload=max_payload) for f in firmwares
    ]
    _serve(cores, ready, tick_interval)


def _serve(
    cores: Sequence[EmulatorCore],
    ready: Callable[..., None] | None,
    tick_interval: float,
    reporter: StateReporter | None = None,
) -> None:
    """Each core on a new pty, one select loop, until a signal, the parent's going or a
    failure (which propagates)."""
    if tick_interval <= 0:
        raise ValueError("tick_interval must be positive")
    _log_to_stderr()
    with contextlib.ExitStack() as stack:
        ptys = [stack.enter_context(open_pty_pair()) for _ in cores]
        wakeup = stack.enter_context(_SignalWakeup((signal.SIGTERM, signal.SIGINT)))
        hosts = [
            _Host(core, pty, tick_interval, reporter) for core, pty in zip(cores, ptys, strict=True)
        ]
        stdin = sys.stdin.fileno() if stdin_is_parent_pipe() else None
        # What start-up made lives as long as the process: out of the collector's scans, so
        # a full collection does not stall the device for tens of ms (as it did the rig's loop).
        gc.collect()
        gc.freeze()
        (ready or announce_ready)(*(pty.slave_path for pty in ptys))
        for host in hosts:
            host.start(time.monotonic())
        _run_hosts(hosts, wakeup, stdin)


def _run_hosts(hosts: Sequence[_Host], wakeup: _SignalWakeup, stdin: int | None) -> None:
    """The loop: select(2) over the ptys, the signal pipe and stdin, with a timeout to the
    earliest frame or tick due. select takes its timeout in microseconds (epoll rounds it up to
    a whole millisecond, which turned a 0.5 ms processing time into about 1 ms). A plain loop
    costs an emulator about 10 % less CPU per request than asyncio's (docs/load.md)."""
    by_fd = {host.fd: host for host in hosts}
    watched = [*by_fd, wakeup.fd] + ([] if stdin is None else [stdin])
    monotonic = time.monotonic
    while not wakeup.caught:
        wakes = [w for host in hosts if (w := host.next_wake()) is not None]
        timeout = max(0.0, min(wakes) - monotonic()) if wakes else None
        writers = [host.fd for host in hosts if host.backlog]
        readable, writable, _ = select.select(watched, writers, [], timeout)
        for fd in readable:
            if fd in by_fd:
                by_fd[fd].on_readable()
            elif fd == stdin:
                if not os.read(stdin, 4096):
                    _log.info("stdin closed: the parent is gone, exiting")
                    return
            else:
                wakeup.drain()
        for fd in writable:
            by_fd[fd].flush()
        now = monotonic()
        for host in hosts:
            wake = host.next_wake()
            if wake is not None and wake <= now:
                host.on_time(now)


class _SignalWakeup:
    """SIGTERM and SIGINT noted, and a pipe that becomes readable when one arrives (Python's
    wakeup fd), so the select loop stops between two frames, never inside one."""

    def __init__(self, signals: tuple[signal.Signals, ...]) -> None:
        self._signals = signals
        self.caught: signal.Signals | None = None

    def __enter__(self) -> Self:
        self.fd, self._write_fd = os.pipe()
        for fd in (self.fd, self._write_fd):
            os.set_blocking(fd, False)
        self._previous = {sig: signal.signal(sig, self._note) for sig in self._signals}
        self._previous_wakeup = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        return self

    def _note(self, signum: int, _frame: object) -> None:
        self.caught = signal.Signals(signum)

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self.fd, 4096)

    def __exit__(self, *_exc: object) -> None:
        signal.set_wakeup_fd(self._previous_wakeup)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        os.close(self.fd)
        os.close(self._write_fd)


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
        self, process: subprocess.Popen[bytes], stderr: IO[bytes], ports: Sequence[str]
    ) -> None:
        self.ports = list(ports)
        self.pid = process.pid
        self._process = process
        self._stderr = stderr
        self._final_stderr: str | None = None

    @property
    def port(self) -> str:
        """The (first) port: a single device's."""
        return self.ports[0]

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


def spawn_emulator(
    argv: list[str], timeout: float = 10.0, *, log: Path | None = None
) -> EmulatorProcess:
    """Start an emulator (e.g. ``[sys.executable, "-m", "devices.emulated.esme", ...]``) and wait
    up to ``timeout`` seconds for its ready line.

    Its stdin is a pipe the child watches, so it exits when this process dies; its stderr (its
    log: frames rejected, commands discarded for their MAC or counter) goes to ``log``, appended
    (its folder made), or else to a temporary file: never a pipe that could fill up. Raises
    :class:`EmulatorError`, with the child's stderr tail, if it dies or stays silent.
    """
    if log is None:
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 (the EmulatorProcess owns and closes it)
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        stderr = open(log, "a+b")  # noqa: SIM115 (the EmulatorProcess owns and closes it)
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
        emulator = EmulatorProcess(process, stderr, ports=[""])
        emulator.stop(grace=0.5)
        if isinstance(exc, TimeoutError | EOFError):
            raise EmulatorError(
                f"emulator {argv!r} {exc} (exit status {emulator.returncode});"
                f" stderr tail:\n{emulator.stderr_tail()}"
            ) from None
        raise
    finally:
        process.stdout.close()
    return EmulatorProcess(process, stderr, ports)
