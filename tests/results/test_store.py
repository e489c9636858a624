import multiprocessing
import socket
import sqlite3

import pytest

from rig.results.config import differing_parts, files_hash, run_config
from rig.results.record import STAMPS, RequestRecord
from rig.results.schema import SQLITE, migration
from rig.results.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    STORE_FILE,
    ResultsStore,
    StoreError,
    StoreWriter,
    Tee,
    open_run_writer,
)


def request(n: int, srv: str = "2.2", ok: bool = True, **extra) -> dict:
    record = RequestRecord(f"r{n}", srv, "00-DB", "supplier")
    for i, stamp in enumerate(("submitted", "acknowledged", "dequeued", "on_wire")):
        record.stamp(stamp, n + i * 0.001)
    if ok:
        record.stamp("device_response", n + 0.005)
        record.stamp("delivered", n + 0.006)
        record.outcome = "ok"
        record.response = {"type": "TopUpEsmeResponse", "result": 0}
    else:
        record.fail("no response")
    return {"kind": "request", **record.to_json(), **extra}


def test_records_read_back_in_the_shape_they_were_written(tmp_path):
    with open_run_writer(tmp_path / "run1") as writer:
        written = [
            request(1),
            request(2, "7.4", ok=False, priority=2, ack_code="I99"),
            {"kind": "alert", "code": 0x8F30, "name": "refused", "at": 3.0, "device": "esme"},
            {"kind": "error", "device": "esme", "at": 4.0, "error": "bad MAC", "frame": "00"},
            {"kind": "late_response", "device": "esme", "counter": 7, "at": 5.0},
            {"kind": "test", "nodeid": "t.py::a", "outcome": "passed", "duration_s": 0.1},
        ]
        for record in written:
            writer.write(record)
        run_id = writer.run_id
    with ResultsStore(tmp_path / "run1" / STORE_FILE) as store:
        assert store.requests(run_id) == written[:2]
        assert store.alerts(run_id) == [written[2]]
        assert store.errors(run_id) == [written[3]]
        assert store.events(run_id) == [written[4]]
        (test,) = store.tests(run_id)
        assert test["outcome"] == "passed" and test["requirements"] == []
        assert len(store.records(run_id)) == len(written)


def test_a_held_future_dated_request_reads_back_with_its_release_and_held_hop(tmp_path):
    """Schema v5: a DSP future-dated request's ``released`` stamp and ``held`` hop; its queue
    and total hops count from the release (docs/architecture.md "The hops")."""
    record = RequestRecord("r9", "4.1.1", "00-DB", "supplier")
    stamps = ("submitted", "acknowledged", "released", "dequeued", "on_wire")
    for at, stamp in zip((1.0, 1.001, 61.0, 61.5, 61.502), stamps, strict=True):
        record.stamp(stamp, at)
    record.stamp("device_response", 62.0)
    record.stamp("delivered", 62.25)
    record.outcome = "ok"
    written = {"kind": "request", **record.to_json()}
    latency = written["latency_s"]
    assert latency["held"] == pytest.approx(59.999) and latency["queue"] == 0.5
    assert latency["total"] == 1.25 and latency["ack"] == pytest.approx(0.001)
    with open_run_writer(tmp_path / "run") as writer:
        writer.write(written)
        run_id = writer.run_id
    with ResultsStore(tmp_path / "run" / STORE_FILE) as store:
        assert store.requests(run_id) == [written]


def test_each_record_is_committed_before_write_returns(tmp_path):
    writer = open_run_writer(tmp_path / "run")
    writer.write(request(1))
    # another connection (another process, a crash survivor) sees it while the writer is open
    reader = sqlite3.connect(tmp_path / "run" / STORE_FILE)
    assert reader.execute("SELECT count(*) FROM requests").fetchone()[0] == 1
    reader.close()
    writer.close()
    with pytest.raises(StoreError, match="closed"):
        writer.write(request(2))


def test_one_store_holds_many_runs_identified_by_folder(tmp_path):
    store_file = tmp_path / "history.sqlite"
    for folder in ("a/night1", "a/night2", "b/night1", "a/night1"):
        with open_run_writer(tmp_path / folder, store_file, bench="b.toml") as w:
            w.write(request(1))
    with ResultsStore(store_file) as store:
        runs = store.runs()
        assert [r.id for r in runs] == ["night1", "night2", "night1-2"]
        assert runs[0].bench == "b.toml" and runs[0].host
        assert store.run().id == "night1-2"  # the latest
        assert len(store.requests("night1")) == 2  # the same folder is the same run
        with pytest.raises(StoreError, match="no run 'x'; runs: night1, night2"):
            store.run("x")


def test_a_newer_schema_is_refused_and_migrations_are_recorded(tmp_path):
    path = tmp_path / "s.sqlite"
    ResultsStore(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this rig"):
        ResultsStore(path)


def test_a_file_that_is_not_a_store_is_named(tmp_path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StoreError, match=r"junk\.sqlite"):
        ResultsStore(path)


def test_tee_writes_and_closes_every_sink(tmp_path):
    class Sink:
        def __init__(self):
            self.records, self.closed = [], False

        def write(self, record):
            self.records.append(record)

        def close(self):
            self.closed = True

    a, b = Sink(), Sink()
    tee = Tee(a, b)
    tee.write({"n": 1})
    tee.close()
    assert a.records == b.records == [{"n": 1}] and a.closed and b.closed


def test_config_hash_changes_with_the_bench_file(tmp_path):
    bench = tmp_path / "bench.toml"
    bench.write_text("a = 1\n")
    first = files_hash([bench])
    bench.write_text("a = 2\n")
    assert files_hash([bench]) != first and len(first) == 64


def configured(tmp_path, *, bench="a = 1\n", tmm="t = 1\n", nodeids=("t.py::a",), workers="1"):
    (tmp_path / "bench.toml").write_text(bench)
    (tmp_path / "tmm.toml").write_text(tmm)
    return run_config(
        nodeids=nodeids,
        benches=[tmp_path / "bench.toml"],
        tmms=[tmp_path / "tmm.toml"],
        options={"xdist workers": workers},
    )


def test_each_part_of_the_configuration_is_hashed_on_its_own(tmp_path):
    base = configured(tmp_path)
    assert differing_parts(base, configured(tmp_path)) == []
    assert differing_parts(base, configured(tmp_path, bench="a = 2\n")) == ["bench"]
    assert differing_parts(base, configured(tmp_path, tmm="t = 2\n")) == ["tmm"]
    assert differing_parts(base, configured(tmp_path, nodeids=("t.py::b",))) == ["plan"]
    assert differing_parts(base, configured(tmp_path, workers="2")) == ["options"]


def test_a_run_keeps_its_configuration_and_its_hash(tmp_path):
    parts = configured(tmp_path)
    with open_run_writer(tmp_path / "run", config=parts) as writer:
        writer.write(request(1))
    with ResultsStore(tmp_path / "run" / STORE_FILE) as store:
        info = store.run()
    assert info.config == parts and info.config_hash is not None and len(info.config_hash) == 64


def test_a_version_1_store_is_migrated_and_keeps_its_runs(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    for statement in migration(0, SQLITE):
        db.execute(statement)
    old_folder = tmp_path / "night1"
    db.execute(
        "INSERT INTO runs (id, folder, started, host) VALUES ('night1', ?, '2026-01-01', ?)",
        (str(old_folder.resolve()), socket.gethostname()),
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with ResultsStore(path) as store:
        (old,) = store.runs()
        store.open_run(tmp_path / "night2", config={"plan": "p"})
        new = store.run("night2")
        # v3 keys the old run by its host and folder: the same folder still writes it
        assert store.open_run(old_folder) == "night1"
    assert old.id == "night1" and old.config is None and old.config_hash is None
    assert new.config == {"plan": "p"} and new.config_hash is not None
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


WORKERS, PER_WORKER = 4, 60


def _worker(folder: str, store: str, worker: int) -> None:
    import os
    from pathlib import Path

    os.environ["PYTEST_XDIST_WORKER"] = f"gw{worker}"
    with open_run_writer(Path(folder), Path(store)) as writer:
        for n in range(PER_WORKER):
            writer.write(request(worker * 1000 + n))


def test_several_processes_write_one_run_at_once(tmp_path):
    store_file = tmp_path / "shared.sqlite"
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(str(tmp_path / "run"), str(store_file), n))
        for n in range(WORKERS)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(60)
    assert [p.exitcode for p in processes] == [0] * WORKERS
    with ResultsStore(store_file) as store:
        (run,) = store.runs()
        assert len(store.requests(run.id)) == WORKERS * PER_WORKER
    db = sqlite3.connect(store_file)
    per_worker = dict(db.execute("SELECT worker, count(*) FROM requests GROUP BY worker"))
    assert per_worker == {f"gw{n}": PER_WORKER for n in range(WORKERS)}


def test_a_writer_for_an_unknown_run_is_refused(tmp_path):
    with ResultsStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(StoreError, match="no runs"):
            store.writer("nope")
        store.open_run(tmp_path / "r")
        writer = store.writer("r")
        assert isinstance(writer, StoreWriter)
        writer.close()


def test_a_writer_made_on_one_thread_writes_from_others(tmp_path):
    import threading

    writer = open_run_writer(tmp_path / "run")
    threads = [
        threading.Thread(target=lambda n=n: [writer.write(request(n * 100 + i)) for i in range(20)])
        for n in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    with ResultsStore(tmp_path / "run" / STORE_FILE) as store:
        assert len(store.requests(store.run().id)) == 80


def test_a_batch_of_mixed_kinds_reads_back_in_order_per_kind(tmp_path):
    # one transaction; runs of requests go in with one executemany, the others between them
    batch = [
        request(1),
        request(2, "7.4", ack_code="I99", note="extra"),
        {"kind": "alert", "code": 1, "name": "a", "at": 3.0, "device": "esme"},
        request(3),
        {"kind": "load", "requests": 3},
        request(4, ok=False),
    ]
    with open_run_writer(tmp_path / "run") as writer:
        writer.write_many(batch)
        run_id = writer.run_id
    with ResultsStore(tmp_path / "run" / STORE_FILE) as store:
        assert store.requests(run_id) == [batch[0], batch[1], batch[3], batch[5]]
        assert store.alerts(run_id) == [batch[2]]
        assert store.events(run_id) == [batch[4]]


def test_a_request_names_the_test_that_sent_it_through_every_writer(tmp_path):
    import marshal
    from types import SimpleNamespace

    from rig.live.launch import capture_test
    from rig.results.process_writer import pack, unpack

    rig = SimpleNamespace(captures=None, test=None)
    with capture_test(rig, tmp_path, "plan.py::test_refused"):
        assert rig.test == "plan.py::test_refused"
    assert rig.test is None
    record = RequestRecord("r1", "7.2", "00-DB", "supplier", test="plan.py::test_refused")
    record.fail("device refused the command")
    plain = unpack(marshal.loads(pack(record)))
    assert plain["test"] == "plan.py::test_refused"
    assert "test" not in RequestRecord("r2", "7.2", "00-DB", "supplier").to_json()
    with open_run_writer(tmp_path / "run") as writer:
        writer.write(plain)
    with ResultsStore(tmp_path / "run" / STORE_FILE) as store:
        (read,) = store.requests(store.run().id)
    assert read["test"] == "plan.py::test_refused"


def test_a_version_3_store_keeps_the_http_stamps_and_hops_of_rig_serve(tmp_path):
    path = tmp_path / "v3.sqlite"
    db = sqlite3.connect(path)
    for step in range(3):
        for statement in migration(step, SQLITE):
            db.execute(statement)
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    record = RequestRecord("r1", "2.2", "00-DB", "supplier")
    for i, stamp in enumerate(("received", *STAMPS, "posted")):
        record.stamp(stamp, 1.0 + i * 0.001)
    record.outcome = "ok"
    written = {"kind": "request", **record.to_json()}
    with ResultsStore(path) as store:
        run_id = store.open_run(tmp_path / "run")
        writer = store.writer(run_id)
        writer.write(written)
        writer.close()
        (read,) = store.records(run_id)
    assert read["stamps"] == written["stamps"]
    assert read["latency_s"]["http_in"] == pytest.approx(0.001)
    assert read["latency_s"]["adapter"] == pytest.approx(0.007)
