"""The results store: SQLite (stdlib, embedded), one file holding many runs.

Writers have the :class:`~rig.results.jsonl.JsonlWriter` contract, ``write(dict)`` and
``close()``, and commit every record before returning, so a crash loses nothing already
measured. The file is in WAL mode with a busy timeout: several processes (pytest-xdist workers)
may write the same run at once. A run is identified by its folder: every process that opens the
same folder gets the same run id, without talking to the others.

Records are dicts with a ``kind``: ``request`` (:meth:`RequestRecord.to_json
<rig.results.record.RequestRecord.to_json>`), ``alert``, ``error``, ``measurement``
(:mod:`rig.results.measure`), ``test`` (one per test outcome); any other kind is kept as an
event. The reading API gives records back in the same shape, so reports read a store or a
JSONL file alike.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from itertools import groupby
from pathlib import Path
from typing import Any, Protocol

from rig.results.config import parts_hash
from rig.results.jsonl import encode
from rig.results.record import HOPS, STAMPS
from rig.util.closing import Closing

#: The store file of a run folder, when no shared store is named.
STORE_FILE = "results.sqlite"

#: How long a writer waits for another process's lock before giving up.
BUSY_TIMEOUT_S = 30.0
#: Pause between attempts to switch a fresh file to WAL while another process holds it.
WAL_RETRY_S = 0.01


class StoreError(RuntimeError):
    """A store that cannot be opened or read; names the file."""


class Sink(Protocol):
    """Where records go: a JSONL writer, a store writer, or several (:class:`Tee`)."""

    def write(self, record: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def write_all(sink: Sink, records: list[dict[str, Any]]) -> None:
    """Write ``records`` to ``sink`` as one batch if it can (``write_many``), else one by one."""
    many = getattr(sink, "write_many", None)
    if many is not None:
        many(records)
    else:
        for record in records:
            sink.write(record)


class Tee:
    """Writes every record to each sink in turn; closes them all."""

    def __init__(self, *sinks: Sink) -> None:
        self.sinks = sinks

    def write(self, record: dict[str, Any]) -> None:
        for sink in self.sinks:
            sink.write(record)

    def write_many(self, records: list[dict[str, Any]]) -> None:
        """Each sink gets the batch (as one batch if it takes ``write_many``)."""
        for sink in self.sinks:
            write_all(sink, records)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


# -- schema -------------------------------------------------------------------------------

_REQUEST_FIELDS = ("request_id", "srv", "priority", "user", "target", "outcome", "reason")

_V1 = f"""
CREATE TABLE runs (
    id TEXT PRIMARY KEY, folder TEXT NOT NULL, started TEXT NOT NULL, bench TEXT, plan TEXT,
    rig_version TEXT, config_hash TEXT, host TEXT
);
CREATE TABLE requests (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),
    request_id TEXT, srv TEXT, priority INTEGER, user TEXT, target TEXT, outcome TEXT,
    reason TEXT, response TEXT, alerts TEXT,
    {", ".join(f"{s} REAL" for s in STAMPS)},
    {", ".join(f"{h}_s REAL" for h in HOPS)},
    worker TEXT, extra TEXT
);
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),
    at REAL, device TEXT, code INTEGER, name TEXT, worker TEXT, extra TEXT
);
CREATE TABLE errors (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),
    at REAL, device TEXT, error TEXT, frame TEXT, worker TEXT, extra TEXT
);
CREATE TABLE measurements (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),
    nodeid TEXT, name TEXT NOT NULL, value REAL, units TEXT, low REAL, high REAL,
    marginal_low REAL, marginal_high REAL, verdict TEXT NOT NULL, requirements TEXT,
    at REAL, worker TEXT
);
CREATE TABLE tests (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),
    nodeid TEXT NOT NULL, outcome TEXT NOT NULL, duration_s REAL, requirements TEXT,
    message TEXT, at REAL, worker TEXT
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),
    kind TEXT NOT NULL, data TEXT NOT NULL, worker TEXT
);
CREATE INDEX requests_run ON requests(run_id);
CREATE INDEX alerts_run ON alerts(run_id);
CREATE INDEX errors_run ON errors(run_id);
CREATE INDEX measurements_run ON measurements(run_id);
CREATE INDEX tests_run ON tests(run_id);
CREATE INDEX events_run ON events(run_id);
"""

#: Schema migrations: ``MIGRATIONS[n]`` takes a store from version ``n`` to ``n + 1``. A new
#: schema version appends a step; the file's version is SQLite's ``user_version``.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    lambda db: _run_script(db, _V1),
    # v2: what the run's configuration hash covers, part by part (JSON), so a comparison can
    # say whether the plan, the bench or the rest of the configuration differ.
    lambda db: _run_script(db, "ALTER TABLE runs ADD COLUMN config TEXT"),
]

SCHEMA_VERSION = len(MIGRATIONS)


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # executescript() commits first; run statement by statement to stay inside the transaction.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _connect(path: Path, *, durable: bool) -> sqlite3.Connection:
    # A writer is made on one thread and used on another (the rig's loop thread); its lock
    # keeps the use serial.
    db = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    db.row_factory = sqlite3.Row
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    _wal(db)
    # WAL + NORMAL: a commit survives a crash of the process; FULL also a power cut.
    db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
    db.execute("PRAGMA foreign_keys = ON")
    return db


def _wal(db: sqlite3.Connection) -> None:
    """Switch to WAL. The switch needs an exclusive lock, and SQLite answers "database is locked"
    at once, without its busy handler, while another process is creating or switching the same
    fresh file (xdist workers starting together): retry until the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(WAL_RETRY_S)


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taking the write lock up front (no lock upgrade deadlocks)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    with _transaction(db):
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path}: schema version {version} is newer than this rig's ({SCHEMA_VERSION})"
            )
        for step in MIGRATIONS[version:]:
            step(db)
        if version < SCHEMA_VERSION:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _worker() -> str | None:
    return os.environ.get("PYTEST_XDIST_WORKER")


def _dumps(value: Any) -> str | None:
    return None if value is None else encode(value)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


# -- runs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunInfo:
    """One run of a store: its identity and what it ran on."""

    id: str
    folder: str
    started: str
    bench: str | None = None
    plan: str | None = None
    rig_version: str | None = None
    config_hash: str | None = None
    host: str | None = None
    #: The hash of each part of the configuration (``plan``, ``bench``, ``tmm``, ``options``).
    config: dict[str, str] | None = field(default=None, hash=False)


def rig_version() -> str | None:
    """The installed rig's version, if it is installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gb-smart-rig")
    except PackageNotFoundError:
        return None


# -- the store -------------------------------------------------------------------------------


class ResultsStore(Closing):
    """A store file: open (creating or migrating it), add runs, read them back."""

    def __init__(self, path: Path, *, durable: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self._db = _connect(path, durable=durable)
            _migrate(self._db, path)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    # -- runs --

    def open_run(
        self,
        folder: Path,
        *,
        bench: str | None = None,
        plan: str | None = None,
        config: Mapping[str, str] | None = None,
    ) -> str:
        """The id of the run writing to ``folder``, creating it on first use.

        Every process opening the same folder gets the same id (the folder's name, with a
        suffix if another folder of that name is already in the store); the first one's
        metadata is kept. ``config`` is the hash of each part of the run's configuration;
        ``config_hash`` is :func:`parts_hash` of them.
        """
        where = str(folder.resolve())
        with _transaction(self._db) as db:
            row = db.execute("SELECT id FROM runs WHERE folder = ?", (where,)).fetchone()
            if row is not None:
                return str(row["id"])
            taken = {r["id"] for r in db.execute("SELECT id FROM runs")}
            run_id, n = folder.name or "run", 1
            while run_id in taken:
                n += 1
                run_id = f"{folder.name}-{n}"
            db.execute(
                "INSERT INTO runs (id, folder, started, bench, plan, rig_version, config_hash,"
                " host, config) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    where,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    bench,
                    plan,
                    rig_version(),
                    None if config is None else parts_hash(config),
                    socket.gethostname(),
                    _dumps(None if config is None else dict(config)),
                ),
            )
        return run_id

    def runs(self) -> list[RunInfo]:
        """Every run, oldest first."""
        rows = self._db.execute("SELECT * FROM runs ORDER BY started, rowid")
        return [RunInfo(**{**dict(row), "config": _loads(row["config"])}) for row in rows]

    def run(self, run_id: str | None = None) -> RunInfo:
        """One run by id; the latest when ``run_id`` is None."""
        runs = self.runs()
        if not runs:
            raise StoreError(f"{self.path}: no runs")
        if run_id is None:
            return runs[-1]
        for run in runs:
            if run.id == run_id:
                return run
        known = ", ".join(r.id for r in runs)
        raise StoreError(f"{self.path}: no run {run_id!r}; runs: {known}")

    # -- reading: records in the shape they were written --

    def requests(self, run_id: str) -> list[dict[str, Any]]:
        out = []
        for row in self._rows("requests", run_id):
            record: dict[str, Any] = {"kind": "request", **_pick(row, *_REQUEST_FIELDS)}
            record["response"] = _loads(row["response"])
            record["alerts"] = _loads(row["alerts"]) or []
            record["stamps"] = {s: row[s] for s in STAMPS if row[s] is not None}
            record["latency_s"] = {h: row[f"{h}_s"] for h in HOPS if row[f"{h}_s"] is not None}
            record.update(_loads(row["extra"]) or {})
            out.append(record)
        return out

    def alerts(self, run_id: str) -> list[dict[str, Any]]:
        return [
            {"kind": "alert", **_pick(row, "at", "device", "code", "name"), **_extra(row)}
            for row in self._rows("alerts", run_id)
        ]

    def errors(self, run_id: str) -> list[dict[str, Any]]:
        return [
            {"kind": "error", **_pick(row, "at", "device", "error", "frame"), **_extra(row)}
            for row in self._rows("errors", run_id)
        ]

    def measurements(self, run_id: str) -> list[dict[str, Any]]:
        out = []
        for row in self._rows("measurements", run_id):
            record = {"kind": "measurement", **_pick(row, *_MEASUREMENT_FIELDS)}
            record["requirements"] = _loads(row["requirements"]) or []
            out.append(record)
        return out

    def tests(self, run_id: str) -> list[dict[str, Any]]:
        out = []
        for row in self._rows("tests", run_id):
            record = {"kind": "test", **_pick(row, *_TEST_FIELDS)}
            record["requirements"] = _loads(row["requirements"]) or []
            out.append(record)
        return out

    def events(self, run_id: str) -> list[dict[str, Any]]:
        return [
            {"kind": row["kind"], **_loads(row["data"])} for row in self._rows("events", run_id)
        ]

    def records(self, run_id: str) -> list[dict[str, Any]]:
        """Every record of a run, grouped by kind."""
        return [
            *self.requests(run_id),
            *self.alerts(run_id),
            *self.errors(run_id),
            *self.measurements(run_id),
            *self.tests(run_id),
            *self.events(run_id),
        ]

    def _rows(self, table: str, run_id: str) -> list[sqlite3.Row]:
        return self._db.execute(
            f"SELECT * FROM {table} WHERE run_id = ? ORDER BY id", (run_id,)
        ).fetchall()

    # -- writing --

    def writer(self, run_id: str) -> StoreWriter:
        """A writer of records into ``run_id`` on its own connection."""
        self.run(run_id)
        return StoreWriter(self.path, run_id)

    def _insert(self, run_id: str, records: Sequence[dict[str, Any]]) -> None:
        """Insert ``records`` in one transaction: all of them, or none (a run of rows for the
        same table and columns, such as a batch of requests, in one ``executemany``)."""
        head = (run_id, _worker())
        with _transaction(self._db) as db:
            for (table, columns), rows in groupby(map(_row, records), key=_table_and_columns):
                db.executemany(
                    _insert_sql(table, columns), [(*head, *values) for _, _, values in rows]
                )


def _table_and_columns(row: tuple[str, tuple[str, ...], tuple[Any, ...]]) -> tuple[str, ...]:
    return row[:2]


@cache
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join("?" * (len(columns) + 2))
    return f"INSERT INTO {table} (run_id, worker, {', '.join(columns)}) VALUES ({marks})"


def _row(record: dict[str, Any]) -> tuple[str, tuple[str, ...], tuple[Any, ...]]:
    """The table, columns and values of a record."""
    kind = record.get("kind")
    if kind == "request":
        return "requests", _REQUEST_COLUMNS, _request_values(record)
    if kind == "alert":
        table, row = "alerts", _known_and_extra(record, ("at", "device", "code", "name"))
    elif kind == "error":
        table, row = "errors", _known_and_extra(record, ("at", "device", "error", "frame"))
    elif kind == "measurement":
        row = {f: record.get(f) for f in _MEASUREMENT_FIELDS}
        row["requirements"] = _dumps(list(record.get("requirements") or ()))
        table = "measurements"
    elif kind == "test":
        row = {f: record.get(f) for f in _TEST_FIELDS}
        row["requirements"] = _dumps(list(record.get("requirements") or ()))
        table = "tests"
    else:
        data = {k: v for k, v in record.items() if k != "kind"}
        table, row = "events", {"kind": str(kind), "data": _dumps(data)}
    return table, tuple(row), tuple(row.values())


_MEASUREMENT_FIELDS = (
    "nodeid",
    "name",
    "value",
    "units",
    "low",
    "high",
    "marginal_low",
    "marginal_high",
    "verdict",
    "at",
)
_TEST_FIELDS = ("nodeid", "outcome", "duration_s", "message", "at")


def _pick(row: sqlite3.Row, *names: str) -> dict[str, Any]:
    return {name: row[name] for name in names}


def _extra(row: sqlite3.Row) -> dict[str, Any]:
    return _loads(row["extra"]) or {}


def _known_and_extra(record: dict[str, Any], known: Sequence[str]) -> dict[str, Any]:
    row = {name: record.get(name) for name in known}
    extra = {k: v for k, v in record.items() if k not in known and k != "kind"}
    row["extra"] = _dumps(extra) if extra else None
    return row


#: The columns of a request's row after ``run_id`` and ``worker``, as :func:`_request_values`
#: gives them.
_REQUEST_COLUMNS = (
    *_REQUEST_FIELDS,
    "response",
    "alerts",
    *STAMPS,
    *(f"{h}_s" for h in HOPS),
    "extra",
)
_REQUEST_KNOWN = frozenset({*_REQUEST_FIELDS, "kind", "response", "alerts", "stamps", "latency_s"})


def _request_values(record: dict[str, Any]) -> tuple[Any, ...]:
    get = record.get
    stamps = get("stamps") or {}
    latency = get("latency_s") or {}
    unknown = record.keys() - _REQUEST_KNOWN
    return (
        *map(get, _REQUEST_FIELDS),
        _dumps(get("response")),
        _dumps(get("alerts") or []),
        *map(stamps.get, STAMPS),
        *map(latency.get, HOPS),
        _dumps({k: v for k, v in record.items() if k in unknown}) if unknown else None,
    )


class StoreWriter(Closing):
    """Writes records of one run; each is committed before :meth:`write` returns, a batch of
    :meth:`write_many` in one transaction (how the rig's writer thread commits, off its loop).

    Thread-safe: it may be made on one thread and written from others.
    """

    def __init__(self, path: Path, run_id: str, *, durable: bool = False) -> None:
        self.path = path
        self.run_id = run_id
        self.durable = durable
        self._lock = threading.Lock()
        self._store: ResultsStore | None = ResultsStore(path, durable=durable)

    def write(self, record: dict[str, Any]) -> None:
        self.write_many([record])

    def write_many(self, records: Sequence[dict[str, Any]]) -> None:
        """Commit ``records`` in one transaction (all or none)."""
        with self._lock:
            if self._store is None:
                raise StoreError(f"{self.path}: writer is closed")
            self._store._insert(self.run_id, records)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def open_run_writer(
    folder: Path,
    store: Path | None = None,
    *,
    bench: str | None = None,
    plan: str | None = None,
    config: Mapping[str, str] | None = None,
) -> StoreWriter:
    """A writer for the run in ``folder``, in ``store`` (default: the folder's own store)."""
    path = store or folder / STORE_FILE
    with ResultsStore(path) as opened:
        run_id = opened.open_run(folder, bench=bench, plan=plan, config=config)
    return StoreWriter(path, run_id)


def checkpoint(path: Path) -> None:
    """Fold the store's write-ahead log into the file and empty it (``wal_checkpoint(TRUNCATE)``)
    so that the file alone holds every record; nothing if there is no such store. Called when
    every writer of a run has closed (the xdist controller, after its workers): SQLite does
    this itself only when the last connection closes, which another open connection (a
    reader, a second run on a shared store) or two workers closing together prevent."""
    if not path.is_file():
        return
    try:
        uri = f"{path.resolve().as_uri()}?mode=rw"
        db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: {exc}") from exc
