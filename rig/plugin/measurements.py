"""pytest side of measurements with limits: the ``measure`` fixture and the ``requirement`` marker.

Loaded by the rig's plugin (``pytest_plugins = ["rig.plugin.measurements"]``). For every test it
writes a ``test`` record (outcome, duration, requirement references), and for every measurement
a ``measurement`` record, to the run's results (``results.jsonl`` and the results store); each
measurement also becomes a JUnit property (``record_property``). A measurement outside its
limits fails a test that would otherwise pass::

    @pytest.mark.requirement("SECMP0028 §3")
    def test_top_up_latency(rig, measure):
        record = rig.top_up("esme", pounds=5)
        measure.record("total", record.latencies()["total"] * 1e3, limit=Limit(high=500))

Under pytest-xdist every worker writes its own ``results.jsonl`` (in its sub-folder of the run
folder) and all of them write the same run of the one store: the store is the merged record.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from rig.plugin.run_dir import RUN_DIR
from rig.results.config import run_config
from rig.results.jsonl import RESULTS_FILE, JsonlWriter
from rig.results.measure import (
    Measurement,
    Measurements,
    format_measurement,
    junit_properties,
    limit_breach,
)
from rig.results.resilient import RunSpec, RunWriter, run_writer, upload_backlogs
from rig.results.store import STORE_FILE, Location, StoreError, Tee, checkpoint, is_url, run_key

_MEASURE = pytest.StashKey[Measurements]()
_RECORDER = pytest.StashKey["_Recorder"]()
#: The selected tests' node ids, once collection is done (the run's ``plan``).
_SELECTED = pytest.StashKey[list[str]]()

#: The environment variable naming the run's build when ``--rig-build`` does not (a CI job sets
#: it once for every host of a nightly build).
BUILD_ENV = "RIG_BUILD"
#: The xdist worker input carrying the controller's run key: the workers write its run, on
#: whatever host and disk they run.
_RUN_KEY_INPUT = "rig_run_key"

#: Longest failure text kept in a test record.
MESSAGE_LIMIT = 20_000


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("rig").addoption(
        "--srv",
        action="append",
        default=None,
        metavar="SRV",
        help="run only the tests marked with this SRV (e.g. --srv 7.2); repeatable",
    )
    parser.getgroup("rig").addoption(
        "--rig-store",
        default=None,
        metavar="FILE|URL",
        help="results store holding many runs (history): a SQLite file, or a PostgreSQL "
        "database shared by a lab (postgresql://user@host/db); default: results.sqlite in "
        "the run folder",
    )
    parser.getgroup("rig").addoption(
        "--rig-build",
        default=None,
        metavar="ID",
        help="the build this run belongs to (runs on many hosts share it; rig report --build); "
        f"default: ${BUILD_ENV}",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "requirement(*refs): requirement references this test covers (e.g. 'SECMP0028 §3'); "
        "they feed the requirement coverage matrix",
    )
    config.addinivalue_line(
        "markers",
        "srv(*srvs): the DUIS SRVs a test exercises (e.g. '7.2'); each counts as requirement "
        "'DUIS SRV 7.2' in the coverage matrix, and --srv selects by them",
    )
    config.stash[_RECORDER] = _Recorder(config)
    config.pluginmanager.register(_SuiteProperties(config), "rig-junit-suite-properties")


def srvs_of(item: pytest.Item) -> list[str]:
    """The SRVs of a test, from all its ``srv`` markers, in order."""
    return list(dict.fromkeys(str(s) for m in item.iter_markers("srv") for s in m.args))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--srv``: keep the tests marked with one of the SRVs asked for."""
    wanted = set(config.getoption("--srv") or ())
    if not wanted:
        return
    kept = [item for item in items if wanted & set(srvs_of(item))]
    deselected = [item for item in items if item not in kept]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[_SELECTED] = [item.nodeid for item in session.items]


def pytest_unconfigure(config: pytest.Config) -> None:
    recorder = config.stash.get(_RECORDER, None)
    if recorder is not None:
        recorder.close()
    if RUN_DIR not in config.stash:  # a usage error before the run began: nothing was stored
        return
    if getattr(config, "workerinput", None) is None:  # the controller, after every worker
        location = store_path(config)
        try:
            checkpoint(location)
            if is_url(location):  # what a writer could not upload before it closed
                upload_backlogs(run_folder(config), location)
        except StoreError as exc:
            sys.stderr.write(f"rig: results store {exc}: records kept in the run folder\n")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: hand each worker the run's key."""
    if RUN_DIR in node.config.stash:
        node.workerinput[_RUN_KEY_INPUT] = run_key(run_folder(node.config))


def run_folder(config: pytest.Config) -> Path:
    """The run's folder: the same in every xdist worker (each writes in a sub-folder of it)."""
    run_dir = config.stash[RUN_DIR]
    return run_dir.parent if hasattr(config, "workerinput") else run_dir


def store_path(config: pytest.Config) -> Location:
    """The run's results store: ``--rig-store`` if given, else the run folder's own."""
    return config.getoption("--rig-store") or run_folder(config) / STORE_FILE


def build_of(config: pytest.Config) -> str | None:
    """The run's build: ``--rig-build``, else ``$RIG_BUILD``, else none."""
    return config.getoption("--rig-build") or os.environ.get(BUILD_ENV) or None


def open_store_writer(config: pytest.Config) -> RunWriter:
    """A writer into this run of the results store (every xdist worker shares the run); for a
    database, one that keeps what it cannot store in this process's run folder."""
    folder = run_folder(config)
    worker = getattr(config, "workerinput", None) or {}
    run = RunSpec(
        folder=str(folder),
        key=worker.get(_RUN_KEY_INPUT) or run_key(folder),
        bench=" ".join(map(str, config.getoption("--bench") or ())) or "embedded emulated bench",
        plan=" ".join(config.invocation_params.args),
        config=_run_config(config),
        build=build_of(config),
    )
    return run_writer(store_path(config), run, config.stash[RUN_DIR])


def _run_config(config: pytest.Config) -> dict[str, str]:
    """The hashes of this run's plan, bench files, TMM documents and options
    (:mod:`rig.results.config`)."""
    from rig.config.bench import DEFAULT_BENCH, BenchError, load_bench
    from rig.dsp.tmm import default_tmm_path

    benches = list(config.getoption("--bench") or [DEFAULT_BENCH])
    tmms = []
    for path in benches:
        try:
            tmms.append(load_bench(path).dsp.tmm or default_tmm_path())
        except BenchError:  # the bench fixture reports it; the file's bytes are still hashed
            continue
    selected = config.stash.get(_SELECTED, [*config.invocation_params.args])
    return run_config(
        nodeids=selected,
        benches=benches,
        tmms=tmms,
        options={"xdist workers": os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")},
    )


def requirements_of(item: pytest.Item) -> list[str]:
    """The requirement references of a test: ``DUIS SRV n`` for each of its SRVs, then those of
    all its ``requirement`` markers, in order."""
    refs = (str(ref) for marker in item.iter_markers("requirement") for ref in marker.args)
    return list(dict.fromkeys([*(f"DUIS SRV {srv}" for srv in srvs_of(item)), *refs]))


class _Recorder:
    """This process's sink for test and measurement records.

    It opens once the run has a folder: named on the command line (``--rig-results``,
    ``--rig-store``), or made by the rig or the ``measure`` fixture. Until then records are
    held, so a plain ``pytest`` run of unit tests leaves nothing behind.
    """

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        self._sink: Tee | None = None
        self._pending: list[dict[str, Any]] = []

    def _ready(self) -> bool:
        config = self._config
        named = config.getoption("--rig-results") or config.getoption("--rig-store")
        return bool(named) or config.stash[RUN_DIR].is_dir()

    def write(self, record: dict[str, Any]) -> None:
        if self._sink is None:
            if not self._ready():
                self._pending.append(record)
                return
            jsonl = JsonlWriter(self._config.stash[RUN_DIR] / RESULTS_FILE)
            self._sink = Tee(jsonl, open_store_writer(self._config))
            for held in self._pending:
                self._sink.write(held)
            self._pending.clear()
        self._sink.write(record)

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None


@pytest.fixture
def measure(request: pytest.FixtureRequest, rig_run_dir: Path) -> Iterator[Measurements]:
    """Take measurements with limits in a test: ``measure.record(name, value, units, limit)``."""
    rig_run_dir.mkdir(parents=True, exist_ok=True)
    item = request.node
    measurements = Measurements(
        request.config.stash[_RECORDER], nodeid=item.nodeid, requirements=requirements_of(item)
    )
    item.stash[_MEASURE] = measurements
    yield measurements


#: JUnit families whose schema has ``properties`` in a ``testcase``; xunit2 (pytest's
#: default) has them only in the ``testsuite`` (pytest warns when ``record_property`` is used
#: under it).
_TESTCASE_PROPERTIES = ("legacy", "xunit1")
#: A call report's JUnit properties for the testsuite (under xunit2), carried to the process
#: that writes the XML (the xdist controller) as a report attribute.
_SUITE_PROPERTIES = "rig_suite_properties"


def _junit(item: pytest.Item, report: pytest.TestReport) -> None:
    """The test's requirements and measurements (numbers:
    :func:`rig.results.measure.junit_properties`) as JUnit properties: of its ``testcase``
    under the legacy and xunit1 families, else of the ``testsuite``, named after the
    test (``<nodeid> total.value``)."""
    measurements = item.stash.get(_MEASURE, None)
    properties = [("requirement", ref) for ref in requirements_of(item)]
    for m in measurements.taken if measurements else ():
        properties += junit_properties(m.to_json())
    if item.config.getini("junit_family") in _TESTCASE_PROPERTIES:
        item.user_properties.extend(properties)
    elif properties:
        setattr(report, _SUITE_PROPERTIES, [(f"{item.nodeid} {k}", v) for k, v in properties])


class _SuiteProperties:
    """In the process that writes the JUnit XML: a test's testsuite properties go into it."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        properties = getattr(report, _SUITE_PROPERTIES, None)
        if not properties:
            return
        # pytest's own ``record_testsuite_property`` is this, in a fixture; no public API
        # adds one from a hook (and under xdist only the controller holds the XML).
        from _pytest.junitxml import xml_key

        xml = self._config.stash.get(xml_key, None)
        if xml is not None:
            for name, value in properties:
                xml.add_global_property(name, value)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    measurements = item.stash.get(_MEASURE, None)
    if report.when == "call" and report.passed and measurements and measurements.failures:
        report.outcome = "failed"
        report.longrepr = failure_text(measurements.failures)
    outcome = settled_outcome(report)
    if outcome is not None:
        if report.when == "call":
            _junit(item, report)
        item.config.stash[_RECORDER].write(
            {
                "kind": "test",
                "nodeid": item.nodeid,
                "outcome": outcome,
                "duration_s": report.duration,
                "requirements": requirements_of(item),
                "message": report.longreprtext[:MESSAGE_LIMIT] or None,
                "at": report.start,
            }
        )
    return report


def failure_text(failures: list[Measurement]) -> str:
    """A test's failure from its failed measurements: the first line names each with its
    value and the limit it broke (``total 840 ms > limit 500 ms``), as JUnit's failure
    message; then one line each with the full limits."""
    records = [m.to_json() for m in failures]
    head = "; ".join(limit_breach(r) for r in records)
    return f"{head}\n" + "\n".join(f"  {r['name']}: {format_measurement(r)}" for r in records)


def settled_outcome(report: pytest.TestReport) -> str | None:
    """The test outcome a report settles, if any: the call's (``xfailed`` for an expected
    failure, ``xpassed`` for a non-strict xfail that passed), or a setup/teardown problem."""
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.when == "call":
        return report.outcome
    if report.skipped:
        return "skipped"
    if report.failed:
        return "error"
    return None
