"""The raw pty pair: 8-bit clean both ways, closed exactly once."""

from __future__ import annotations

import os
import select

import pytest

from devices.transports.pty_pair import open_pty_pair

ALL_BYTES = bytes(range(256)) * 4  # CR, LF, ^C, ^D, XON/XOFF, DEL: nothing may be translated


def read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        ready, _, _ = select.select([fd], [], [], 5.0)
        assert ready, f"timed out with {len(data)} of {size} bytes"
        data += os.read(fd, size - len(data))
    return data


def test_raw_both_ways() -> None:
    with open_pty_pair() as pair:
        assert pair.slave_path.startswith("/dev/")
        os.write(pair.slave_fd, ALL_BYTES)
        assert read_exactly(pair.master_fd, len(ALL_BYTES)) == ALL_BYTES
        os.write(pair.master_fd, ALL_BYTES)
        assert read_exactly(pair.slave_fd, len(ALL_BYTES)) == ALL_BYTES
        # no echo: nothing came back to the master
        assert select.select([pair.master_fd], [], [], 0)[0] == []


def test_close_is_idempotent_and_closes_both_ends() -> None:
    pair = open_pty_pair()
    pair.close()
    pair.close()
    for fd in (pair.master_fd, pair.slave_fd):
        with pytest.raises(OSError):
            os.fstat(fd)
