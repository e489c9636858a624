"""Results written off the rig's loop: a writer thread in front of a sink, committing in batches.

The loop only appends a record to a queue (a deque append, no lock, no I/O); the writer thread
serialises what has queued and writes it as one batch: one ``write`` and flush of the JSON
Lines file, one SQLite transaction (a sink's ``write_many``, when it has one). So the loop never
waits on a commit, an fsync or a WAL checkpoint (reference/architecture.md, "Results store").
It does still compete with the loop for the GIL while it encodes, which delays the loop by
milliseconds under load (docs/load.md "The hot path"): a rig made by ``launch()`` writes through
a process instead (:mod:`rig.results.process_writer`); this thread serves any other sink.

Nothing measured is lost on the way out: :meth:`BackgroundWriter.close` (the rig's, also run
at interpreter exit if nobody called it) writes everything queued before closing the sink, and
:meth:`BackgroundWriter.after` runs a callback only once everything queued before it is
written, so a blocking caller is told about its request only when its record is on disk.
"""

from __future__ import annotations

import atexit
import logging
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from rig.results.record import RequestRecord, request_json
from rig.results.store import Sink, write_all

_log = logging.getLogger(__name__)

#: Longest a record waits in the queue before the writer thread wakes for it (unless a caller
#: waits on it: then at once). Bounds what a killed process loses. Shorter costs CPU: the
#: writer process's sender thread costs the rig 0.1-0.2 ms of CPU each time it wakes, and a
#: writer process woken more often works from colder caches (docs/load.md "The hot path";
#: its bursts are bounded by its chunks instead, ``process_writer.CHUNK_RECORDS``). [ASSUMED]
BATCH_S = 0.05

#: What the loop hands over: a record (a request's is serialised by the writer).
Item = dict[str, Any] | RequestRecord


@runtime_checkable
class OffLoopSink(Protocol):
    """A sink that writes off the caller's thread and says when a record is written."""

    def write(self, record: Item) -> None: ...

    def after(self, callback: Callable[[], None]) -> None: ...

    def close(self) -> None: ...


class _After:
    __slots__ = ("callback",)

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback


def serialise(item: Item) -> dict[str, Any]:
    """The JSON-ready record of an item (a request's record is serialised here, not on the loop)."""
    if type(item) is RequestRecord:
        return request_json(item.values())
    return item  # type: ignore[return-value]


class HandOverThread(ABC):
    """What both off-loop writers share: a queue any thread appends to, one daemon thread
    (``_run``) that empties it, and a stop that lets that thread finish what was queued.
    Subclasses call :meth:`_start` last in ``__init__`` and :meth:`_stop` in ``close``."""

    @abstractmethod
    def _run(self) -> None:
        """Empty the queue until :meth:`_stop`, handing over everything queued before it."""

    @abstractmethod
    def close(self) -> None:
        """Stop (:meth:`_stop`), then release what the writer holds. Idempotent."""

    def _start(self, name: str) -> None:
        self._wake = threading.Event()
        self._closing = False
        self._closed = False
        self._lock = threading.Lock()  # close() from two threads at once
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _stop(self) -> bool:
        """Let the thread hand over everything queued, and end it; False if already stopped."""
        with self._lock:
            if self._closed:
                return False
            self._closing = True
            self._wake.set()
            if self._thread is not threading.current_thread():
                self._thread.join()
            self._closed = True
        atexit.unregister(self.close)
        return True


class BackgroundWriter(HandOverThread):
    """A :class:`~rig.results.store.Sink` that writes ``sink`` from its own thread, in batches.

    ``write`` may be called from any thread and never blocks; records are written in the order
    they were queued. A record that cannot be serialised, or a batch the sink refuses, is logged
    with the error and the writer goes on (a refused batch is retried record by record, so one
    bad record loses only itself and never stops the results of a run).
    """

    def __init__(self, sink: Sink, *, batch_s: float = BATCH_S, name: str = "results") -> None:
        if not batch_s > 0:
            raise ValueError(f"batch_s = {batch_s!r}: must be > 0")
        self.sink = sink
        self.batch_s = batch_s
        self._queue: deque[Item | _After] = deque()
        self._start(f"{name}-writer")

    def write(self, record: Item) -> None:
        """Queue ``record`` (a dict, or a :class:`RequestRecord` serialised when written)."""
        if self._closing:
            raise RuntimeError("results writer is closed")
        self._queue.append(record)

    def after(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the writer thread once everything queued so far is written (at
        once, in the caller's thread, if the writer is already closed)."""
        if self._closing:
            callback()
            return
        self._queue.append(_After(callback))
        self._wake.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything queued so far is written; False if ``timeout`` ran out."""
        if self._closed:
            return True
        done = threading.Event()
        self.after(done.set)
        return done.wait(timeout)

    def close(self) -> None:
        """Write everything still queued, stop the thread and close the sink. Idempotent."""
        if self._stop():
            self.sink.close()

    def _run(self) -> None:
        queue, wake = self._queue, self._wake
        while True:
            closing = self._closing
            self._drain(queue)
            if closing:
                return
            wake.wait(self.batch_s)
            wake.clear()

    def _drain(self, queue: deque[Item | _After]) -> None:
        """Write what has queued, in order, running each waiting callback after its records."""
        batch: list[dict[str, Any]] = []
        while queue:
            item = queue.popleft()
            if type(item) is _After:
                self._write(batch)
                batch = []
                _call(item.callback)
                continue
            try:
                batch.append(serialise(item))  # type: ignore[arg-type]
            except Exception:
                _log.exception("results: could not serialise a %s record", record_kind(item))
        self._write(batch)

    def _write(self, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        try:
            write_all(self.sink, batch)
        except Exception:  # the batch was refused as a whole: keep every record that can be
            for record in batch:
                try:
                    self.sink.write(record)
                except Exception:
                    _log.exception("results: a %s record was not written", record_kind(record))


def _call(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:
        _log.exception("results: a write callback failed")


def record_kind(item: object) -> str:
    """What a record is, for a log line (``request`` for a :class:`RequestRecord`)."""
    if isinstance(item, RequestRecord):
        return "request"
    return str(item.get("kind")) if isinstance(item, dict) else type(item).__name__
