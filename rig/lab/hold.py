"""Holding a bench's labgrid place for a while: a pytest session (rig/plugin/lab.py), or one
command (``rig check``, ``rig replay``): reserved and acquired through the coordinator, the
bench's transports mapped onto the place's resources (rig/lab/mapping.py), released when the
holder ends, fails, or is sent SIGTERM, and at interpreter exit (docs/lab.md "Release")."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from rig.config.bench import Bench
from rig.config.labgrid import LabgridConfig
from rig.lab.mapping import bench_on_place
from rig.lab.place import HeldPlace, hold_place

#: How long one command (``rig check``, ``rig replay``) waits in labgrid's queue for its place:
#: a few of the coordinator's scheduling rounds, not a run's length. [ASSUMED]
COMMAND_WAIT_S = 30.0


@contextmanager
def holding(
    bench: Bench, lab: LabgridConfig, holder: str, timeout_s: float
) -> Iterator[tuple[HeldPlace, Bench]]:
    """The place held (waiting up to ``timeout_s`` in labgrid's queue) and ``bench`` on it, for
    the block; PlaceError if no place is had, BenchError if the place cannot serve the bench
    (released then too)."""
    with ReleaseOnSigterm() as on_sigterm:
        held = hold_place(lab, holder, timeout_s, stop=on_sigterm.requested)
        on_sigterm.holding(held)
        try:
            yield held, bench_on_place(bench, held.name, held.resources)
        finally:
            held.release()


class ReleaseOnSigterm:
    """While entered: SIGTERM releases the held place, then ends the process as SIGTERM would
    have. One that comes while the place is still being reserved stops the wait (the
    reservation is cancelled); one during its acquisition is acted on once it is held. Not the
    main thread: the ``finally`` and :mod:`atexit` release it."""

    def __init__(self) -> None:
        self._held: HeldPlace | None = None
        self._pending = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> ReleaseOnSigterm:
        try:
            self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)
            self._installed = True
        except ValueError:
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)

    def requested(self) -> bool:
        """Whether SIGTERM came before the place was held."""
        return self._pending

    def holding(self, held: HeldPlace) -> None:
        self._held = held
        if self._pending:
            self._on_sigterm(signal.SIGTERM, None)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        if self._held is None:
            self._pending = True
            return
        self._held.release()
        signal.signal(signal.SIGTERM, self._previous)
        self._installed = False
        if callable(self._previous):
            self._previous(signum, frame)
        else:
            os.kill(os.getpid(), signal.SIGTERM)
