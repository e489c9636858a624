"""The rig as a pytest plugin (entry point ``pytest11``): ``--bench``, the ``rig`` fixture, and a
latency report at the end of the run.

A test plan asks for the ``rig`` fixture and calls the SRVs on named devices::

    def test_top_up(rig):
        record = rig.top_up("esme", pounds=10)
        assert record.ok, record.reason
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the plugin loads in every pytest run: keep its import cheap
    from rig.config.bench import Bench
    from rig.live.orchestrator import Rig
    from rig.load import LoadDriver
    from rig.serve.server import DuisServer

from rig.plugin.lab import HELD_PLACE, RESULTS_OUTPUT, RUN_DIR_INPUT
from rig.plugin.run_dir import RUN_DIR
from rig.results.jsonl import RESULTS_FILE

pytest_plugins = ["rig.plugin.measurements"]

#: How long a worker waits for a free bench [ASSUMED: one long plan on another worker].
LEASE_TIMEOUT_S = 600.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rig", "GB smart-meter HIL rig")
    group.addoption(
        "--bench",
        action="append",
        default=None,
        type=_bench_path,
        help="bench file (TOML), or a shipped bench's name (han); default: the embedded "
        "emulated bench. Repeat it to give pytest-xdist workers a pool: each leases the first "
        "bench whose ports are free",
    )
    group.addoption(
        "--rig-leases",
        default=None,
        type=Path,
        help="lease folder shared by every run on this host (default: rig-leases in the "
        "temporary folder)",
    )
    group.addoption(
        "--rig-lease-timeout",
        default=LEASE_TIMEOUT_S,
        type=float,
        help=f"seconds a worker waits for a free bench (default {LEASE_TIMEOUT_S:g})",
    )
    group.addoption(
        "--lg-place",
        default=None,
        metavar="PLACE",
        help="hold this labgrid place for the session and reach the bench through it "
        "(coordinator: the bench's [labgrid] table, else $LG_COORDINATOR; docs/lab.md)",
    )
    group.addoption(
        "--lg-pool",
        default=None,
        metavar="TAGS",
        help="reserve a labgrid place tagged pool=TAGS (or key=value,...): each xdist worker "
        "gets its own, waiting in labgrid's queue up to --rig-lease-timeout",
    )
    group.addoption(
        "--rig-serve",
        default=None,
        type=int,
        metavar="PORT",
        help="serve DUIS on 127.0.0.1:PORT on the session's rig for the whole session "
        '(docs/dcc-boxed.md "With a test plan"; 0: any free port)',
    )
    group.addoption(
        "--rig-results",
        default=None,
        type=Path,
        help="folder for this run's results; default: runs/<UTC time>",
    )


def _bench_path(given: str) -> Path:
    from rig.config.bench import bench_path  # here: the bench module is not needed to start

    return bench_path(given)


@pytest.fixture(scope="session")
def bench(pytestconfig: pytest.Config) -> Iterator[Bench]:
    """The bench file, loaded and validated, held for the whole session: through a labgrid
    place (``[labgrid]``, ``--lg-place``, ``--lg-pool``; docs/lab.md), else with a lease on
    each of its physical ports (docs/writing-test-plans.md "Several workers")."""
    from rig.config.bench import DEFAULT_BENCH, load_bench
    from rig.live.lease import DEFAULT_LEASE_DIR, lease_bench, this_holder
    from rig.plugin.lab import bench_on_held_place, lab_config

    paths = pytestconfig.getoption("--bench") or [DEFAULT_BENCH]
    worker = getattr(pytestconfig, "workerinput", {}).get("workerid")
    timeout_s = pytestconfig.getoption("--rig-lease-timeout")
    benches = [load_bench(path) for path in paths]
    lab = lab_config(pytestconfig, benches[0])
    if lab is not None:
        with bench_on_held_place(pytestconfig, benches[0], lab, worker, timeout_s) as on_place:
            yield on_place
        return
    leased = lease_bench(
        benches,
        pytestconfig.getoption("--rig-leases") or DEFAULT_LEASE_DIR,
        holder=this_holder(worker),
        timeout_s=timeout_s,
    )
    try:
        yield leased.bench
    finally:
        leased.release()


def pytest_configure(config: pytest.Config) -> None:
    """Fix the run folder once. Under pytest-xdist the controller picks it and hands it to each
    worker in xdist's worker input (not the environment: a worker may run on another host);
    each worker writes to its own sub-folder (its own emulators, keys and results), and sends
    its results back at the end (:func:`pytest_testnodedown`), merged in the report."""
    worker = getattr(config, "workerinput", None)
    if worker is None:
        _check_options(config)
        chosen = config.getoption("--rig-results")
        config.stash[RUN_DIR] = chosen or Path("runs") / datetime.now(UTC).strftime(
            "%Y%m%dT%H%M%SZ"
        )
    else:
        config.stash[RUN_DIR] = Path(worker[RUN_DIR_INPUT]) / worker["workerid"]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist, on the controller, per worker: the run folder goes in the worker's input."""
    node.workerinput[RUN_DIR_INPUT] = str(node.config.stash[RUN_DIR])


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker, after its session's teardown: its results go back to the controller in
    xdist's worker output."""
    config = session.config
    if hasattr(config, "workerinput") and hasattr(config, "workeroutput"):
        from rig.plugin.lab import worker_results

        config.workeroutput[RESULTS_OUTPUT] = worker_results(config.stash[RUN_DIR])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist, on the controller, as a worker ends: its results kept in the run folder if the
    worker wrote them on another disk (a worker that crashed sends none: docs/lab.md)."""
    from rig.plugin.lab import keep_worker_results

    output = getattr(node, "workeroutput", None) or {}
    worker = node.workerinput["workerid"]
    keep_worker_results(node.config.stash[RUN_DIR], worker, output.get(RESULTS_OUTPUT))


def _check_options(config: pytest.Config) -> None:
    """A bad ``--bench`` or ``--srv`` is one usage error before any test runs (exit code 4), not
    an error per test nor an empty selection."""
    paths = config.getoption("--bench") or ()
    if paths:
        from rig.config.bench import BenchError, load_bench

        for path in paths:
            try:
                load_bench(path)
            except BenchError as exc:
                raise pytest.UsageError(f"--bench: {exc}") from None
    unknown = unknown_srvs(config.getoption("--srv") or ())
    if unknown:
        raise pytest.UsageError(f"--srv: {unknown}")
    from rig.plugin.lab import check_lab_options

    check_lab_options(config)


def unknown_srvs(srvs: Iterable[str]) -> str | None:
    """None when every one of ``srvs`` is in the DUIS SRV matrix (rig/duis/srv_matrix.py,
    domain.md §7.3), else one line naming the others and the known ones."""
    from rig.duis.srv_matrix import SRV_MATRIX

    unknown = [srv for srv in srvs if srv not in SRV_MATRIX]
    if not unknown:
        return None
    return (
        f"unknown SRV {', '.join(map(repr, unknown))} (the SRV matrix has {', '.join(SRV_MATRIX)})"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked with an SRV outside the SRV matrix errors (it would count as covering a
    requirement that does not exist)."""
    from rig.plugin.measurements import srvs_of

    unknown = unknown_srvs(srvs_of(item))
    if unknown:
        pytest.fail(f"@pytest.mark.srv: {unknown}", pytrace=False)


def _worker(config: pytest.Config) -> str:
    """This process's xdist worker id ("main" without xdist)."""
    return getattr(config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def rig_run_dir(pytestconfig: pytest.Config) -> Path:
    """Where this run's (or this xdist worker's) results, keys and captures are written."""
    return pytestconfig.stash[RUN_DIR]


@pytest.fixture(scope="session")
def rig(pytestconfig: pytest.Config, bench: Bench, rig_run_dir: Path) -> Iterator[Rig]:
    """The running bench: devices started, DSP model live, results streaming to disk (JSON
    Lines in the run folder and the SQLite results store). A bench that cannot start (a port
    that does not open, a device that does not come up) ends the session with one usage error
    naming each device, instead of an error per test."""
    from rig.config.bench import BenchError
    from rig.live.launch import launch
    from rig.plugin.measurements import open_store_writer

    with ExitStack() as stack:
        try:
            running = stack.enter_context(
                launch(bench, rig_run_dir, store=open_store_writer(pytestconfig))
            )
        except BenchError as exc:
            pytest.exit(f"bench did not start: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
        held = pytestconfig.stash.get(HELD_PLACE, None)
        if held is not None:
            running.note({**held.to_json(), "worker": _worker(pytestconfig)})
        yield running


@pytest.fixture(autouse=True)
def rig_captures(request: pytest.FixtureRequest, rig_run_dir: Path) -> Iterator[None]:
    """Per-test pcaps of a test that uses ``rig`` (GBCS frames; 802.15.4 on a bench with a HAN)
    in ``<run folder>/captures/<test>/``, noted in the results (docs/reading-the-report.md)."""
    if "rig" not in request.fixturenames:
        yield
        return
    from rig.live.launch import capture_test
    from rig.live.orchestrator import Rig

    running = request.getfixturevalue("rig")
    if not isinstance(running, Rig):
        yield
        return
    with capture_test(running, rig_run_dir, request.node.nodeid):
        yield


@pytest.fixture(scope="session")
def duis_server(pytestconfig: pytest.Config, rig: Rig) -> Iterator[DuisServer]:
    """``rig serve`` on the session's rig (the same DSP as the plan's requests): on
    ``--rig-serve PORT``, else a free port; ``duis_server.url``, ``duis_server.records``
    (docs/dcc-boxed.md "With a test plan")."""
    from rig.serve.gate import ServeError
    from rig.serve.server import DuisServer

    port = pytestconfig.getoption("--rig-serve")
    try:
        server = DuisServer(rig, port=port or 0)
        server.start()
    except ServeError as exc:
        pytest.exit(f"rig serve did not start: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    yield server
    server.stop()


@pytest.fixture(autouse=True, scope="session")
def _rig_serve(request: pytest.FixtureRequest) -> None:
    """``--rig-serve PORT`` serves for the whole session, whatever the tests use."""
    if request.config.getoption("--rig-serve") is not None:
        request.getfixturevalue("duis_server")


@pytest.fixture
def load(rig: Rig) -> LoadDriver:
    """Load injection on the running bench: ``load.run(schedule)`` plays a
    :mod:`rig.load.schedule` in real time; ``with load.using_tmm(path):`` swaps the TMM
    document for a plan and restores the bench's (docs/load.md)."""
    from rig.load import LoadDriver

    return LoadDriver(rig)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """The latency report of every request this run (all xdist workers) measured, and the
    requirement coverage matrix of its tests."""
    if getattr(config, "workerinput", None) is not None:
        return
    run_dir = config.stash.get(RUN_DIR, None)
    files = sorted(run_dir.glob(f"**/{RESULTS_FILE}")) if run_dir and run_dir.is_dir() else []
    if not files:
        return
    from rich.console import Console

    from rig.report.coverage import render_coverage, render_measurements
    from rig.report.run import RunData
    from rig.results.jsonl import read_jsonl
    from rig.results.measure import coverage_matrix
    from rig.results.report import render, summarise

    run = RunData.of_records(str(run_dir), [r for f in files for r in read_jsonl(f)])
    buffer = io.StringIO()
    console = Console(file=buffer, width=110)
    if run.requests:
        render(summarise(run.requests), console, title=f"Latency report: {run_dir}")
    render_coverage(coverage_matrix(run.tests, run.measurements), console)
    render_measurements(run.measurements, console)
    terminalreporter.write(buffer.getvalue())
