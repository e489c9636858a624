"""The one seam between pure logic and time.

The DSP scheduler and the firmware stubs only ever see a :class:`Clock`: ``now()`` and
``call_at()``. :class:`VirtualClock` runs them as a deterministic discrete-event
simulation; :class:`AsyncioClock` runs the very same code live on the bench
(``reference/architecture.md``, "Seams worth getting right early").
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Callable
from typing import Any, Final, Protocol

from rig.virtual_timer import VirtualTimer as _VirtualTimer
from rig.virtual_timer import cancelled as _cancelled


class TimerHandle(Protocol):
    """What ``call_at`` returns: something that can be cancelled."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Time as the pure core sees it, in seconds on a monotonic scale."""

    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callable[..., None], *args: object) -> TimerHandle:
        """Run ``callback(*args)`` at ``when`` (at once if ``when`` is past)."""
        ...


_push: Final = heapq.heappush
_pop: Final = heapq.heappop


class VirtualClock:
    """A discrete-event clock: time jumps from one scheduled event to the next.

    Events due at the same instant run in the order they were scheduled, so a run is a pure
    function of its inputs.

    The queue has two tiers (a calendar in front of a heap): time is cut into windows of
    ``window_s``; events of the current window are in a heap, later ones are appended to a list
    per window and heapified when their window comes. The order is exactly that of one heap
    ordered by ``(when, seq)`` (the window index is monotonic in ``when``), but the heap stays
    small and in cache: with thousands of WAN round trips in flight, a pop costs about half.
    """

    def __init__(self, start: float = 0.0, *, window_s: float = 0.125) -> None:
        if not window_s > 0:
            raise ValueError(f"window_s = {window_s!r}: must be > 0")
        self._now = start
        self._per_s = 1.0 / window_s
        self._window = int(start * self._per_s)  # events with a window index <= this: _queue
        # The entries are _VirtualTimer lists; typed as lists so that compiled code indexes them.
        self._queue: list[list[Any]] = []
        self._later: dict[int, list[list[Any]]] = {}  # window index -> its events
        self._windows: list[int] = []  # heap of the keys of _later
        self._seq = 0

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[..., None], *args: object) -> _VirtualTimer:
        if when < self._now:
            when = self._now
        timer = _VirtualTimer((when, self._seq, callback, args))
        self._seq += 1
        window = int(when * self._per_s)
        if window <= self._window:
            _push(self._queue, timer)
        else:
            later = self._later.get(window)
            if later is None:
                self._later[window] = [timer]
                _push(self._windows, window)
            else:
                later.append(timer)
        return timer

    def call_later(
        self, delay: float, callback: Callable[..., None], *args: object
    ) -> _VirtualTimer:
        return self.call_at(self._now + delay, callback, *args)

    def _next_window(self) -> bool:
        """The current window is done: the next one with events becomes current."""
        if not self._windows:
            return False
        self._window = window = _pop(self._windows)
        queue = self._queue = self._later.pop(window)
        heapq.heapify(queue)
        return True

    def step(self) -> bool:
        """Run the next due event; return False when nothing is scheduled."""
        while self._queue or self._next_window():
            when, _, callback, args = _pop(self._queue)
            if callback is _cancelled:
                continue
            self._now = when
            callback(*args)
            return True
        return False

    def run(self, until: float | None = None) -> None:
        """Run events in time order until the queue is empty or the next one is after ``until``."""
        pop = _pop
        cancelled = _cancelled
        limit = math.inf if until is None else until
        while True:
            queue = self._queue  # replaced only by _next_window, when empty
            while queue:
                entry = queue[0]
                when: float = entry[0]
                if when > limit:
                    break
                pop(queue)
                callback = entry[2]
                if callback is cancelled:
                    continue
                self._now = when
                callback(*entry[3])
            if queue or not self._next_window():
                break
        if until is not None and until > self._now:
            self._now = until

    @property
    def pending(self) -> int:
        timers = itertools.chain(self._queue, *self._later.values())
        return sum(1 for entry in timers if entry[2] is not _cancelled)


class AsyncioClock:
    """Real time, through the running asyncio loop (``loop.time()`` is ``CLOCK_MONOTONIC``).

    Call it only from the loop's own thread; other threads hand work over with
    ``loop.call_soon_threadsafe``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def now(self) -> float:
        return self._loop.time()

    def call_at(
        self, when: float, callback: Callable[..., None], *args: object
    ) -> asyncio.TimerHandle:
        return self._loop.call_at(when, callback, *args)
