"""``rig benchmark results``: the CPU the results writer costs per record (issue 6, "Performance").

Load-bench records (SRV 7.4 reads: six stamps, a three-field response) are packed as the rig's
loop packs them, framed as its sender thread frames them at ``rate`` every ``batch_s``, and
written by the writer process's own code (:func:`~rig.results.process_writer.read_frame`,
:func:`~rig.results.process_writer.write_frame`) in this process, into a temporary folder.
Figures are CPU time (``time.process_time``: user + system, so the file writes and SQLite
commits count; other processes do not), the best of ``repeats`` runs: per record, and per
chunk, the CPU the writer takes in one go between two yields
(:data:`~rig.results.process_writer.CHUNK_RECORDS` records; a burst taken from the request
path's two cores, docs/load.md "The hot path").

The live probe (:func:`run_live_probe`) runs the real thing: a :class:`ProcessWriter` fed at
``rate`` from a loop with a 1 ms timer, which measures how late the timer fires (the writer's
sender thread competing for the GIL, its child for the cores) and the child's CPU per record
(Linux ``/proc``, in clock ticks).
"""

from __future__ import annotations

import io
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rig.results.background import BATCH_S
from rig.results.process_writer import (
    ProcessWriter,
    SinkSpec,
    frame,
    pack,
    read_frame,
    write_frame,
    yield_cpu,
)
from rig.results.record import STAMPS, RequestRecord
from rig.results.report import nearest_rank
from rig.results.store import open_run_writer

#: Seconds from one stamp to the next in a bench record (submitted → acknowledged, ... →
#: delivered), each drawn from 0.5-1.5 times this: the load bench's order of magnitude.
HOP_S = (0.0003, 0.0, 0.0015, 0.005, 0.0006)
#: The response of an SRV 7.4 read as the rig records it.
RESPONSE_7_4 = {"type": "ReadSupplyStatusEsmeResponse", "control_state": 1, "result": 0}


def bench_records(count: int, rate: float, *, seed: int = 0) -> list[RequestRecord]:
    """``count`` completed SRV 7.4 records as the load bench makes them, ``rate`` a second,
    round-robin over four meters."""
    draw = random.Random(seed)
    originator = "90-B3-D5-1F-30-01-00-00"
    records = []
    for n in range(count):
        target = f"00-DB-12-34-56-78-00-{n % 4:02X}"
        record = RequestRecord(f"{originator}:{target}:{2**32 + n}", "7.4", target, "supplier")
        at = 30_000.0 + n / rate + draw.random() * 1e-4
        record.stamp(STAMPS[0], at)
        for stamp, hop in zip(STAMPS[1:], HOP_S, strict=True):
            at += hop * (0.5 + draw.random())
            record.stamp(stamp, at)
        record.priority, record.ack_code, record.outcome = 1, "I99", "ok"
        record.response = dict(RESPONSE_7_4)
        records.append(record)
    return records


@dataclass(frozen=True)
class WriterFigures:
    """The writer's CPU for one set of sinks, from its best run."""

    sinks: str
    cpu_us_per_record: float
    #: CPU taken in one go: a chunk of a frame, between two yields.
    chunk_p50_ms: float
    chunk_max_ms: float


@dataclass(frozen=True)
class ResultsBenchResult:
    """The figures of :func:`run_results_bench`."""

    records: int
    rate: float
    batch_s: float
    repeats: int
    #: The rig's side: packing each record on the loop and framing them on the sender thread.
    rig_cpu_us_per_record: float
    writers: list[WriterFigures]

    @property
    def records_per_frame(self) -> int:
        return max(1, round(self.rate * self.batch_s))

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "records_per_frame": self.records_per_frame}

    def text(self) -> str:
        lines = [
            f"results writer: {self.records:,} SRV 7.4 records at {self.rate:,.0f}/s, a frame "
            f"every {self.batch_s * 1e3:g} ms ({self.records_per_frame} records); CPU, best of "
            f"{self.repeats}",
            f"  rig, pack + frame:      {self.rig_cpu_us_per_record:6.1f} µs/record",
        ]
        for w in self.writers:
            lines.append(
                f"  writer, {w.sinks + ':':15} {w.cpu_us_per_record:6.1f} µs/record; in one go "
                f"p50 {w.chunk_p50_ms:.2f}, max {w.chunk_max_ms:.2f} ms"
            )
        return "\n".join(lines)


def run_results_bench(
    records: int = 4000, rate: float = 2000.0, batch_s: float = BATCH_S, repeats: int = 5
) -> ResultsBenchResult:
    """CPU per record of the rig's side and of the writer process, JSONL only and with a store."""
    if records < 1 or rate <= 0 or batch_s <= 0 or repeats < 1:
        raise ValueError(
            f"records {records}, rate {rate}, batch_s {batch_s}, repeats {repeats}: "
            "each must be positive"
        )
    made = bench_records(records, rate)
    per_frame = max(1, round(rate * batch_s))
    rig_cpu, frames = _best(repeats, lambda: _pack(made, per_frame))
    writers = [
        _writer_figures("JSONL", frames, records, repeats, store=False),
        _writer_figures("JSONL + SQLite", frames, records, repeats, store=True),
    ]
    return ResultsBenchResult(records, rate, batch_s, repeats, rig_cpu / records * 1e6, writers)


def _pack(records: list[RequestRecord], per_frame: int) -> bytes:
    packed = [pack(record) for record in records]
    batches = (packed[at : at + per_frame] for at in range(0, len(packed), per_frame))
    return b"".join(frame(b"".join(batch), len(batch), ack=False) for batch in batches)


def _best(repeats: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """The lowest CPU time of ``repeats`` runs, and the result of the last."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        result = run()
        best = min(best, time.process_time() - start)
    return best, result


def _writer_figures(
    sinks: str, frames: bytes, records: int, repeats: int, *, store: bool
) -> WriterFigures:
    """Read and write every frame as the writer process does; the run with the least CPU."""
    total, chunks = min(_write(frames, store=store) for _ in range(repeats))
    return WriterFigures(
        sinks, total / records * 1e6, statistics.median(chunks) * 1e3, max(chunks) * 1e3
    )


def _write(frames: bytes, *, store: bool) -> tuple[float, list[float]]:
    """CPU seconds in all, and per chunk (taken in one go, between the writer's yields),
    writing ``frames`` to a fresh JSON Lines file (and store)."""
    with tempfile.TemporaryDirectory(prefix="rig-bench-results-") as folder:
        run = Path(folder) / "run"
        writer = open_run_writer(run) if store else None
        spec = SinkSpec.of(run / "results.jsonl", writer)
        if writer is not None:
            writer.close()
        sink = spec.open()
        stream = io.BytesIO(frames)
        marks = [time.process_time()]  # the start and end of each chunk

        def pause() -> None:
            marks.append(time.process_time())
            yield_cpu()
            marks.append(time.process_time())

        try:
            while (next_frame := read_frame(stream)) is not None:
                write_frame(sink, next_frame[0], pause=pause)
                marks.append(time.process_time())
                marks.append(marks[-1])  # the next chunk starts with reading its frame
            ends = marks[:-1]  # the last start is the end of the pipe's
            chunks = [end - start for start, end in zip(ends[::2], ends[1::2], strict=True)]
            return marks[-1] - marks[0], chunks
        finally:
            sink.close()


#: The live probe's timer period: the rig loop's scale of work (docs/load.md "The hot path").
PROBE_TICK_S = 0.001


@dataclass(frozen=True)
class LiveFigures:
    """A writer process fed from a 1 ms timer loop: the timer's lateness and the CPU per record."""

    records: int
    seconds: float
    lag_p50_ms: float
    lag_p99_ms: float
    lag_max_ms: float
    #: The writer process's CPU per record (None where there is no ``/proc``).
    writer_cpu_us_per_record: float | None
    #: The feeding process's (the loop's and the sender thread's) CPU per record.
    rig_cpu_us_per_record: float

    def text(self) -> str:
        writer = self.writer_cpu_us_per_record
        return (
            f"  live, {self.records:,} records in {self.seconds:g} s: 1 ms timer late p50 "
            f"{self.lag_p50_ms:.3f} / p99 {self.lag_p99_ms:.3f} / max {self.lag_max_ms:.2f} ms; "
            f"CPU µs/record: feeder (loop + sender) {self.rig_cpu_us_per_record:.1f}, writer "
            + ("n/a" if writer is None else f"{writer:.1f}")
        )


def run_live_probe(
    rate: float = 2000.0, batch_s: float = BATCH_S, seconds: float = 4.0
) -> LiveFigures:
    """Feed a JSON Lines writer process ``rate`` records a second for ``seconds`` from a loop
    that wakes every :data:`PROBE_TICK_S`, and time how late each wake-up is."""
    if rate <= 0 or batch_s <= 0 or seconds <= 0:
        raise ValueError(f"rate {rate}, batch_s {batch_s}, seconds {seconds}: must be positive")
    records = bench_records(max(1, round(rate * seconds)), rate)
    per_tick = rate * PROBE_TICK_S
    with tempfile.TemporaryDirectory(prefix="rig-bench-results-") as folder:
        writer = ProcessWriter(SinkSpec(jsonl=str(Path(folder) / "results.jsonl")), batch_s=batch_s)
        try:
            _written(writer, [records[0]])  # the child has started: its start-up is not counted
            child_before, rig_before = _cpu_ticks(writer.pid), time.process_time()
            lags = _feed(writer, records, per_tick)
            _written(writer, [])
            child, rig = _cpu_ticks(writer.pid), time.process_time() - rig_before
        finally:
            writer.close()
    lags.sort()
    count = len(records)
    return LiveFigures(
        count,
        seconds,
        nearest_rank(lags, 50) * 1e3,
        nearest_rank(lags, 99) * 1e3,
        lags[-1] * 1e3,
        None if child is None or child_before is None else (child - child_before) / count * 1e6,
        rig / count * 1e6,
    )


def _feed(writer: ProcessWriter, records: list[RequestRecord], per_tick: float) -> list[float]:
    """Write ``records`` in step with a timer of :data:`PROBE_TICK_S`; each wake-up's lateness."""
    lags = []
    due = time.monotonic()
    owed = 0.0
    at = 0
    while at < len(records):
        due += PROBE_TICK_S
        time.sleep(max(0.0, due - time.monotonic()))
        lags.append(max(0.0, time.monotonic() - due))
        owed += per_tick
        while owed >= 1 and at < len(records):
            writer.write(records[at])
            at += 1
            owed -= 1
    return lags


def _written(writer: ProcessWriter, records: list[RequestRecord]) -> None:
    """Write ``records`` and wait until the writer process has them on disk."""
    for record in records:
        writer.write(record)
    done = threading.Event()
    writer.after(done.set)
    done.wait()


def _cpu_ticks(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
