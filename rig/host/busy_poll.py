"""Busy polling for the rig's loop: ``[host] busy_poll_us`` (issue 6, "Performance": p99 overhead).

A thread that sleeps between requests runs the next one slower: on the 2-vCPU virtual machine
the benchmarks run on, the rig's own work per request costs about three times as much CPU when
its loop wakes from sleep as when it is kept busy (docs/load.md "Busy polling"), and every
wake-up waits for the scheduler. Polling for a short while before sleeping keeps the loop's
thread on its CPU while requests keep coming: each poll is a ``select(2)`` with a zero timeout,
and a timer due within the window fires on time instead of a wake-up late. It is the usual
trade of low-latency rigs (busy-poll sockets, ``idle=poll``): one CPU busy while traffic flows,
idle again ``window`` after the last event.

The window is the bench's choice: off by default, so a test run beside other jobs (pytest-xdist
workers, say) does not take a core it does not need; ``rig benchmark load`` turns it on
(``--busy-poll-us``) and says so.
"""

from __future__ import annotations

import selectors
import time

#: The longest window a bench may ask for: beyond it a loop would hold a CPU through idle gaps.
MAX_WINDOW_S = 0.01


class PollingSelector(selectors.SelectSelector):
    """A ``select(2)`` selector (microsecond timeouts, as the rig's loop needs) that polls for
    up to ``window`` seconds before it sleeps for the rest of the timeout."""

    def __init__(self, window: float) -> None:
        if not 0 < window <= MAX_WINDOW_S:
            raise ValueError(f"busy-poll window {window * 1e6:g} µs: must be 1-10000 µs")
        super().__init__()
        self.window = window

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        poll = super().select
        if timeout is not None and timeout <= 0:
            return poll(0)
        spin = self.window if timeout is None else min(self.window, timeout)
        until = time.monotonic() + spin
        while True:
            ready = poll(0)
            if ready or time.monotonic() >= until:
                break
        if ready:
            return ready
        if timeout is None:
            return poll(None)
        left = timeout - spin
        return poll(left) if left > 0 else []
