"""Rich progress bars for long runs (``rig run``, ``rig demo``, ``rig replay``, ``rig simulate``),
shown only on a terminal: logs and CI pipes get the plain output.

The bar of tests settled under pytest is :class:`rig.plugin.progress.TestProgress`, built on
:func:`new_progress`.
:class:`Tracked` (and :func:`tracked`) advances a bar as a sequence is walked;
:func:`simulation_progress` is the bar of ``rig simulate`` (simulated time and messages).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar, overload

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")


def on_terminal() -> bool:
    """True when both output streams are a terminal that can redraw a bar."""
    return sys.stdout.isatty() and stderr_on_terminal()


def stderr_on_terminal() -> bool:
    """True when standard error, where bars are drawn, is a terminal that can redraw one."""
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def _progress(*columns: ProgressColumn, console: Console | None) -> Progress:
    """A bar with ``columns`` between the bar and the elapsed and remaining time; erased when
    it stops (the final report follows it)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        *columns,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=True,
    )


def new_progress(console: Console | None = None) -> Progress:
    """The rig's bar: description, bar, done/total, elapsed and remaining time."""
    return _progress(MofNCompleteColumn(), console=console)


def simulation_progress(console: Console | None = None) -> Progress:
    """A bar for a virtual-time run: simulated seconds done of the total and messages so far
    (the task's ``messages`` field)."""
    return _progress(
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} simulated s"),
        TextColumn("{task.fields[messages]:,} messages"),
        console=console,
    )


class Tracked(Sequence[T]):
    """A sequence whose walk advances a bar; ``len`` and indexing are the wrapped one's."""

    def __init__(self, items: Sequence[T], progress: Progress, description: str) -> None:
        self._items, self._progress = items, progress
        self._task = progress.add_task(description, total=len(items))

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        for item in self._items:
            yield item
            self._progress.advance(self._task)


@contextmanager
def tracked(items: Sequence[T], description: str) -> Iterator[Sequence[T]]:
    """``items`` with a bar that advances as they are walked, on a terminal; else ``items``."""
    if not on_terminal():
        yield items
        return
    with new_progress() as progress:
        yield Tracked(items, progress, description)
