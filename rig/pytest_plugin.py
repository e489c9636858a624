"""The rig as a pytest plugin (entry point ``pytest11``): ``--bench``, the ``rig`` fixture, and a
latency report at the end of the run.

A test plan asks for the ``rig`` fixture and calls the SRVs on named devices::

    def test_top_up(rig):
        record = rig.top_up("esme", pounds=10)
        assert record.ok, record.reason
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the plugin loads in every pytest run: keep its import cheap
    from rig.bench import Bench
    from rig.orchestrator import Rig

from rig.results.jsonl import RESULTS_FILE

_RUN_DIR = pytest.StashKey[Path]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rig", "GB smart-meter HIL rig")
    group.addoption(
        "--bench",
        default=None,
        type=Path,
        help="bench file (TOML); default: the embedded emulated bench",
    )
    group.addoption(
        "--rig-results",
        default=None,
        type=Path,
        help="folder for this run's results; default: runs/<UTC time>",
    )


@pytest.fixture(scope="session")
def bench(pytestconfig: pytest.Config) -> Bench:
    """The bench file, loaded and validated."""
    from rig.bench import DEFAULT_BENCH, load_bench

    return load_bench(pytestconfig.getoption("--bench") or DEFAULT_BENCH)


@pytest.fixture(scope="session")
def rig_run_dir(pytestconfig: pytest.Config) -> Path:
    """Where this run's results, keys and captures are written."""
    chosen = pytestconfig.getoption("--rig-results")
    run_dir = chosen or Path("runs") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    pytestconfig.stash[_RUN_DIR] = run_dir
    return run_dir


@pytest.fixture(scope="session")
def rig(bench: Bench, rig_run_dir: Path) -> Iterator[Rig]:
    """The running bench: devices started, DSP model live, results streaming to disk."""
    from rig.launch import launch

    with launch(bench, rig_run_dir) as running:
        yield running


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    run_dir = config.stash.get(_RUN_DIR, None)
    if run_dir is None or not (run_dir / RESULTS_FILE).exists():
        return
    from rich.console import Console

    from rig.results.jsonl import read_jsonl
    from rig.results.report import render, summarise

    results = run_dir / RESULTS_FILE
    records = [r for r in read_jsonl(results) if r.get("kind") == "request"]
    buffer = io.StringIO()
    render(summarise(records), Console(file=buffer, width=110), title=f"Latency report: {results}")
    terminalreporter.write(buffer.getvalue())
