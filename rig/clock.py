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
from collections import deque
from collections.abc import Callable
from typing import Final, Protocol


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


def _cancelled(*_: object) -> None:
    """What a cancelled timer calls instead: nothing (it is skipped, never run)."""


class _VirtualTimer:
    """A scheduled ``callback(*args)``: the queue's entry and the handle that cancels it.

    ``args`` spares the caller a ``functools.partial`` per event. A plain class, so that
    compiled, building one is a native allocation and its fields are struct slots.
    """

    __slots__ = ("args", "callback")

    def __init__(self, callback: Callable[..., None], args: tuple[object, ...]) -> None:
        self.callback = callback
        self.args = args

    def cancel(self) -> None:
        self.callback = _cancelled


class VirtualClock:
    """A discrete-event clock: time jumps from one scheduled event to the next.

    Events due at the same instant run in the order they were scheduled, so a run is a pure
    function of its inputs.

    The queue orders *times*, not events: each distinct time is one float in a heap (compared
    in C without the tie-breaks of a tuple), its first event is in ``_due`` and any later events
    at exactly the same time wait in ``_ties`` (FIFO). In front of the heap is a calendar: time
    is cut into windows of ``window_s``; times in the current window are in the heap, later ones
    are appended to a list per window and heapified when their window comes, so that with
    thousands of WAN round trips in flight the heap stays small and in cache. The order is
    exactly that of one heap ordered by ``(when, scheduling order)``.
    """

    def __init__(self, start: float = 0.0, *, window_s: float = 0.03125) -> None:
        if not window_s > 0:
            raise ValueError(f"window_s = {window_s!r}: must be > 0")
        self._now = start
        self._per_s = 1.0 / window_s
        self._window = int(start * self._per_s)  # times with a window index <= this: _queue
        self._queue: list[float] = []  # heap of the distinct times of the current window
        self._later: dict[int, list[float]] = {}  # window index -> its distinct times
        self._windows: list[int] = []  # heap of the keys of _later
        self._due: dict[float, _VirtualTimer] = {}  # time -> its first event not yet run
        self._ties: dict[float, deque[_VirtualTimer]] = {}  # time -> its later events, in order

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[..., None], *args: object) -> _VirtualTimer:
        if when < self._now:
            when = self._now
        timer = _VirtualTimer(callback, args)
        if self._due.setdefault(when, timer) is not timer:  # a tie: after those at that time
            ties = self._ties.get(when)
            if ties is None:
                self._ties[when] = deque((timer,))
            else:
                ties.append(timer)
            return timer
        window = int(when * self._per_s)
        if window <= self._window:
            _push(self._queue, when)
        else:
            later = self._later.get(window)
            if later is None:
                self._later[window] = [when]
                _push(self._windows, window)
            else:
                later.append(when)
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

    def _next_tie(self, when: float) -> None:
        """The first event at ``when`` has been taken: the next one at that time, if any, is
        due now (``when`` is the smallest time left, so it is popped next)."""
        ties = self._ties.get(when)
        if ties is not None:
            self._due[when] = ties.popleft()
            if not ties:
                del self._ties[when]
            _push(self._queue, when)

    def step(self) -> bool:
        """Run the next due event; return False when nothing is scheduled."""
        while self._queue or self._next_window():
            when = _pop(self._queue)
            entry = self._due.pop(when)
            if self._ties:
                self._next_tie(when)
            callback = entry.callback
            if callback is _cancelled:
                continue
            self._now = when
            callback(*entry.args)
            return True
        return False

    def run(self, until: float | None = None) -> None:
        """Run events in time order until the queue is empty or the next one is after ``until``."""
        pop = _pop
        cancelled = _cancelled
        due = self._due
        limit = math.inf if until is None else until
        while True:
            queue = self._queue  # replaced only by _next_window, when empty
            while queue:
                when = queue[0]
                if when > limit:
                    break
                pop(queue)
                entry = due[when]
                del due[when]
                if self._ties:
                    self._next_tie(when)
                callback = entry.callback
                if callback is cancelled:
                    continue
                self._now = when
                callback(*entry.args)
            if queue or not self._next_window():
                break
        if until is not None and until > self._now:
            self._now = until

    def next_due(self) -> float | None:
        """When the next event is due (a cancelled one may still name its time), or None: what
        a host loop that runs this clock in real time sleeps until."""
        if self._queue:
            return self._queue[0]
        if self._windows:
            return min(self._later[self._windows[0]])
        return None

    @property
    def pending(self) -> int:
        timers = itertools.chain(self._due.values(), *self._ties.values())
        return sum(1 for entry in timers if entry.callback is not _cancelled)


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
