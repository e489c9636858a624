"""A short CPU slice for the threads on the request path (issue 6, "Performance": p99 overhead).

Linux's fair scheduler (EEVDF, 6.6+) gives every task a *slice*: how long it may run before a
task that woke up with an earlier virtual deadline gets the CPU. The default is 0.7 ms times
1 + log2(CPUs), 1.4 ms on a 2-core machine. On a bench machine the rig's loop, the emulated
devices and the kernel's pty workers take turns on a few cores for every request, so a request
whose process wakes behind a busy one waits up to a whole slice: that wait *was* the rig's p99
overhead (docs/load.md "Short CPU slices").

Since Linux 6.12 a SCHED_OTHER task may ask for its own slice with ``sched_setattr(2)``
(``sched_runtime``, clamped by the kernel to 0.1-100 ms; no privilege needed). A shorter slice
means an earlier deadline, so the task preempts a longer-sliced one when it wakes (the
scheduler's PREEMPT_SHORT). Fairness is untouched: the task gets the same share of the CPU,
in shorter turns. The setting is per thread and inherited by threads and processes started
from it afterwards.

Best effort: on another OS, an older kernel or a refusal, nothing changes and :func:`request`
says why; the rig runs as it did.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct
import sys

#: ``sched_setattr``/``sched_getattr`` syscall numbers (Linux ``unistd.h``).
_SYSCALLS = {"x86_64": (314, 315), "aarch64": (274, 275)}
#: ``struct sched_attr`` (SCHED_ATTR_SIZE_VER1, 56 bytes): size, policy, flags, nice, priority,
#: runtime, deadline, period, util_min, util_max.
_ATTR = struct.Struct("=IIQiIQQQII")
_SCHED_OTHER = 0
#: The kernel's bounds on a requested slice (``sched_setattr``: 100 µs to 100 ms).
MIN_SLICE_S = 100e-6
MAX_SLICE_S = 0.1


def request(slice_s: float) -> str | None:
    """Ask for a ``slice_s`` CPU slice for the calling thread (and what it starts from now on).

    Returns None when granted, else why not (the thread keeps the OS default). Raises
    ValueError for a slice outside the kernel's bounds.
    """
    if not MIN_SLICE_S <= slice_s <= MAX_SLICE_S:
        low, high = MIN_SLICE_S * 1e6, MAX_SLICE_S * 1e6
        raise ValueError(f"CPU slice {slice_s * 1e6:g} µs: must be {low:g}-{high:g} µs")
    numbers = _SYSCALLS.get(platform.machine())
    if sys.platform != "linux" or numbers is None:
        return f"per-thread CPU slices need Linux on {', '.join(_SYSCALLS)}"
    if os.sched_getscheduler(0) != _SCHED_OTHER:
        return "the thread is not under the normal (SCHED_OTHER) policy"
    attr = _ATTR.pack(
        _ATTR.size,
        _SCHED_OTHER,
        0,
        os.getpriority(os.PRIO_PROCESS, 0),
        0,
        round(slice_s * 1e9),
        0,
        0,
        0,
        0,
    )
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(numbers[0], 0, ctypes.create_string_buffer(attr, len(attr)), 0) != 0:
        error = ctypes.get_errno()
        return f"sched_setattr refused: {os.strerror(error)}"
    granted = current()
    if granted is None or abs(granted - slice_s) > 1e-6:
        return f"the kernel ignores a requested slice (it reports {granted!r} s): Linux < 6.12?"
    return None


def current(tid: int = 0) -> float | None:
    """The CPU slice in seconds the kernel reports for thread (or process) ``tid``, 0 the
    calling thread; None where unknown."""
    numbers = _SYSCALLS.get(platform.machine())
    if sys.platform != "linux" or numbers is None:
        return None
    buffer = ctypes.create_string_buffer(_ATTR.size)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(numbers[1], tid, buffer, _ATTR.size, 0) != 0:
        return None
    runtime = _ATTR.unpack(buffer.raw)[5]
    return runtime / 1e9 if runtime else None
