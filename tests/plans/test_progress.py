"""Progress bars: the pytest plugin counts every settled test (and hides pytest's letters while
its bar shows); a tracked sequence advances as it is walked; nothing is drawn off a terminal."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from rig.plugin.progress import TestProgress
from rig.util.progress import (
    Tracked,
    new_progress,
    on_terminal,
    stderr_on_terminal,
    tracked,
)

pytest_plugins = ["pytester"]

PLAN = """
import pytest

def test_a():
    pass

def test_b():
    assert False

@pytest.mark.skip(reason="no GSME")
def test_c():
    pass

@pytest.mark.parametrize("n", range(3))
def test_d(n):
    pass
"""


def terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=100)


def test_the_bar_counts_every_test_and_replaces_the_letters(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_progress_plan=PLAN)
    plugin = TestProgress(new_progress(terminal()))
    result = pytester.runpytest_inprocess(plugins=[plugin])
    result.assert_outcomes(passed=4, failed=1, skipped=1)
    assert plugin.task is not None
    task = plugin.progress.tasks[0]
    assert (task.completed, task.total) == (6, 6)
    assert plugin.counts == {"passed": 4, "failed": 1, "skipped": 1}
    assert not any(line.endswith(".Fs...") for line in result.outlines)


def test_verbose_runs_keep_pytest_lines_and_show_no_bar(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_progress_plan=PLAN)
    plugin = TestProgress(new_progress(terminal()))
    result = pytester.runpytest_inprocess("-v", plugins=[plugin])
    assert plugin.task is None
    result.stdout.fnmatch_lines(["*test_a PASSED*"])


def test_a_tracked_sequence_advances_as_it_is_walked() -> None:
    progress = new_progress(terminal())
    items = Tracked([1, 2, 3], progress, "replaying")
    assert len(items) == 3 and items[1] == 2
    walked = []
    for item in items:
        walked.append(item)
        assert progress.tasks[0].completed == len(walked) - 1
    assert progress.tasks[0].completed == 3 and walked == [1, 2, 3]


def test_off_a_terminal_nothing_is_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert not on_terminal()
    entries = [1, 2]
    with tracked(entries, "replaying") as shown:
        assert shown is entries


def test_bars_on_standard_error_need_it_to_be_a_redrawable_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdout", io.StringIO())  # a pipe: rig simulate > report.txt
    monkeypatch.setattr("sys.stderr", Tty())
    monkeypatch.setenv("TERM", "xterm")
    assert stderr_on_terminal() and not on_terminal()
    monkeypatch.setenv("TERM", "dumb")
    assert not stderr_on_terminal()
    monkeypatch.setattr("sys.stderr", io.StringIO())
    monkeypatch.setenv("TERM", "xterm")
    assert not stderr_on_terminal()
