"""The one seam between pure logic and time.

The DSP scheduler and the firmware stubs only ever see a :class:`Clock`: ``now()`` and
``call_at()``. :class:`VirtualClock` runs them as a deterministic discrete-event
simulation; :class:`AsyncioClock` runs the very same code live on the bench
(``reference/architecture.md``, "Seams worth getting right early").
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import Callable
from typing import Protocol


class TimerHandle(Protocol):
    """What ``call_at`` returns: something that can be cancelled."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Time as the pure core sees it, in seconds on a monotonic scale."""

    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callable[..., None], *args: object) -> TimerHandle:
        """Run ``callback(*args)`` at ``when`` (at once if ``when`` is past)."""
        ...


_push = heapq.heappush
_pop = heapq.heappop


def _cancelled(*_: object) -> None:
    """What a cancelled timer's entry calls instead: nothing (it is skipped, never run)."""


class _VirtualTimer(list):
    """A scheduled callback; the list ``[when, seq, callback, args]`` is itself the heap entry.

    One object per event (the entry and its handle at once), compared by ``(when, seq)`` in C;
    ``args`` spares the caller a ``functools.partial`` per event.
    """

    __slots__ = ()

    def cancel(self) -> None:
        self[2] = _cancelled


class VirtualClock:
    """A discrete-event clock: time jumps from one scheduled event to the next.

    Events due at the same instant run in the order they were scheduled, so a run is a pure
    function of its inputs.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._queue: list[_VirtualTimer] = []
        self._seq = 0

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[..., None], *args: object) -> _VirtualTimer:
        if when < self._now:
            when = self._now
        timer = _VirtualTimer((when, self._seq, callback, args))
        self._seq += 1
        _push(self._queue, timer)
        return timer

    def call_later(
        self, delay: float, callback: Callable[..., None], *args: object
    ) -> _VirtualTimer:
        return self.call_at(self._now + delay, callback, *args)

    def step(self) -> bool:
        """Run the next due event; return False when nothing is scheduled."""
        queue = self._queue
        while queue:
            when, _, callback, args = _pop(queue)
            if callback is _cancelled:
                continue
            self._now = when
            callback(*args)
            return True
        return False

    def run(self, until: float | None = None) -> None:
        """Run events in time order until the queue is empty or the next one is after ``until``."""
        queue = self._queue
        pop = _pop
        cancelled = _cancelled
        limit = math.inf if until is None else until
        while queue:
            if queue[0][0] > limit:
                break
            when, _, callback, args = pop(queue)
            if callback is cancelled:
                continue
            self._now = when
            callback(*args)
        if until is not None and until > self._now:
            self._now = until

    @property
    def pending(self) -> int:
        return sum(1 for entry in self._queue if entry[2] is not _cancelled)


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
