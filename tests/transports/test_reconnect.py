"""ReconnectingLink: bounded backoff, the callback contract, and a device whose in-flight
requests fail with the reason when its link drops while later ones succeed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from link_helpers import TIMEOUT
from test_serial_link import read_frames

from devices.bridges.serial_server import SerialServer
from devices.emulated.host import spawn_emulator
from devices.serial_device import RestoringReceiver, SerialDevice
from devices.transports.hdlc import Frame, FrameKind
from devices.transports.link import LinkClosedError, LinkEvents
from devices.transports.pty_pair import open_pty_pair
from devices.transports.reconnect import GAVE_UP, Backoff, ReconnectingLink
from devices.transports.serial_link import LINK_LOST, SerialLink
from rig.gbcs.eui import Eui64

ECHO = [sys.executable, str(Path(__file__).with_name("echo_firmware.py"))]
FAST = Backoff(initial=0.01, factor=2.0, maximum=0.05, attempts=4)


def test_backoff_is_bounded_and_validated() -> None:
    assert list(Backoff(initial=0.1, factor=3, maximum=0.5, attempts=5).delays()) == [
        0.1,
        pytest.approx(0.3),
        0.5,
        0.5,
        0.5,
    ]
    forever = Backoff(attempts=None).delays()
    assert len([next(forever) for _ in range(100)]) == 100
    for bad in ({"initial": -1}, {"factor": 0.5}, {"maximum": 0.01}, {"attempts": 0}):
        with pytest.raises(ValueError):
            Backoff(**bad)  # type: ignore[arg-type]


class Events:
    """Records the contract's callbacks in order."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.changed = asyncio.Event()
        self.frames: list[bytes] = []

    def events(self) -> LinkEvents:
        return LinkEvents(
            on_frame=lambda frame, at: self.frames.append(frame.payload),
            on_closed=lambda reason: self._note(f"closed: {reason}"),
            on_reopened=lambda: self._note("reopened"),
        )

    def _note(self, entry: str) -> None:
        self.log.append(entry)
        self.changed.set()

    async def wait_for(self, count: int) -> list[str]:
        async with asyncio.timeout(TIMEOUT):
            while len(self.log) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.log


def test_drop_then_reopen_then_close() -> None:
    async def main() -> None:
        with open_pty_pair() as pair, SerialServer(pair.slave_path) as server:
            rec = Events()
            link = ReconnectingLink(SerialLink.factory(server.url), rec.events(), FAST)
            await link.open()
            assert server.wait_for_session(TIMEOUT)
            assert server.drop_client()
            log = await rec.wait_for(1)
            assert log[0].startswith(f"closed: {LINK_LOST}")
            assert link.reconnecting
            with pytest.raises(LinkClosedError):
                link.send(b"while down")
            assert await rec.wait_for(2) == [log[0], "reopened"]
            assert link.is_open and not link.reconnecting and link.reconnects == 1
            link.send(b"after")
            assert await read_frames(pair.master_fd, 1) == [Frame(FrameKind.GBCS, b"after")]
            link.close()
            link.close()
            assert rec.log[2:] == ["closed: closed"]

    asyncio.run(main())


def test_gives_up_after_the_last_attempt(tmp_path: Path) -> None:
    async def main() -> None:
        pair = open_pty_pair()
        # The link opens the pty through a name of the test's own: a freed /dev/pts number is
        # soon given to another process's new pty (tests run in parallel), and reopening the
        # bare path would then succeed. The name goes with the port, so every reopen fails.
        port = tmp_path / "port"
        port.symlink_to(pair.slave_path)
        rec = Events()
        link = ReconnectingLink(SerialLink.factory(str(port)), rec.events(), FAST)
        await link.open()
        pair.close()  # the port is gone for good: every reopen fails
        port.unlink()
        await rec.wait_for(1)
        with open_pty_pair():  # given the freed number, as another test's pty would be
            log = await rec.wait_for(2)
        assert log[0].startswith(f"closed: {LINK_LOST}")
        assert log[1].startswith(f"closed: {GAVE_UP} after 4 attempts")
        assert not link.reconnecting and not link.is_open
        link.close()
        assert len(rec.log) == 2

    asyncio.run(main())


def test_close_while_reconnecting_cancels_it() -> None:
    async def main() -> None:
        pair = open_pty_pair()
        rec = Events()
        slow = Backoff(initial=5.0, maximum=5.0, attempts=1)
        link = ReconnectingLink(SerialLink.factory(pair.slave_path), rec.events(), slow)
        await link.open()
        pair.close()
        await rec.wait_for(1)
        link.close()
        assert rec.log[1:] == ["closed: closed"]
        assert not link.reconnecting

    asyncio.run(main())


class RequestTracker(RestoringReceiver):
    """What the orchestrator does with a device's callbacks, in miniature: a request sent is in
    flight until its echo arrives; a lost link fails those in flight with the reason."""

    def __init__(self) -> None:
        self.in_flight: dict[bytes, asyncio.Future[str]] = {}
        self.down: str | None = None
        self.restored = asyncio.Event()

    def request(self, device: SerialDevice, payload: bytes) -> asyncio.Future[str]:
        future = asyncio.get_running_loop().create_future()
        if self.down is not None:
            future.set_result(f"failed: {self.down}")
            return future
        device.send(payload)
        self.in_flight[payload] = future
        return future

    def frame_received(self, device: object, frame: bytes, at: float) -> None:
        future = self.in_flight.pop(frame.removeprefix(b"ECHO:"), None)
        if future is not None:
            future.set_result("ok")

    def link_lost(self, device: object, reason: str) -> None:
        self.down = reason
        self.restored.clear()
        for future in self.in_flight.values():
            future.set_result(f"failed: {reason}")
        self.in_flight.clear()

    def link_restored(self, device: object) -> None:
        self.down = None
        self.restored.set()


def test_in_flight_requests_fail_with_the_reason_and_later_ones_succeed() -> None:
    with spawn_emulator([*ECHO, "--delay", "0.2"]) as emulator:

        async def main() -> None:
            with SerialServer(emulator.port) as server:
                device = SerialDevice(
                    "esme", Eui64.parse("00-DB-12-34-56-78-91-01"), server.url, reconnect=FAST
                )
                tracker = RequestTracker()
                await device.open(asyncio.get_running_loop(), tracker)
                assert await asyncio.wait_for(tracker.request(device, b"before"), TIMEOUT) == "ok"
                in_flight = tracker.request(device, b"in flight")
                assert server.drop_client()
                outcome = await asyncio.wait_for(in_flight, TIMEOUT)
                assert outcome.startswith(f"failed: {LINK_LOST}")
                await asyncio.wait_for(tracker.restored.wait(), TIMEOUT)
                assert await asyncio.wait_for(tracker.request(device, b"after"), TIMEOUT) == "ok"
                await device.close()
                assert tracker.down == "closed"

        asyncio.run(main())
