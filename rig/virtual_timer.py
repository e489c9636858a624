"""The entry of one event in :class:`rig.clock.VirtualClock`'s queue, which is also its handle.

Its own module because the clock is compiled by mypyc (rig/_native.py), which cannot compile a
subclass of ``list``: this class stays an ordinary Python class that compiled code uses.
"""

from __future__ import annotations


def cancelled(*_: object) -> None:
    """What a cancelled timer's entry calls instead: nothing (it is skipped, never run)."""


class VirtualTimer(list):  # type: ignore[type-arg]
    """A scheduled callback: the list ``[callback, args]`` is both the queue's entry and the
    handle that cancels it; ``args`` spares the caller a ``functools.partial`` per event."""

    __slots__ = ()

    def cancel(self) -> None:
        self[0] = cancelled
