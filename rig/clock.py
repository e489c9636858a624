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
from collections.abc import Callable
from typing import Protocol


class TimerHandle(Protocol):
    """What ``call_at`` returns: something that can be cancelled."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Time as the pure core sees it, in seconds on a monotonic scale."""

    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle: ...


class _VirtualTimer:
    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """A discrete-event clock: time jumps from one scheduled event to the next.

    Events due at the same instant run in the order they were scheduled, so a run is a pure
    function of its inputs.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._queue: list[tuple[float, int, _VirtualTimer]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> _VirtualTimer:
        timer = _VirtualTimer(callback)
        heapq.heappush(self._queue, (max(when, self._now), next(self._seq), timer))
        return timer

    def call_later(self, delay: float, callback: Callable[[], None]) -> _VirtualTimer:
        return self.call_at(self._now + delay, callback)

    def step(self) -> bool:
        """Run the next due event; return False when nothing is scheduled."""
        while self._queue:
            when, _, timer = heapq.heappop(self._queue)
            if timer.cancelled:
                continue
            self._now = when
            timer.callback()
            return True
        return False

    def run(self, until: float | None = None) -> None:
        """Run events in time order until the queue is empty or the next one is after ``until``."""
        while self._queue:
            when = self._queue[0][0]
            if until is not None and when > until:
                break
            self.step()
        if until is not None and until > self._now:
            self._now = until

    @property
    def pending(self) -> int:
        return sum(1 for _, _, t in self._queue if not t.cancelled)


class AsyncioClock:
    """Real time, through the running asyncio loop (``loop.time()`` is ``CLOCK_MONOTONIC``).

    Call it only from the loop's own thread; other threads hand work over with
    ``loop.call_soon_threadsafe``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def now(self) -> float:
        return self._loop.time()

    def call_at(self, when: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return self._loop.call_at(when, callback)
