"""The results writer process: what the rig hands over is written, even if the rig is killed."""

import enum
import io
import json
import marshal
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rig.results.jsonl import JsonlWriter, read_jsonl
from rig.results.process_writer import (
    CHUNK_RECORDS,
    WRITER_NICE,
    ProcessWriter,
    SinkSpec,
    frame,
    pack,
    read_frame,
    unpack,
    write_frame,
)
from rig.results.record import STAMPS, RequestRecord
from rig.results.store import STORE_FILE, ResultsStore, open_run_writer


class Level(enum.IntEnum):
    HIGH = 1


_TEXT = st.text(max_size=12)
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def records(draw: st.DrawFn) -> RequestRecord:
    record = RequestRecord(draw(_TEXT), draw(_TEXT), draw(_TEXT), draw(_TEXT))
    for stamp in draw(st.lists(st.sampled_from(STAMPS), unique=True)):
        record.stamp(stamp, draw(st.floats(0, 1e6)))
    record.priority = draw(st.none() | st.integers(1, 4))
    record.outcome = draw(st.sampled_from(["ok", "failed", "pending"]))
    record.reason = draw(st.none() | _TEXT)
    record.response = draw(st.none() | st.dictionaries(_TEXT, _JSONISH, max_size=4))
    return record


@settings(max_examples=200, deadline=None)
@given(records())
def test_a_request_record_arrives_as_its_json(record):
    assert unpack(marshal.loads(pack(record))) == json.loads(
        json.dumps({"kind": "request", **record.to_json()})
    )


@settings(max_examples=100, deadline=None)
@given(
    items=st.lists(records() | st.dictionaries(_TEXT, _JSONISH, max_size=4), max_size=6),
    ack=st.booleans(),
)
def test_a_frame_writes_the_lines_a_record_by_record_writer_wrote(items, ack, tmp_path_factory):
    path = tmp_path_factory.mktemp("frame") / "r.jsonl"
    packed = [pack(item) for item in items]
    body, acked = read_frame(io.BytesIO(frame(b"".join(packed), len(packed), ack=ack)))
    assert acked is ack
    with JsonlWriter(path) as sink:
        assert write_frame(sink, body) == len(items)
    plain = [
        {"kind": "request", **item.to_json()} if isinstance(item, RequestRecord) else item
        for item in items
    ]
    expected = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in plain)
    assert path.read_text(encoding="utf-8") == expected


def test_frames_follow_one_another_to_the_end_of_the_pipe():
    one = pack({"kind": "n", "n": 1})
    stream = io.BytesIO(frame(one, 1, ack=False) + frame(b"", 0, ack=True))
    body, ack = read_frame(stream)
    assert marshal.loads(body) == [{"kind": "n", "n": 1}] and not ack
    body, ack = read_frame(stream)
    assert marshal.loads(body) == [] and ack
    assert read_frame(stream) is None


def test_a_record_marshal_cannot_pack_goes_as_json():
    record = RequestRecord("r", "7.4", "m", "u")
    record.response = {"control_state": Level.HIGH}  # an IntEnum: marshal refuses it
    assert unpack(marshal.loads(pack(record)))["response"] == {"control_state": 1}
    assert unpack(marshal.loads(pack({"kind": "x", "level": Level.HIGH}))) == {
        "kind": "x",
        "level": 1,
    }


def test_records_reach_the_jsonl_file_and_the_store(tmp_path):
    store = open_run_writer(tmp_path / "run")
    writer = ProcessWriter(SinkSpec.of(tmp_path / "r.jsonl", store))
    store.close()
    record = RequestRecord("r1", "7.4", "m", "supplier")
    record.stamp("submitted", 1.0)
    record.stamp("delivered", 1.5)
    record.outcome = "ok"
    writer.write(record)
    writer.write({"kind": "load", "requests": 1})
    writer.close()
    lines = list(read_jsonl(tmp_path / "r.jsonl"))
    assert [line["kind"] for line in lines] == ["request", "load"]
    assert lines[0]["latency_s"] == {"total": 0.5}
    with ResultsStore(tmp_path / "run" / STORE_FILE) as opened:
        (request,) = opened.requests(store.run_id)
        assert request["request_id"] == "r1" and request["outcome"] == "ok"
        assert opened.events(store.run_id) == [{"kind": "load", "requests": 1}]


def test_a_caller_is_told_once_the_child_has_written_its_record(tmp_path):
    path = tmp_path / "r.jsonl"
    writer = ProcessWriter(SinkSpec(jsonl=str(path)), batch_s=60.0)
    seen: list[int] = []
    told = threading.Event()
    writer.write({"kind": "n", "n": 1})
    writer.after(lambda: (seen.append(len(list(read_jsonl(path)))), told.set()))
    assert told.wait(30)
    assert seen == [1]
    writer.close()


def test_a_killed_rig_loses_nothing_it_handed_over(tmp_path):
    path = tmp_path / "r.jsonl"
    # The rig (a child of the test) stops its writer process, hands it 500 records (they wait
    # in the pipe), says the writer's pid and is killed; the writer, let go, writes them all.
    script = textwrap.dedent(
        f"""
        import os, signal, time
        from rig.results.process_writer import ProcessWriter, SinkSpec
        writer = ProcessWriter(SinkSpec(jsonl={str(path)!r}), batch_s=0.01)
        os.kill(writer.pid, signal.SIGSTOP)
        for n in range(500):
            writer.write({{"kind": "n", "n": n}})
        while writer.handed_over < 500:
            time.sleep(0.01)
        print(writer.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    with (tmp_path / "stderr").open("w+") as stderr:  # the writer keeps stderr: not a pipe
        process = subprocess.run(
            [sys.executable, "-c", script],
            timeout=60,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        stderr.seek(0)
        assert process.returncode == -signal.SIGKILL, stderr.read()
    os.kill(int(process.stdout), signal.SIGCONT)
    # the writer reads the pipe to its end, writes everything, and exits by itself
    for _ in range(1200):
        if path.exists() and len(list(read_jsonl(path))) == 500:
            break
        threading.Event().wait(0.05)
    assert [r["n"] for r in read_jsonl(path)] == list(range(500))


def test_if_the_child_dies_the_rig_writes_the_rest_itself(tmp_path, caplog):
    path = tmp_path / "r.jsonl"
    writer = ProcessWriter(SinkSpec(jsonl=str(path)))
    writer.write({"kind": "n", "n": 1})
    done = threading.Event()
    writer.after(done.set)
    assert done.wait(30)
    os.kill(writer.pid, signal.SIGKILL)
    while writer.returncode is None:
        threading.Event().wait(0.01)
    writer.write({"kind": "n", "n": 2})
    writer.close()
    assert [r["n"] for r in read_jsonl(path)] == [1, 2]
    assert "died" in caplog.text


def test_each_callback_finds_exactly_the_records_queued_before_it_written(tmp_path):
    path = tmp_path / "r.jsonl"
    writer = ProcessWriter(SinkSpec(jsonl=str(path)), batch_s=60.0)
    seen: dict[int, int] = {}
    queued = 0
    for run in (3, 0, 5, 1, 4):
        for _ in range(run):
            writer.write({"kind": "n", "n": queued})
            queued += 1
        writer.after(lambda mark=queued: seen.__setitem__(mark, len(list(read_jsonl(path)))))
    writer.write({"kind": "n", "n": queued})
    writer.close()
    assert seen == {mark: mark for mark in (3, 8, 9, 13)}
    assert [r["n"] for r in read_jsonl(path)] == list(range(queued + 1))


def test_a_big_frame_is_written_in_chunks_with_a_pause_between_them():
    batches: list[int] = []

    class Sink:
        def write_many(self, records):
            batches.append(len(records))

        def write(self, record):
            raise AssertionError("written one by one")

        def close(self):
            pass

    pauses = []
    count = 2 * CHUNK_RECORDS + 3
    packed = b"".join(pack({"kind": "n", "n": n}) for n in range(count))
    body, _ = read_frame(io.BytesIO(frame(packed, count, ack=False)))
    assert write_frame(Sink(), body, pause=lambda: pauses.append(len(batches))) == count
    assert batches == [CHUNK_RECORDS, CHUNK_RECORDS, 3]
    assert pauses == [1, 2]  # between chunks, never before the first or after the last


@pytest.mark.skipif(sys.platform != "linux", reason="scheduling policies and /proc are Linux")
def test_the_writer_process_gives_way_to_the_request_path(tmp_path):
    writer = ProcessWriter(SinkSpec(jsonl=str(tmp_path / "r.jsonl")))
    try:
        written = threading.Event()
        writer.write({"kind": "note"})
        writer.after(written.set)
        assert written.wait(10)  # the child is past its start-up
        fields = Path(f"/proc/{writer.pid}/stat").read_text().rsplit(")", 1)[1].split()
        base = os.getpriority(os.PRIO_PROCESS, 0)
        assert int(fields[16]) == min(19, base + WRITER_NICE)  # the nice value
        assert os.sched_getscheduler(writer.pid) == os.SCHED_BATCH
    finally:
        writer.close()
