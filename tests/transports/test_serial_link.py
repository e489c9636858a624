"""SerialLink over a pty (add_reader), loop:// (reader thread) and socket:// (add_reader)."""

from __future__ import annotations

import asyncio
import os

import pytest
import serial
from link_helpers import TIMEOUT, Recorder

from devices.transports.hdlc import (
    Frame,
    FrameDecoder,
    FrameError,
    FrameErrorReason,
    FrameKind,
    encode_frame,
)
from devices.transports.pty_pair import open_pty_pair
from devices.transports.serial_link import LINK_LOST, LinkClosedError, SerialLink


async def read_frames(fd: int, count: int) -> list[Frame | FrameError]:
    """Read ``count`` decoded items from a pty master without blocking the loop."""
    loop = asyncio.get_running_loop()
    decoder = FrameDecoder()
    out: list[Frame | FrameError] = []
    while len(out) < count:
        readable = loop.create_future()
        loop.add_reader(fd, readable.set_result, None)
        try:
            await asyncio.wait_for(readable, TIMEOUT)
        finally:
            loop.remove_reader(fd)
        out += decoder.feed(os.read(fd, 4096))
    return out


def test_pty_frames_both_ways_with_errors_and_chunking() -> None:
    async def main() -> None:
        rec = Recorder()
        with open_pty_pair() as pair:
            link = rec.link(pair.slave_path)
            await link.open()
            assert link.is_open
            stream = (
                encode_frame(FrameKind.GBCS, b"one")
                + b"noise"
                + encode_frame(FrameKind.LINK, b"\x01two")
            )
            before = asyncio.get_running_loop().time()
            for i in range(len(stream)):  # one byte at a time
                os.write(pair.master_fd, stream[i : i + 1])
            first, first_at = await rec.frame()
            second, second_at = await rec.frame()
            assert (first, second) == (
                Frame(FrameKind.GBCS, b"one"),
                Frame(FrameKind.LINK, b"\x01two"),
            )
            assert before <= first_at <= second_at
            assert rec.errors == [FrameError(FrameErrorReason.BAD_FCS, offset=8, length=5)]

            sent_at = link.send(b"\x7e\x7d reply")
            assert sent_at >= second_at
            assert await read_frames(pair.master_fd, 1) == [
                Frame(FrameKind.GBCS, b"\x7e\x7d reply")
            ]
            link.close()
            link.close()
            assert rec.closed == ["closed"]
            with pytest.raises(LinkClosedError):
                link.send(b"late")

    asyncio.run(main())


def test_peer_hanging_up_is_reported_once_not_raised() -> None:
    async def main() -> None:
        rec = Recorder()
        pair = open_pty_pair()
        link = rec.link(pair.slave_path)
        await link.open()
        pair.close()  # the emulator side vanishes
        reason = await rec.closed_reason()
        assert reason.startswith(LINK_LOST), reason
        assert not link.is_open
        with pytest.raises(LinkClosedError):
            link.send(b"anyone there?")
        link.close()
        assert rec.closed == [reason]

    asyncio.run(main())


def test_a_port_that_stops_taking_bytes_times_out_whole_frames_intact() -> None:
    """The one-syscall write hands what the port cannot take at once to pyserial, which waits
    up to the write timeout: frames that went through arrive whole, then the timeout."""

    async def main() -> None:
        rec = Recorder()
        with open_pty_pair() as pair:
            link = rec.link(pair.slave_path, write_timeout=0.2)
            await link.open()
            payload = bytes(range(256)) * 8  # 2 KiB frames; nobody reads the master
            sent = 0
            with pytest.raises(serial.SerialTimeoutException):
                for _ in range(10_000):
                    link.send(payload)
                    sent += 1
            assert sent > 0
            os.set_blocking(pair.master_fd, False)
            decoder = FrameDecoder(max_payload=len(payload))
            got: list[Frame | FrameError] = []
            while True:  # drain what the pty buffered
                try:
                    got += decoder.feed(os.read(pair.master_fd, 65536))
                except BlockingIOError:
                    break
            frames = [item for item in got if isinstance(item, Frame)]
            assert len(frames) >= sent and {f.payload for f in frames} == {payload}
            link.close()

    asyncio.run(main())


def test_callback_failure_goes_to_on_error_and_later_frames_arrive() -> None:
    async def main() -> None:
        delivered: list[bytes] = []
        errors: list[FrameError | Exception] = []

        def on_frame(frame: Frame, at: float) -> None:
            if frame.payload == b"bad":
                raise RuntimeError("consumer bug")
            delivered.append(frame.payload)

        with open_pty_pair() as pair:
            link = SerialLink(pair.slave_path, on_frame=on_frame, on_error=errors.append)
            await link.open()
            os.write(
                pair.master_fd,
                encode_frame(FrameKind.GBCS, b"bad") + encode_frame(FrameKind.GBCS, b"good"),
            )
            async with asyncio.timeout(TIMEOUT):
                while not delivered:
                    await asyncio.sleep(0.01)
            link.close()
        assert delivered == [b"good"]
        assert [str(e) for e in errors] == ["consumer bug"]

    asyncio.run(main())


def test_send_checks_size_and_state() -> None:
    async def main() -> None:
        with open_pty_pair() as pair:
            link = Recorder().link(pair.slave_path, max_payload=4)
            with pytest.raises(LinkClosedError):
                link.send(b"ok")
            await link.open()
            with pytest.raises(ValueError):
                link.send(b"12345")
            with pytest.raises(RuntimeError):
                await link.open()
            link.close()

    asyncio.run(main())


def test_loop_url_uses_a_reader_thread() -> None:
    """loop:// has no file descriptor: frames come back through the reader thread."""

    async def main() -> None:
        rec = Recorder()
        link = rec.link("loop://")
        await link.open()
        link.send(b"to myself")
        link.send(b"\x01", kind=FrameKind.LINK)
        assert await rec.payload() == b"to myself"
        assert await rec.payload() == b"\x01"
        link.close()
        assert rec.closed == ["closed"]

    asyncio.run(main())


def test_socket_url_and_disconnect() -> None:
    async def main() -> None:
        rec = Recorder()

        async def serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            request = await reader.readexactly(len(encode_frame(FrameKind.GBCS, b"hi")))
            writer.write(request + encode_frame(FrameKind.GBCS, b"bye"))
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve_one, "127.0.0.1", 0)
        host, port = server.sockets[0].getsockname()[:2]
        async with server:
            link = rec.link(f"socket://{host}:{port}")
            await link.open()
            link.send(b"hi")
            assert await rec.payload() == b"hi"
            assert await rec.payload() == b"bye"
            reason = await rec.closed_reason()
            assert reason.startswith(LINK_LOST), reason

    asyncio.run(main())
