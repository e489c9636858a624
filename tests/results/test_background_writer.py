"""The rig's results writer thread: order kept, nothing lost, callers told only once written."""

import json
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rig.results.background import BackgroundWriter
from rig.results.jsonl import JsonlWriter, read_jsonl
from rig.results.record import RequestRecord
from rig.results.store import STORE_FILE, ResultsStore, StoreError, open_run_writer


class ListSink:
    """A sink that keeps what it is given (one batch per write_many call)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.batches = 0
        self.closed = False

    def write(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    def write_many(self, records: list[dict[str, Any]]) -> None:
        self.batches += 1
        self.records.extend(records)

    def close(self) -> None:
        self.closed = True


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 10**6), st.just("after")), max_size=30))
def test_records_keep_their_order_and_a_callback_sees_everything_queued_before_it(items):
    sink = ListSink()
    writer = BackgroundWriter(sink)
    seen: list[int] = []
    expected: list[int] = []
    queued = 0
    for item in items:
        if item == "after":
            expected.append(queued)
            writer.after(lambda: seen.append(len(sink.records)))
        else:
            writer.write({"kind": "n", "n": item})
            queued += 1
    writer.close()
    assert seen == expected
    assert [r["n"] for r in sink.records] == [i for i in items if i != "after"]
    assert sink.closed


def test_close_writes_everything_still_queued(tmp_path):
    path = tmp_path / "r.jsonl"
    writer = BackgroundWriter(JsonlWriter(path), batch_s=60.0)  # would not wake by itself
    for n in range(500):
        writer.write({"kind": "n", "n": n})
    writer.close()
    assert [r["n"] for r in read_jsonl(path)] == list(range(500))
    writer.close()  # idempotent


def test_a_request_record_is_serialised_by_the_writer():
    sink = ListSink()
    writer = BackgroundWriter(sink)
    record = RequestRecord("r1", "7.4", "00-DB", "supplier")
    record.stamp("submitted", 1.0)
    record.stamp("delivered", 1.25)
    record.outcome = "ok"
    writer.write(record)
    writer.close()
    (written,) = sink.records
    assert written["kind"] == "request" and written["request_id"] == "r1"
    assert written["latency_s"] == {"total": 0.25}


def test_a_caller_is_told_only_once_its_record_is_on_disk(tmp_path):
    path = tmp_path / "r.jsonl"
    writer = BackgroundWriter(JsonlWriter(path), batch_s=60.0)
    on_disk = threading.Event()
    lines: list[str] = []

    def told() -> None:
        lines.extend(path.read_text().splitlines())
        on_disk.set()

    writer.write({"kind": "n", "n": 1})
    writer.after(told)  # wakes the writer at once, whatever batch_s is
    assert on_disk.wait(10)
    assert [json.loads(line)["n"] for line in lines] == [1]
    assert writer.flush(10)
    writer.close()


def test_one_bad_record_loses_only_itself(tmp_path, caplog):
    path = tmp_path / "r.jsonl"
    writer = BackgroundWriter(JsonlWriter(path))
    writer.write({"kind": "n", "n": 1})
    writer.write({"kind": "bad", "value": object()})  # not JSON: the batch is refused
    writer.write({"kind": "n", "n": 3})
    writer.close()
    assert [r["kind"] for r in read_jsonl(path)] == ["n", "n"]
    assert "a bad record was not written" in caplog.text


def test_writing_after_close_is_an_error():
    writer = BackgroundWriter(ListSink())
    writer.close()
    with pytest.raises(RuntimeError, match="results writer is closed"):
        writer.write({"kind": "n"})
    told: list[bool] = []
    writer.after(lambda: told.append(True))  # nothing left to wait for: at once
    assert told == [True]


def test_a_batch_is_one_store_transaction_and_reads_back(tmp_path):
    store_writer = open_run_writer(tmp_path / "run")
    records = [{"kind": "event", "n": n} for n in range(50)]
    store_writer.write_many(records)
    with ResultsStore(tmp_path / "run" / STORE_FILE) as store:
        assert store.events(store_writer.run_id) == records
    with pytest.raises(StoreError, match="writer is closed"):
        store_writer.close()
        store_writer.write_many(records)


def test_a_refused_store_batch_is_written_record_by_record(tmp_path):
    store_writer = open_run_writer(tmp_path / "run")
    writer = BackgroundWriter(store_writer)
    writer.write({"kind": "event", "n": 1})
    writer.write({"kind": "event", "n": object()})  # its JSON fails: the transaction rolls back
    writer.write({"kind": "event", "n": 3})
    writer.close()
    with ResultsStore(tmp_path / "run" / STORE_FILE) as store:
        assert [e["n"] for e in store.events(store_writer.run_id)] == [1, 3]
