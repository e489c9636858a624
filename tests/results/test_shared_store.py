"""The results store on both backends (SQLite, a real PostgreSQL server): the same records, the
same schema versioning, run keys and builds, concurrent writers on many "hosts"."""

import multiprocessing
from pathlib import Path

import pytest
from test_store import request

from rig.results.backends import PostgresConnection, StoreUnavailable
from rig.results.schema import RECORD_ID, SCHEMA_VERSION
from rig.results.store import ResultsStore, StoreError, open_run_writer

pytest_plugins = ["pytester"]


def test_records_read_back_alike_from_either_store(store_location, tmp_path):
    written = [
        request(1, user="a user"),
        request(2, "7.4", ok=False, priority=2, ack_code="I99"),
        {"kind": "alert", "code": 0x8F30, "name": "refused", "at": 1.7e9 + 0.123456, "device": "e"},
        {"kind": "error", "device": "esme", "at": 4.0, "error": "bad MAC", "frame": "00"},
        {"kind": "late_response", "device": "esme", "counter": 7, "at": 5.0},
        {"kind": "test", "nodeid": "t.py::a", "outcome": "passed", "duration_s": 0.1},
        {"kind": "measurement", "nodeid": "t.py::a", "name": "total", "value": 1.5,
         "units": "ms", "low": None, "high": 2.0, "marginal_low": None, "marginal_high": None,
         "verdict": "pass", "requirements": ["SECMP0028 §3"], "at": 1.0},
    ]  # fmt: skip
    with open_run_writer(tmp_path / "night1", store_location, bench="b.toml") as writer:
        writer.write_many(written)
        run_id = writer.run_id
    with ResultsStore(store_location) as store:
        (run,) = store.runs()
        assert run.id == run_id == "night1" and run.bench == "b.toml" and run.host
        assert store.requests(run_id) == written[:2]
        # a timestamp keeps its microseconds (PostgreSQL's REAL would round it to minutes)
        assert store.alerts(run_id) == [written[2]]
        assert store.errors(run_id) == [written[3]]
        assert store.events(run_id) == [written[4]]
        assert store.tests(run_id)[0]["outcome"] == "passed"
        assert store.measurements(run_id) == [written[6]]


def test_a_record_written_twice_with_its_id_is_stored_once(store_location, tmp_path):
    tagged = [{**request(n), RECORD_ID: f"w-{n}"} for n in range(3)]
    with open_run_writer(tmp_path / "run", store_location) as writer:
        writer.write_many(tagged[:2])
        writer.write_many(tagged)  # a retried batch, overlapping what is stored
        writer.write_many([request(9), request(9)])  # no ids: both kept
        run_id = writer.run_id
    with ResultsStore(store_location) as store:
        ids = [r["request_id"] for r in store.requests(run_id)]
    assert ids == ["r0", "r1", "r2", "r9", "r9"]


def test_runs_are_keyed_not_by_folder_and_grouped_by_build(store_location, tmp_path):
    folder = tmp_path / "nightly"
    with ResultsStore(store_location) as store:
        a = store.open_run(folder, key="host-a:/runs/nightly", build="b42")
        b = store.open_run(folder, key="host-b:/runs/nightly", build="b42")
        again = store.open_run(folder, key="host-a:/runs/nightly", build="other")
        c = store.open_run(tmp_path / "x", build="b43")
        assert (a, b, again) == ("nightly", "nightly-2", "nightly")
        assert [r.id for r in store.build("b42")] == [a, b]
        assert store.builds() == ["b42", "b43"] and store.run(c).build == "b43"
        with pytest.raises(StoreError, match="no runs of build 'b1'; builds: b42, b43"):
            store.build("b1")


def test_a_postgresql_store_is_versioned_in_a_table_and_a_newer_one_refused(pg_url):
    ResultsStore(pg_url).close()
    db = PostgresConnection(pg_url)
    assert db.execute("SELECT version FROM rig_schema") == [{"version": SCHEMA_VERSION}]
    db.execute("UPDATE rig_schema SET version = ?", (SCHEMA_VERSION + 1,))
    db.close()
    with pytest.raises(StoreError, match="newer than this rig"):
        ResultsStore(pg_url)


def test_an_unreachable_server_is_one_clear_error():
    url = f"postgresql://rig:secret@127.0.0.1:{_closed_port()}/rig"
    with pytest.raises(StoreUnavailable, match=r"postgresql://rig@127\.0\.0\.1") as caught:
        ResultsStore(url)
    assert "secret" not in str(caught.value) and "\n" not in str(caught.value)


def _closed_port() -> int:
    from pg_cluster import free_port

    return free_port()


HOSTS, PER_HOST = 4, 40


def _host(store: str, folder: str, host: int) -> None:
    """One "host": opens its run of the build (the same folder path as every other host, as
    on CI machines) with its own key, and writes its records one transaction each."""
    with open_run_writer(
        Path(folder), store, key=f"host{host}:{folder}", build="nightly-7"
    ) as writer:
        for n in range(PER_HOST):
            writer.write(request(host * 1000 + n))


def hosts(store: str, folder: str, count: int) -> None:
    """``count`` "hosts" (processes) writing their runs at once; each must succeed."""
    context = multiprocessing.get_context("spawn")
    started = [context.Process(target=_host, args=(store, folder, n)) for n in range(count)]
    for p in started:
        p.start()
    for p in started:
        p.join(120)
    assert [p.exitcode for p in started] == [0] * count


def test_many_hosts_write_one_build_at_once(pg_url, tmp_path):
    ResultsStore(pg_url).close()  # created once; the hosts race to open their runs
    hosts(pg_url, str(tmp_path / "nightly"), HOSTS)
    with ResultsStore(pg_url) as store:
        runs = store.build("nightly-7")
        assert sorted(r.id for r in runs) == ["nightly", "nightly-2", "nightly-3", "nightly-4"]
        assert all(len(store.requests(r.id)) == PER_HOST for r in runs)


def test_fresh_database_opened_by_many_processes_at_once_is_migrated_once(pg_url, tmp_path):
    hosts(pg_url, str(tmp_path / "n"), 3)
    with ResultsStore(pg_url) as store:
        assert len(store.runs()) == 3


PLAN = """
import pytest

@pytest.mark.parametrize("n", range(4))
def test_measured(measure, n):
    measure.record("total", 10.0 + n, "ms")
"""


@pytest.mark.slow
def test_pytest_xdist_workers_write_one_run_of_a_build_to_postgresql(pytester, pg_url):
    pytester.makepyfile(test_plan=PLAN)
    result = pytester.runpytest_subprocess(
        "-p", "rig.plugin.measurements", "-n", "2", "--rig-results", "run",
        "--rig-store", pg_url, "--rig-build", "nightly-1",
    )  # fmt: skip
    result.assert_outcomes(passed=4)
    with ResultsStore(pg_url) as store:
        (run,) = store.build("nightly-1")
        workers = {m["nodeid"] for m in store.measurements(run.id)}
        assert len(workers) == 4 and len(store.tests(run.id)) == 4
    assert not list(pytester.path.rglob("results.sqlite"))


@pytest.mark.parametrize(("required", "outcome"), [("1", "Failed"), ("", "Skipped")])
def test_without_a_server_the_tests_skip_locally_and_fail_in_ci(monkeypatch, required, outcome):
    from pg_cluster import REQUIRE_ENV, unavailable

    monkeypatch.setenv(REQUIRE_ENV, required)
    with pytest.raises(BaseException) as caught:
        unavailable("no PostgreSQL binaries")
    assert type(caught.value).__name__ == outcome
    assert "set RIG_TEST_POSTGRES_URL" in str(caught.value)
