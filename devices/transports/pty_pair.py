"""A raw pseudo-terminal pair: an emulator drives the master, the code under test opens the slave
path like any serial port (POSIX only)."""

from __future__ import annotations

import os
import pty
import tty

from rig.util.closing import Closing


class PtyPair(Closing):
    """Both ends of a pty, set raw.

    The slave fd stays open for the pair's lifetime so the master never sees a hang-up while no
    client has the slave path open, and a client can close and reopen it freely.
    """

    def __init__(self, master_fd: int, slave_fd: int) -> None:
        self.master_fd = master_fd
        self.slave_fd = slave_fd
        self.slave_path = os.ttyname(slave_fd)
        self._closed = False

    def close(self) -> None:
        """Close both ends; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        os.close(self.master_fd)
        os.close(self.slave_fd)


def open_pty_pair() -> PtyPair:
    """Open a pty pair with both ends in raw mode (no echo, no line editing, 8-bit clean)."""
    master_fd, slave_fd = pty.openpty()
    try:
        tty.setraw(master_fd)
        tty.setraw(slave_fd)
        return PtyPair(master_fd, slave_fd)
    except BaseException:
        os.close(master_fd)
        os.close(slave_fd)
        raise
