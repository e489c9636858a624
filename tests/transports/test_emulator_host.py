"""The emulated-device host: its pure core, then a real child process behind a real pty."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from link_helpers import TIMEOUT, Recorder

from devices.emulated.host import (
    EmulatorCore,
    EmulatorError,
    EmulatorProcess,
    Output,
    spawn_emulator,
)
from devices.transports.hdlc import (
    Frame,
    FrameDecoder,
    FrameKind,
    LinkControl,
    LinkOp,
    encode_frame,
)
from devices.transports.serial_link import LINK_LOST

ECHO = [sys.executable, str(Path(__file__).with_name("echo_firmware.py"))]


class Scripted:
    """Replies to every frame with whatever the test queued, and records the times it saw."""

    def __init__(self, *replies: Output) -> None:
        self.replies = list(replies)
        self.seen: list[tuple[bytes, float]] = []

    def handle(self, frame: bytes, now: float) -> Output:
        self.seen.append((frame, now))
        return self.replies.pop(0)


class Alerting(Scripted):
    def tick(self, now: float) -> Output:
        return [(0.5, b"alert")]


def decode(wire: list[bytes]) -> list[Frame]:
    items = FrameDecoder().feed(b"".join(wire))
    assert all(isinstance(item, Frame) for item in items)
    return items  # type: ignore[return-value]


def gbcs(*payloads: bytes) -> list[Frame]:
    return [Frame(FrameKind.GBCS, p) for p in payloads]


def pong(token: bytes) -> Frame:
    return Frame(FrameKind.LINK, LinkControl(LinkOp.PONG, token).encode())


# -- the core, sans I/O ---------------------------------------------------------------------


def test_core_schedules_by_delay_then_order() -> None:
    firmware = Scripted([(2.0, b"late"), (1.0, b"first"), (1.0, b"second")])
    core = EmulatorCore(firmware)
    assert core.receive(encode_frame(FrameKind.GBCS, b"cmd"), now=10.0) == []
    assert firmware.seen == [(b"cmd", 10.0)]
    assert core.next_due() == 11.0
    assert core.pop_due(10.999) == []
    assert decode(core.pop_due(11.0)) == gbcs(b"first", b"second")
    assert core.next_due() == 12.0
    assert decode(core.pop_due(99.0)) == gbcs(b"late")
    assert core.next_due() is None


def test_core_answers_ping_and_reset_drops_pending_output() -> None:
    core = EmulatorCore(Scripted([(5.0, b"stale reply")]))
    core.receive(encode_frame(FrameKind.GBCS, b"cmd"), now=0.0)
    core.receive(encode_frame(FrameKind.LINK, LinkControl(LinkOp.PING, b"p").encode()), now=1.0)
    assert decode(core.pop_due(1.0)) == [pong(b"p")]
    core.receive(encode_frame(FrameKind.LINK, LinkControl(LinkOp.RESET, b"r").encode()), now=2.0)
    assert decode(core.pop_due(10.0)) == [pong(b"r")]
    assert core.next_due() is None


def test_core_ignores_pongs_and_unknown_link_ops_and_reports_bad_frames() -> None:
    core = EmulatorCore(Scripted())
    errors = core.receive(
        encode_frame(FrameKind.LINK, LinkControl(LinkOp.PONG).encode())
        + encode_frame(FrameKind.LINK, b"\x99")
        + b"\x7egarbage\x7e",
        now=0.0,
    )
    assert len(errors) == 1
    assert core.next_due() is None


def test_core_tick_only_for_ticking_firmware() -> None:
    quiet = EmulatorCore(Scripted())
    quiet.tick(0.0)
    assert quiet.next_due() is None
    alerting = EmulatorCore(Alerting())
    alerting.tick(3.0)
    assert alerting.next_due() == 3.5
    assert decode(alerting.pop_due(3.5)) == gbcs(b"alert")


@pytest.mark.parametrize("bad", [[(-1.0, b"x")], [(0.0, b"")], [(0.0, b"x" * 5)]])
def test_core_rejects_bad_firmware_output(bad: Output) -> None:
    core = EmulatorCore(Scripted(bad), max_payload=4)
    with pytest.raises(ValueError):
        core.receive(encode_frame(FrameKind.GBCS, b"cmd"), now=0.0)


# -- a real emulator process on a real pty --------------------------------------------------


def test_echo_process_over_pty() -> None:
    with spawn_emulator([*ECHO, "--delay", "0.05"]) as emulator:
        assert emulator.port.startswith("/dev/")
        assert emulator.returncode is None

        async def main() -> None:
            rec = Recorder()
            link = rec.link(emulator.port)
            await link.open()
            sent_at = link.send(b"hello")
            frame, received_at = await rec.frame()
            assert frame == Frame(FrameKind.GBCS, b"ECHO:hello")
            assert received_at > sent_at
            link.send(LinkControl(LinkOp.PING, b"42").encode(), kind=FrameKind.LINK)
            assert (await rec.frame())[0] == pong(b"42")
            big = bytes(range(256)) * 15  # every byte value, stuffing included
            link.send(big)
            assert await rec.payload() == b"ECHO:" + big
            link.close()
            assert rec.errors == []

        asyncio.run(main())
    assert emulator.returncode == 0  # SIGTERM is a clean exit


def test_unsolicited_alerts_from_tick() -> None:
    with spawn_emulator([*ECHO, "--alerts", "0.02"]) as emulator:

        async def main() -> None:
            rec = Recorder()
            link = rec.link(emulator.port)
            await link.open()
            first = await rec.payload()
            second = await rec.payload()
            assert first.startswith(b"ALERT:")
            assert int(second[6:]) == int(first[6:]) + 1
            link.close()

        asyncio.run(main())


def test_killed_emulator_is_reported_by_on_closed() -> None:
    with spawn_emulator(ECHO) as emulator:

        async def main() -> str:
            rec = Recorder()
            link = rec.link(emulator.port)
            await link.open()
            link.send(b"alive?")
            assert await rec.payload() == b"ECHO:alive?"
            os.kill(emulator.pid, signal.SIGKILL)
            reason = await rec.closed_reason()
            assert not link.is_open
            return reason

        reason = asyncio.run(main())
        assert reason.startswith(LINK_LOST), reason
        assert emulator.stop() == -signal.SIGKILL


def test_firmware_exception_ends_the_process_with_its_traceback() -> None:
    with spawn_emulator(ECHO) as emulator:

        async def main() -> None:
            rec = Recorder()
            link = rec.link(emulator.port)
            await link.open()
            link.send(b"CRASH")
            assert (await rec.closed_reason()).startswith(LINK_LOST)

        asyncio.run(main())
        assert emulator.wait(TIMEOUT) == 1
        assert "RuntimeError: echo firmware told to crash" in emulator.stderr_tail()


def test_emulator_exits_when_its_stdin_closes() -> None:
    """Standing in for the parent dying: its end of the child's stdin pipe closes."""
    with spawn_emulator(ECHO) as emulator:
        emulator._process.stdin.close()  # type: ignore[union-attr]
        assert emulator.wait(TIMEOUT) == 0
        assert "stdin closed" in emulator.stderr_tail()


def test_child_dying_before_ready_reports_its_stderr() -> None:
    with pytest.raises(EmulatorError, match="exited before its ready line") as info:
        spawn_emulator([*ECHO, "--no-such-option"])
    assert "unrecognized arguments: --no-such-option" in str(info.value)


def test_silent_child_times_out_and_is_killed() -> None:
    argv = [sys.executable, "-c", "import sys, time; print('starting', flush=True); time.sleep(60)"]
    with pytest.raises(EmulatorError, match=r"no ready line within 0\.5 s"):
        spawn_emulator(argv, timeout=0.5)


def test_stop_escalates_to_kill() -> None:
    argv = [
        sys.executable,
        "-c",
        "import json, os, signal, time;"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        "print(json.dumps({'event': 'ready', 'port': '/dev/null', 'pid': os.getpid()}),"
        " flush=True);"
        "time.sleep(60)",
    ]
    emulator = spawn_emulator(argv)
    assert isinstance(emulator, EmulatorProcess)
    assert emulator.port == "/dev/null"
    assert emulator.stop(grace=0.2) == -signal.SIGKILL
    assert emulator.stop() == -signal.SIGKILL  # idempotent


def test_no_orphan_when_the_parent_is_killed() -> None:
    """A parent SIGKILLed while its emulator runs: the emulator notices and exits."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from devices.emulated.host import spawn_emulator;"
            f"e = spawn_emulator({ECHO!r}); print(e.pid, flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait(TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    while is_running(child_pid):
        if time.monotonic() > deadline:
            pytest.fail(f"emulator {child_pid} outlived its parent")
        time.sleep(0.05)


def is_running(pid: int) -> bool:
    """Not ours to reap (it was reparented): exited means gone, or a zombie awaiting init."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
