"""The resilient writer against a real PostgreSQL server that is killed mid-run and restarted:
every record arrives exactly once. Each test has a private cluster of its own (it stops it)."""

import subprocess
import sys
import time
from collections.abc import Iterator

import pg_cluster
import pytest
from test_store import request

from rig.results.process_writer import ProcessWriter, SinkSpec
from rig.results.resilient import BACKLOG_PREFIX, Backoff, ResilientWriter, RunSpec
from rig.results.store import ResultsStore

pytest_plugins = ["pytester"]

#: Retries fast enough for a test (the defaults are for a lab: rig/results/resilient.py).
FAST = {"backoff": Backoff(first_s=0.05, max_s=0.2), "close_wait_s": 30.0}


@pytest.fixture
def cluster() -> Iterator[pg_cluster.Cluster]:
    own = pg_cluster.private_cluster()
    yield own
    own.destroy()


def stored_ids(url: str) -> list[str]:
    with ResultsStore(url) as store:
        return [r["request_id"] for run in store.runs() for r in store.requests(run.id)]


def upload(folder) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "rig.results.resilient", "upload", str(folder)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def backlogs(folder):
    return list(folder.glob(f"**/{BACKLOG_PREFIX}*"))


def test_a_killed_database_loses_nothing_and_duplicates_nothing(cluster, tmp_path):
    run = RunSpec(folder=str(tmp_path / "run"), build="nightly-1")
    writer = ResilientWriter(cluster.url, run, tmp_path / "run", **FAST)
    assert writer.connected
    total = 300
    for n in range(total):
        if n == 100:
            cluster.stop("immediate")  # the server dies under a live connection
        if n == 200:
            assert not writer.connected and backlogs(tmp_path)  # kept in the run folder
            cluster.start()
        writer.write_many([request(n)] if n % 3 else [request(n), request(n + 10_000)])
        time.sleep(0.002)
    assert writer.connected, "the writer did not reconnect once the server was back"
    writer.close()
    expected = [f"r{n}" for n in range(total)] + [f"r{n + 10_000}" for n in range(0, total, 3)]
    ids = stored_ids(cluster.url)
    assert sorted(ids) == sorted(expected)  # every record, exactly once
    assert not backlogs(tmp_path)  # uploaded, then removed


def test_a_run_started_while_the_database_is_down_is_stored_when_it_is_back(cluster, tmp_path):
    cluster.stop("immediate")
    run = RunSpec(folder=str(tmp_path / "run"), build="b")
    writer = ResilientWriter(cluster.url, run, tmp_path / "run", **FAST)
    writer.write_many([request(n) for n in range(5)])
    assert not writer.connected and backlogs(tmp_path)
    cluster.start()
    writer.close()  # waits for the store, then uploads
    with ResultsStore(cluster.url) as store:
        (stored,) = store.build("b")
        assert [r["request_id"] for r in store.requests(stored.id)] == [f"r{n}" for n in range(5)]
    assert not backlogs(tmp_path)


def test_a_backlog_left_at_close_is_uploaded_later_once(cluster, tmp_path):
    cluster.stop("immediate")
    run = RunSpec(folder=str(tmp_path / "run"))
    writer = ResilientWriter(cluster.url, run, tmp_path / "run" / "gw0", close_wait_s=0.1)
    writer.write_many([request(n) for n in range(3)])
    writer.close()  # the store is not back: the records stay in the run folder
    (left,) = backlogs(tmp_path)
    down = upload(tmp_path / "run")
    assert down.returncode == 1 and down.stderr.startswith("not uploaded: postgresql://")
    assert left.exists()
    cluster.start()
    done = upload(tmp_path / "run")
    assert done.returncode == 0 and "3 records uploaded" in done.stdout, done.stderr
    assert stored_ids(cluster.url) == ["r0", "r1", "r2"] and not backlogs(tmp_path)


def test_the_rigs_writer_process_survives_the_database_being_killed(cluster, tmp_path):
    run = RunSpec(folder=str(tmp_path / "run"))
    opened = ResilientWriter(cluster.url, run, tmp_path / "run", **FAST)
    writer = ProcessWriter(SinkSpec.of(tmp_path / "run" / "results.jsonl", opened), batch_s=0.01)
    opened.close()
    for n in range(150):
        if n == 50:
            cluster.stop("immediate")
        if n == 100:
            cluster.start()
        writer.write(request(n))
        time.sleep(0.004)
    writer.close()
    assert writer.returncode == 0
    assert sorted(stored_ids(cluster.url)) == sorted(f"r{n}" for n in range(150))
    assert not backlogs(tmp_path)


PLAN = """
def test_measured(measure):
    measure.record("total", 12.0, "ms")
"""


@pytest.mark.slow
def test_a_run_whose_database_is_down_throughout_keeps_everything_for_later(
    pytester, pg_url, monkeypatch
):
    monkeypatch.setenv("RIG_STORE_WAIT_S", "0.2")
    pytester.makepyfile(test_plan=PLAN)
    down = f"postgresql://rig@127.0.0.1:{pg_cluster.free_port()}/rig"
    result = pytester.runpytest_subprocess(
        "-p", "rig.plugin.measurements", "-n", "2", "--rig-results", "run", "--rig-store", down
    )  # fmt: skip
    result.assert_outcomes(passed=1)  # the run itself does not fail for its store
    assert "records kept in the run folder" in result.stderr.str()
    assert backlogs(pytester.path / "run")
    assert upload(pytester.path / "run").returncode == 1  # that store is still down
    from rig.results.resilient import upload_backlogs

    assert upload_backlogs(pytester.path / "run", pg_url) == 2  # a test and a measurement
    with ResultsStore(pg_url) as store:
        (run,) = store.runs()
        assert [m["value"] for m in store.measurements(run.id)] == [12.0]
    assert not backlogs(pytester.path / "run")
