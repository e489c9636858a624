"""A results writer that outlives its database: what it cannot store it keeps, and uploads later.

A shared store (PostgreSQL on the lab's network) can restart, fail over or drop off the network
mid-run; a run must lose nothing it measured (reference/architecture.md, "Results store").
:class:`ResilientWriter` writes a run's records to the store while it can. When the store
cannot be reached (at the start, or the connection is lost), it appends them to a *backlog*,
a JSON Lines file in the run folder (``store-backlog-<writer>.jsonl``, the run's description
on its first line), and tries the store again after a growing pause (:class:`Backoff`). Once
back, it uploads the backlog, in order, before anything new, and removes the file.

Every record carries an id (``<writer>-<n>``, :data:`rig.results.schema.RECORD_ID`) that the
store keeps unique per run, so a batch written twice (a commit whose answer was lost with the
connection, then uploaded from the backlog) is stored once. The run itself is made (or found)
by its key each time the writer connects, so a run that starts while the store is down is
created when it comes back.

A backlog still there when the writer closes (the store did not come back within
:data:`CLOSE_WAIT_S`) stays in the run folder; ``python -m rig.results.resilient upload
FOLDER [STORE]`` uploads it later (the pytest plugin does so at the end of each run).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import count, islice
from pathlib import Path
from typing import Any

from rig.results.jsonl import JsonlWriter, ResultsError, read_jsonl
from rig.results.schema import RECORD_ID
from rig.results.store import (
    Location,
    ResultsStore,
    StoreError,
    StoreUnavailable,
    StoreWriter,
    display,
    is_url,
)
from rig.util.closing import Closing

_log = logging.getLogger(__name__)

#: A backlog file's name: this prefix, the writer's id, ``.jsonl``.
BACKLOG_PREFIX = "store-backlog-"
#: The kind of a backlog's first line: the run it belongs to.
_RUN_LINE = "backlog_run"
#: Records uploaded from a backlog per transaction. [ASSUMED] a few hundred rows commit in
#: milliseconds, and a connection lost mid-upload repeats at most one chunk (skipped by id).
UPLOAD_CHUNK = 500
#: How long :meth:`ResilientWriter.close` keeps trying a store that is down before leaving the
#: backlog in the run folder. [ASSUMED] long enough for a database restart or fail-over, short
#: enough not to hold a CI job; ``$RIG_STORE_WAIT_S`` sets it (seconds).
CLOSE_WAIT_S = 30.0
WAIT_ENV = "RIG_STORE_WAIT_S"


def default_close_wait() -> float:
    """:data:`CLOSE_WAIT_S`, or ``$RIG_STORE_WAIT_S`` if that is a number of seconds."""
    text = os.environ.get(WAIT_ENV)
    if text is None:
        return CLOSE_WAIT_S
    try:
        wait = float(text)
    except ValueError:
        wait = -1.0
    if not 0 <= wait < float("inf"):
        _log.error("%s=%r is not a number of seconds: waiting %g s", WAIT_ENV, text, CLOSE_WAIT_S)
        return CLOSE_WAIT_S
    return wait


@dataclass
class Backoff:
    """Pauses between attempts to reach the store: ``first_s``, growing by ``factor`` up to
    ``max_s``; :meth:`reset` once it is reached. [ASSUMED] 0.5 s doubling to 30 s: a restart is
    noticed within a second or two, and a store that is down for long costs one failed connect
    (refused at once, or :data:`rig.results.backends.CONNECT_TIMEOUT_S`) every half minute."""

    first_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    _next_s: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.max_s or self.factor < 1:
            raise ValueError(f"{self}: needs 0 < first_s <= max_s and factor >= 1")
        self.reset()

    def delay(self) -> float:
        """The pause before the next attempt (each call grows the next)."""
        now = self._next_s
        self._next_s = min(self._next_s * self.factor, self.max_s)
        return now

    def reset(self) -> None:
        self._next_s = self.first_s


@dataclass(frozen=True)
class RunSpec:
    """What makes (or finds) a run in a store: :meth:`ResultsStore.open_run`'s arguments."""

    folder: str
    key: str | None = None
    bench: str | None = None
    plan: str | None = None
    config: Mapping[str, str] | None = None
    build: str | None = None

    def open(self, store: ResultsStore) -> str:
        """The run's id in ``store``, creating it on first use."""
        return store.open_run(
            Path(self.folder),
            key=self.key,
            bench=self.bench,
            plan=self.plan,
            config=self.config,
            build=self.build,
        )


class ResilientWriter(Closing):
    """A :class:`~rig.results.store.Sink` into a run of a store that may go away (see the
    module docstring). Thread-safe; :meth:`write` blocks only while it connects or uploads."""

    def __init__(
        self,
        location: Location,
        run: RunSpec,
        backlog_dir: Path,
        *,
        durable: bool = False,
        backoff: Backoff | None = None,
        close_wait_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.location = location
        self.run = run
        self.backlog_dir = backlog_dir
        self.durable = durable
        self.writer_id = uuid.uuid4().hex[:16]
        self.backlog = backlog_dir / f"{BACKLOG_PREFIX}{self.writer_id}.jsonl"
        self.close_wait_s = default_close_wait() if close_wait_s is None else close_wait_s
        #: The run's id in the store, once the writer has reached it.
        self.run_id: str | None = None
        self._backoff = backoff or Backoff()
        self._clock, self._sleep = clock, sleep
        self._numbers = count()
        self._lock = threading.Lock()
        self._store: ResultsStore | None = None
        self._spool: JsonlWriter | None = None
        self._next_try = clock()
        self._why: StoreError | None = None  # why the store was last out of reach
        self._closed = False
        with self._lock:
            self._try_store()

    @property
    def connected(self) -> bool:
        """Whether records go straight to the store (no backlog waiting)."""
        return self._store is not None

    def write(self, record: dict[str, Any]) -> None:
        self.write_many([record])

    def write_many(self, records: Sequence[dict[str, Any]]) -> None:
        """Store ``records`` (one transaction), or keep them in the backlog if the store is
        down; each gets its record id here."""
        tagged = [{**r, RECORD_ID: f"{self.writer_id}-{next(self._numbers)}"} for r in records]
        with self._lock:
            if self._closed:
                raise StoreError(f"{display(self.location)}: writer is closed")
            if self._store is None and self._clock() >= self._next_try:
                self._try_store()
            if self._store is not None:
                try:
                    self._store.insert(self.run_id, tagged)  # type: ignore[arg-type]
                    return
                except StoreUnavailable as exc:
                    self._lost(exc)
            self._keep(tagged)

    def close(self) -> None:
        """Upload the backlog if the store comes back within ``close_wait_s``; else leave it
        in the run folder, saying so. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            deadline = self._clock() + self.close_wait_s
            while self._store is None and self._spool is not None:
                wait = self._next_try - self._clock()
                if self._clock() + max(wait, 0) > deadline:
                    break
                self._sleep(max(wait, 0))
                self._try_store()
            if self._spool is not None:
                self._spool.close()
                _log.error(
                    "results store %s still unreachable: records kept in %s (upload them with "
                    "python -m rig.results.resilient upload %s)",
                    display(self.location),
                    self.backlog,
                    self.backlog_dir,
                )
            if self._store is not None:
                self._store.close()
                self._store = None

    # -- inside the lock --

    def _try_store(self) -> None:
        """Reach the store: open the run, upload the backlog; else try again later."""
        store = None
        try:
            store = ResultsStore(self.location, durable=self.durable)
            self.run_id = self.run.open(store)
            if self._spool is not None:
                uploaded = upload(store, self.run_id, self.backlog)
                self._spool.close()
                self._spool = None
                self.backlog.unlink()
                _log.warning(
                    "results store %s is back: %d records uploaded from %s",
                    display(self.location),
                    uploaded,
                    self.backlog,
                )
        except StoreUnavailable as exc:
            if store is not None:
                store.close()
            self._lost(exc)
            return
        self._store = store
        self._backoff.reset()

    def _lost(self, exc: StoreError) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        self._why = exc
        self._next_try = self._clock() + self._backoff.delay()

    def _keep(self, records: list[dict[str, Any]]) -> None:
        if self._spool is None:
            _log.warning("results store: %s: keeping records in %s", self._why, self.backlog)
            fresh = not self.backlog.exists()
            self._spool = JsonlWriter(self.backlog, fsync=self.durable)
            if fresh:
                line = {"kind": _RUN_LINE, "store": display(self.location), "run": asdict(self.run)}
                self._spool.write(line)
        self._spool.write_many(records)


def _backlog_records(path: Path) -> tuple[str, RunSpec, Iterator[dict[str, Any]]]:
    """A backlog's store (as printable), run, and records."""
    records = read_jsonl(path)
    first = next(records, None)
    if first is None or first.get("kind") != _RUN_LINE:
        raise ResultsError(f"{path}: not a results store backlog (no run on its first line)")
    return first["store"], RunSpec(**first["run"]), records


def upload(store: ResultsStore, run_id: str, backlog: Path) -> int:
    """Insert a backlog's records into ``run_id``, :data:`UPLOAD_CHUNK` per transaction
    (records already stored are skipped by id); how many it held."""
    records = _backlog_records(backlog)[2]
    total = 0
    while chunk := list(islice(records, UPLOAD_CHUNK)):
        store.insert(run_id, chunk)
        total += len(chunk)
    return total


def upload_backlogs(folder: Path, location: Location | None = None) -> int:
    """Upload every backlog left under a run folder (xdist workers' sub-folders too) to its
    run in ``location`` (default: the store each names, which has no password: libpq's
    password file or ``PGPASSWORD`` gives it), removing each uploaded file; how many records.
    :class:`StoreError` if the store is still unreachable."""
    total = 0
    for path in sorted(folder.glob(f"**/{BACKLOG_PREFIX}*.jsonl")):
        named, run, _ = _backlog_records(path)
        with ResultsStore(location or named) as store:
            total += upload(store, run.open(store), path)
        path.unlink()
    return total


#: A writer of one run of a store.
RunWriter = StoreWriter | ResilientWriter


def run_writer(location: Location, run: RunSpec, backlog_dir: Path, **kw: Any) -> RunWriter:
    """The writer of ``run`` in ``location``: resilient for a database on the network, a plain
    :class:`StoreWriter` for a local file (which does not go away)."""
    if is_url(location):
        return ResilientWriter(location, run, backlog_dir, **kw)
    with ResultsStore(location) as store:
        run_id = run.open(store)
    return StoreWriter(location, run_id, durable=kw.get("durable", False))


def main(argv: Sequence[str]) -> int:
    """``python -m rig.results.resilient upload FOLDER [STORE]``."""
    if len(argv) not in (2, 3) or argv[0] != "upload":
        sys.stderr.write("usage: python -m rig.results.resilient upload RUN_FOLDER [STORE]\n")
        return 2
    try:
        total = upload_backlogs(Path(argv[1]), argv[2] if len(argv) == 3 else None)
    except (StoreError, ResultsError, OSError) as exc:
        sys.stderr.write(f"not uploaded: {exc}\n")
        return 1
    print(f"{total} records uploaded")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
