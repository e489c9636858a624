"""Timers that fire when they are due: the calling thread's timer slack set to 1 ns.

Linux lets a sleeping thread's timer expire up to its *timer slack* late (50 µs by default for
a normal thread) so that wake-ups can be coalesced. The rig's loop and the emulated devices
sleep on timers that model time: the DSP's service time and the meter's processing time
(docs/load.md "Timer slack"); 50 µs late is 50 µs of overhead on every request, in the device hop
and the dispatch hop. The slack is per thread and inherited by the threads and processes the
thread starts afterwards (``prctl(2)`` ``PR_SET_TIMERSLACK``). Best effort, like
:mod:`rig.host.cpu_slice`: elsewhere nothing changes and :func:`tighten` says why.
"""

from __future__ import annotations

import ctypes
import sys

_PR_SET_TIMERSLACK = 29
_PR_GET_TIMERSLACK = 30


def tighten() -> str | None:
    """Set the calling thread's timer slack to 1 ns; None when done, else why not."""
    if sys.platform != "linux":
        return "timer slack is a Linux setting"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0) != 0:
        return f"prctl(PR_SET_TIMERSLACK) refused: errno {ctypes.get_errno()}"
    return None


def current() -> int | None:
    """The calling thread's timer slack in nanoseconds (None: not Linux)."""
    if sys.platform != "linux":
        return None
    return int(ctypes.CDLL(None).prctl(_PR_GET_TIMERSLACK, 0, 0, 0, 0))
