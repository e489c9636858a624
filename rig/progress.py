"""Rich progress bars for long runs (``rig run``, ``rig demo``, ``rig replay``, ``rig simulate``),
shown only on a terminal: logs and CI pipes get the plain output.

:class:`TestProgress` is a pytest plugin: a bar of tests settled, with passed and failed counts,
in place of pytest's per-test letters (the summary, failures and reports print as usual).
:class:`Tracked` (and :func:`tracked`) advances a bar as a sequence is walked;
:func:`simulation_progress` is the bar of ``rig simulate`` (simulated time and messages).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar, overload

import pytest
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
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


class TestProgress:
    """pytest plugin: one bar for the run's tests (all xdist workers, on the controller)."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, progress: Progress | None = None) -> None:
        self.progress = progress or new_progress()
        self.task: TaskID | None = None
        self.counts = {"passed": 0, "failed": 0, "skipped": 0}
        self.active = True

    def pytest_configure(self, config: pytest.Config) -> None:
        # -v lists each test on its own line: the bar would fight with it.
        self.active = config.get_verbosity() <= 0

    def _start(self, total: int) -> None:
        if self.active and self.task is None and total > 0:
            self.progress.start()
            self.task = self.progress.add_task(self._describe(), total=total)

    def _describe(self) -> str:
        passed, failed = self.counts["passed"], self.counts["failed"]
        return f"tests: [green]{passed} passed[/] [red]{failed} failed[/]"

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._start(len(session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: Sequence[str]) -> None:
        self._start(len(ids))

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> Iterator[None]:
        status = yield
        if self.task is None:
            return status
        category, letter, word = status
        return (category, "", word) if letter else status

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from rig.measure_plugin import settled_outcome  # a pytest plugin: imported by pytest

        outcome = settled_outcome(report)
        if self.task is None or outcome is None:
            return
        key = "failed" if outcome in ("failed", "error") else outcome
        self.counts[key] = self.counts.get(key, 0) + 1
        if report.when != "teardown":
            self.progress.update(self.task, advance=1, description=self._describe())

    def pytest_sessionfinish(self) -> None:
        if self.task is not None:
            self.progress.stop()


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
