"""Results written by a separate process, so that writing them costs the rig's loop almost nothing.

A writer *thread* in the rig's process still competes with the loop for the GIL: while it
encodes a batch, the loop waits for the interpreter (up to ``sys.getswitchinterval()``, and
longer while the OS has the thread descheduled). Measured on the 2-core bench machine: a writer
thread encoding 2,000 records/s put a 1 ms loop timer's p99 lateness at 3.6-6 ms against
0.13-0.36 ms without it, whatever the switch interval (docs/load.md "The hot path").

So the loop only packs each record into a tuple of plain values (``marshal``, a few µs) and
queues the bytes; a sender thread, which holds the GIL only to join them, writes them down a
pipe every ``batch_s``; the child (``python -m rig.results.process_writer``) encodes JSON and
commits to the JSON Lines file and the results store in chunks of at most
:data:`CHUNK_RECORDS` (one write, one transaction each), yielding the CPU between chunks, so
that it never holds a core the request path waits for for long. A killed rig loses
nothing it handed over: the child reads the pipe to its end, writes everything and exits.
If the child dies, the rig logs it and writes the rest itself.

A frame on the pipe: a header (body length, ``ack``), then the body: a ``marshal`` list of the
records, made by joining each record's ``marshal`` bytes behind a list header (records are
packed at marshal version 2, which has no back-references, so they join as they are) and read
by the child with one ``marshal.loads``. With ``ack`` set, the child answers one line on its
stdout once the frame's records are written (how :meth:`ProcessWriter.after` knows that a
blocking caller's record is on disk).
"""

from __future__ import annotations

import contextlib
import json
import logging
import marshal
import os
import signal
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from rig.results.background import BATCH_S, HandOverThread, record_kind
from rig.results.jsonl import JsonlWriter
from rig.results.record import RequestRecord, request_json
from rig.results.resilient import ResilientWriter, RunSpec, RunWriter
from rig.results.store import Sink, StoreWriter, Tee, write_all

_log = logging.getLogger(__name__)

#: A frame's header: body length, ack wanted.
_HEADER = struct.Struct("<I?")
#: A marshal list's header: its type code and length (marshal.c, ``TYPE_LIST``).
_LIST = struct.Struct("<ci")
#: The marshal version records are packed at: 2, the last without back-references, whose
#: records' bytes join into a list as they are.
_MARSHAL_VERSION = 2
#: Marks an item sent as JSON text (a record ``marshal`` cannot pack, e.g. with an enum in it).
_JSON = "\x00json"
#: The request tuple's first element (dicts have their own ``kind``).
_REQUEST = "\x00request"
#: Most records the child writes in one go (one write, one transaction). Between two chunks of a
#: frame it yields the CPU to any task waiting for it, so that it takes a core the request path
#: needs for well under a millisecond at a time (about 20 µs a record: 0.3 ms; a 50 ms frame at
#: 2,000 records/s had held it for 4-5 ms). [ASSUMED]
CHUNK_RECORDS = 16
#: How long :meth:`ProcessWriter.close` waits for the child to finish writing (a big backlog
#: on a saturated machine takes a while; a hung child is killed after it). [ASSUMED]
CLOSE_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class SinkSpec:
    """What the child opens: a JSON Lines file and/or a run of a results store (a file, or a
    database through a :class:`~rig.results.resilient.ResilientWriter` when ``run`` and
    ``backlog`` say which run and where to keep what it cannot store)."""

    jsonl: str | None = None
    fsync: bool = False
    store: str | None = None
    run_id: str | None = None
    durable: bool = False
    run: dict[str, Any] | None = None
    backlog: str | None = None

    def open(self) -> Sink:
        sinks: list[Sink] = []
        if self.jsonl is not None:
            sinks.append(JsonlWriter(Path(self.jsonl), fsync=self.fsync))
        if self.store is not None and self.run is not None and self.backlog is not None:
            run = RunSpec(**self.run)
            sinks.append(ResilientWriter(self.store, run, Path(self.backlog), durable=self.durable))
        elif self.store is not None:
            assert self.run_id is not None
            sinks.append(StoreWriter(self.store, self.run_id, durable=self.durable))
        return Tee(*sinks)

    @classmethod
    def of(cls, jsonl: Path | None, store: RunWriter | None = None) -> SinkSpec:
        """The spec of a JSON Lines file and the run ``store`` writes (which may then close)."""
        if isinstance(store, ResilientWriter):
            return cls(
                jsonl=None if jsonl is None else str(jsonl),
                store=str(store.location),
                durable=store.durable,
                run=asdict(store.run),
                backlog=str(store.backlog_dir),
            )
        return cls(
            jsonl=None if jsonl is None else str(jsonl),
            store=None if store is None else str(store.location),
            run_id=None if store is None else store.run_id,
            durable=False if store is None else store.durable,
        )


def pack(record: dict[str, Any] | RequestRecord) -> bytes:
    """One record as the child receives it (a request's record as a tuple of its fields)."""
    item: Any = (_REQUEST, record.values()) if type(record) is RequestRecord else record
    try:
        return marshal.dumps(item, _MARSHAL_VERSION)
    except ValueError:  # an int or str subclass somewhere (an enum): JSON takes those
        plain = request_json(record.values()) if type(record) is RequestRecord else record
        return marshal.dumps((_JSON, json.dumps(plain)), _MARSHAL_VERSION)


def unpack(item: Any) -> dict[str, Any]:
    """A packed record as the JSON-ready dict the sinks write."""
    if type(item) is tuple:
        if item[0] == _JSON:
            return json.loads(item[1])
        return request_json(item[1])
    return item


class ProcessWriter(HandOverThread):
    """A :class:`~rig.results.store.Sink` whose records a child process writes to ``spec``.

    ``write`` may be called from any thread and never blocks: it packs the record and queues
    the bytes. :meth:`after` runs a callback (on the sender thread) once every record queued
    before it is written by the child.
    """

    def __init__(self, spec: SinkSpec, *, batch_s: float = BATCH_S) -> None:
        if not batch_s > 0:
            raise ValueError(f"batch_s = {batch_s!r}: must be > 0")
        self.spec = spec
        self.batch_s = batch_s
        self._queue: deque[bytes | Callable[[], None]] = deque()
        self._fallback: Sink | None = None  # the rig's own writing, if the child died
        #: Records handed to the writer process so far (in its pipe or written).
        self.handed_over = 0
        self._child = subprocess.Popen(
            [sys.executable, "-m", __name__, json.dumps(asdict(spec))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._child.stdin is not None and self._child.stdout is not None
        self._pipe: IO[bytes] = self._child.stdin
        self._acks: IO[bytes] = self._child.stdout
        self._start("results-sender")

    @property
    def pid(self) -> int:
        """The writer process's pid (its CPU is the rig's too)."""
        return self._child.pid

    @property
    def returncode(self) -> int | None:
        """The writer process's exit status (None while it runs)."""
        return self._child.poll()

    def write(self, record: dict[str, Any] | RequestRecord) -> None:
        """Queue ``record`` (a dict, or a :class:`RequestRecord` packed as its fields); one
        that cannot be written (not JSON) is logged and dropped, never raised into the loop."""
        if self._closing:
            raise RuntimeError("results writer is closed")
        try:
            packed = pack(record)
        except (TypeError, ValueError):
            _log.exception("results: a %s record was not written", record_kind(record))
            return
        self._queue.append(packed)

    def after(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once everything queued so far is written (at once, in the caller's
        thread, if the writer is already closed)."""
        if self._closing:
            callback()
            return
        self._queue.append(callback)
        self._wake.set()

    def close(self) -> None:
        """Hand over everything still queued, let the child write it and exit. Idempotent."""
        if not self._stop():
            return
        try:
            self._child.wait(CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _log.error("results writer %d still busy after %g s: killed", self.pid, CLOSE_TIMEOUT_S)
            self._child.kill()
            self._child.wait()
        self._acks.close()
        if self._fallback is not None:
            self._fallback.close()

    def _run(self) -> None:
        queue, wake = self._queue, self._wake
        while True:
            closing = self._closing
            self._send(queue)
            if closing:
                self._hang_up()
                return
            wake.wait(self.batch_s)
            wake.clear()

    def _send(self, queue: deque[bytes | Callable[[], None]]) -> None:
        """Send what has queued as one frame; with callbacks among it, the records before each
        callback go in a frame that the child acknowledges before the callback runs."""
        popleft = queue.popleft
        taken = [popleft() for _ in range(len(queue))]
        try:
            records = b"".join(taken)  # type: ignore[arg-type]
        except TypeError:  # a callback among them
            self._send_around_callbacks(taken)
            return
        if taken:
            self._frame(records, len(taken), ack=False)

    def _send_around_callbacks(self, taken: list[bytes | Callable[[], None]]) -> None:
        items: list[bytes] = []
        for item in taken:
            if type(item) is bytes:
                items.append(item)
                continue
            self._frame(b"".join(items), len(items), ack=True)
            items = []
            try:
                item()  # type: ignore[operator]
            except Exception:
                _log.exception("results: a write callback failed")
        if items:
            self._frame(b"".join(items), len(items), ack=False)

    def _frame(self, records: bytes, count: int, *, ack: bool) -> None:
        data = frame(records, count, ack=ack)
        if self._fallback is None:
            try:
                self._pipe.write(data)
                self._pipe.flush()
                self.handed_over += count
                if ack and not self._acks.readline():
                    raise BrokenPipeError("the writer process closed its end")
                return
            except (BrokenPipeError, ValueError, OSError) as exc:
                _log.error(
                    "results writer process %d died (%s, exit status %s): writing in the rig",
                    self.pid,
                    exc,
                    self._child.poll(),
                )
                self._fallback = self.spec.open()
        write_frame(self._fallback, data[_HEADER.size :])

    def _hang_up(self) -> None:
        with contextlib.suppress(OSError):  # already broken: the fallback has the records
            self._pipe.close()


def frame(records: bytes, count: int, *, ack: bool) -> bytes:
    """``count`` packed records (:func:`pack`), joined, as one frame on the pipe."""
    header = _HEADER.pack(_LIST.size + len(records), ack)
    return b"".join((header, _LIST.pack(b"[", count), records))


def read_frame(frames: BinaryIO) -> tuple[bytes, bool] | None:
    """The next frame's body and ack flag; None at the end of the pipe."""
    header = frames.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    length, ack = _HEADER.unpack(header)
    return frames.read(length), ack


def write_frame(sink: Sink, body: bytes, *, pause: Callable[[], None] | None = None) -> int:
    """Write a frame's records to ``sink``, :data:`CHUNK_RECORDS` at a time with ``pause``
    between chunks; how many."""
    items = marshal.loads(body)
    for at in range(0, len(items), CHUNK_RECORDS):
        if at and pause is not None:
            pause()
        write_all(sink, [unpack(item) for item in items[at : at + CHUNK_RECORDS]])
    return len(items)


def serve(spec: SinkSpec, frames: BinaryIO, acks: BinaryIO) -> int:
    """The child: write every frame's records to ``spec``'s sinks until the pipe ends."""
    sink = spec.open()
    written = 0
    try:
        while (next_frame := read_frame(frames)) is not None:
            body, ack = next_frame
            written += write_frame(sink, body, pause=yield_cpu)
            if ack:
                acks.write(b"\n")
                acks.flush()
        return written
    finally:
        sink.close()


def yield_cpu() -> None:
    """Let a task waiting for this CPU run first (``sched_yield``; nothing where there is none)."""
    if hasattr(os, "sched_yield"):
        os.sched_yield()


def background_priority() -> None:
    """Make this process yield the CPU to the rig and the devices: the batch scheduling policy
    (a CPU hog that never preempts a waking task; it also leaves a real-time policy inherited
    from a ``chrt``-started rig) at :data:`WRITER_NICE`. Best effort: where the OS refuses, as
    it was."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    with contextlib.suppress(AttributeError, OSError):
        os.nice(WRITER_NICE)


#: The writer's nice value: a third of a nice-0 task's weight (335 against 1024), so it gives
#: way to the meters on the CPU they share, yet keeps about 14 % of a CPU against two nice-0
#: hogs, above the ~8 % it needs at 2,000 records/s: on a saturated machine it keeps up, or
#: falls behind without losing a record (the pipe and the rig's queue hold them). [ASSUMED]
#: chosen by measurement: with the writer niced (5, 10 or 19) the p99 overhead at 2,000/s was
#: lower in 10 of 12 interleaved pairs of rig benchmark load runs (docs/load.md "Busy polling").
WRITER_NICE = 5


def main() -> None:
    # Ctrl-C reaches the whole process group: the child keeps writing until the rig hangs up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Writing results can wait; the request path cannot.
    background_priority()
    spec = SinkSpec(**json.loads(sys.argv[1]))
    serve(spec, sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
