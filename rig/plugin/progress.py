"""The bar of a pytest run's tests (``rig run``, ``rig demo``): a pytest plugin that shows a bar
of tests settled, with passed and failed counts, in place of pytest's per-test letters (the
summary, failures and reports print as usual); only on a terminal (rig/util/progress.py).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import pytest
from rich.progress import Progress, TaskID

from rig.util.progress import new_progress


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
    ) -> Generator[None, tuple[str, str, Any], tuple[str, str, Any]]:
        status = yield
        if self.task is None:
            return status
        category, letter, word = status
        return (category, "", word) if letter else status

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from rig.plugin.measurements import settled_outcome  # a pytest plugin: imported by pytest

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
