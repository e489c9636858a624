"""The results store: one SQLite file (stdlib, embedded; the default) or one PostgreSQL database
(a lab's shared history, :mod:`rig.results.backends`), holding many runs.

Writers have the :class:`~rig.results.jsonl.JsonlWriter` contract, ``write(dict)`` and
``close()``, and commit every record before returning, so a crash loses nothing already
measured. The file is in WAL mode with a busy timeout: several processes (pytest-xdist workers)
may write the same run at once; PostgreSQL takes many hosts. A run is identified by a key its
processes agree on without talking to each other: by default the host and the run folder (the
pytest controller hands its own to its xdist workers). Runs of one nightly build on many hosts
share a build id (:meth:`ResultsStore.build`).

Records are dicts with a ``kind``: ``request`` (:meth:`RequestRecord.to_json
<rig.results.record.RequestRecord.to_json>`), ``alert``, ``error``, ``measurement``
(:mod:`rig.results.measure`), ``test`` (one per test outcome); any other kind is kept as an
event. The reading API gives records back in the same shape, so reports read a store or a
JSONL file alike.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any, Protocol

from rig.results import schema
from rig.results.backends import (
    BUSY_TIMEOUT_S,
    Connection,
    StoreError,
    StoreUnavailable,
    connect,
    display,
    is_url,
)
from rig.results.config import parts_hash
from rig.results.schema import MIGRATIONS, SCHEMA_VERSION, dumps, insert_sql, loads, to_row
from rig.util.closing import Closing

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STORE_FILE",
    "ResultsStore",
    "RunInfo",
    "Sink",
    "StoreError",
    "StoreUnavailable",
    "StoreWriter",
    "Tee",
    "checkpoint",
    "is_url",
    "open_run_writer",
    "run_key",
    "write_all",
]

#: The store file of a run folder, when no shared store is named.
STORE_FILE = "results.sqlite"

#: Where a store is: a SQLite file, or a ``postgresql://`` URL.
Location = Path | str


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
    #: What identifies the run to the processes writing it (:func:`run_key`).
    run_key: str | None = None
    #: The build the run belongs to (``--rig-build``), shared by runs on many hosts.
    build: str | None = None


def rig_version() -> str | None:
    """The installed rig's version, if it is installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gb-smart-rig")
    except PackageNotFoundError:
        return None


def run_key(folder: Path) -> str:
    """The key of the run writing to ``folder`` from this host: the same for every process of
    the host, different on another host with a folder of the same path."""
    return f"{socket.gethostname()}:{folder.resolve()}"


def _worker() -> str | None:
    return os.environ.get("PYTEST_XDIST_WORKER")


# -- the store -------------------------------------------------------------------------------


class ResultsStore(Closing):
    """A store (a file or a ``postgresql://`` URL): open it (creating or migrating it), add
    runs, read them back."""

    def __init__(self, location: Location, *, durable: bool = False) -> None:
        self.location = location
        self.durable = durable
        self._db: Connection = connect(location, durable=durable)
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"{location}: {exc}") from exc
        except BaseException:
            self._db.close()
            raise

    @property
    def name(self) -> str:
        """The location as it may be printed (a URL without its password)."""
        return display(self.location)

    def _migrate(self) -> None:
        db = self._db
        with db.transaction():
            version = db.version()
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.name}: schema version {version} is newer than this rig's "
                    f"({SCHEMA_VERSION})"
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in schema.migration(step, db.dialect):
                    db.execute(statement)
            if version < SCHEMA_VERSION:
                db.set_version(SCHEMA_VERSION)

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
        key: str | None = None,
        build: str | None = None,
    ) -> str:
        """The id of the run with ``key`` (default :func:`run_key` of ``folder``), creating it
        on first use.

        Every process opening the run with the same key gets the same id (the folder's name,
        with a suffix if another run of that name is already in the store); the first one's
        metadata is kept. ``config`` is the hash of each part of the run's configuration;
        ``config_hash`` is :func:`parts_hash` of them.
        """
        key = key or run_key(folder)
        db = self._db
        with db.transaction(lock_runs=True):
            row = db.execute("SELECT id FROM runs WHERE run_key = ?", (key,))
            if row:
                return str(row[0]["id"])
            name = folder.name or "run"
            same_name = "SELECT id FROM runs WHERE id = ? OR id LIKE ?"
            taken = {r["id"] for r in db.execute(same_name, (name, f"{name}-%"))}
            run_id, n = name, 1
            while run_id in taken:
                n += 1
                run_id = f"{name}-{n}"
            db.execute(
                "INSERT INTO runs (id, folder, started, bench, plan, rig_version, config_hash,"
                " host, config, run_key, build) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    str(folder.resolve()),
                    datetime.now(UTC).isoformat(timespec="microseconds"),
                    bench,
                    plan,
                    rig_version(),
                    None if config is None else parts_hash(config),
                    socket.gethostname(),
                    dumps(None if config is None else dict(config)),
                    key,
                    build,
                ),
            )
        return run_id

    def runs(self, *, build: str | None = None) -> list[RunInfo]:
        """Every run (of ``build``, if given), oldest first."""
        where, params = ("WHERE build = ?", (build,)) if build is not None else ("", ())
        rows = self._db.execute(
            f"SELECT * FROM runs {where} ORDER BY {self._db.runs_order}", params
        )
        return [RunInfo(**{**dict(row), "config": loads(row["config"])}) for row in rows]

    def run(self, run_id: str | None = None) -> RunInfo:
        """One run by id; the latest when ``run_id`` is None."""
        runs = self.runs()
        if not runs:
            raise StoreError(f"{self.name}: no runs")
        if run_id is None:
            return runs[-1]
        for run in runs:
            if run.id == run_id:
                return run
        known = ", ".join(r.id for r in runs)
        raise StoreError(f"{self.name}: no run {run_id!r}; runs: {known}")

    def builds(self) -> list[str]:
        """The builds of the store's runs, in the order their first runs started."""
        return list(dict.fromkeys(r.build for r in self.runs() if r.build is not None))

    def build(self, build: str) -> list[RunInfo]:
        """The runs of ``build``, oldest first; :class:`StoreError` if it has none."""
        runs = self.runs(build=build)
        if not runs:
            known = ", ".join(self.builds()) or "none"
            raise StoreError(f"{self.name}: no runs of build {build!r}; builds: {known}")
        return runs

    # -- reading: records in the shape they were written --

    def requests(self, run_id: str) -> list[dict[str, Any]]:
        return [schema.request_of(row) for row in self._rows("requests", run_id)]

    def alerts(self, run_id: str) -> list[dict[str, Any]]:
        return [schema.alert_of(row) for row in self._rows("alerts", run_id)]

    def errors(self, run_id: str) -> list[dict[str, Any]]:
        return [schema.error_of(row) for row in self._rows("errors", run_id)]

    def measurements(self, run_id: str) -> list[dict[str, Any]]:
        return [schema.measurement_of(row) for row in self._rows("measurements", run_id)]

    def tests(self, run_id: str) -> list[dict[str, Any]]:
        return [schema.test_of(row) for row in self._rows("tests", run_id)]

    def events(self, run_id: str) -> list[dict[str, Any]]:
        return [schema.event_of(row) for row in self._rows("events", run_id)]

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

    def _rows(self, table: str, run_id: str) -> list[Mapping[str, Any]]:
        return self._db.execute(f"SELECT * FROM {table} WHERE run_id = ? ORDER BY id", (run_id,))

    # -- writing --

    def writer(self, run_id: str) -> StoreWriter:
        """A writer of records into ``run_id`` on its own connection."""
        self.run(run_id)
        return StoreWriter(self.location, run_id, durable=self.durable)

    def insert(self, run_id: str, records: Sequence[dict[str, Any]]) -> None:
        """Insert ``records`` in one transaction: all of them, or none (a run of rows for the
        same table and columns, such as a batch of requests, in one ``executemany``). A record
        whose ``record_id`` the run already holds is skipped."""
        head = (run_id, _worker())
        db = self._db
        with db.transaction():
            for (table, columns), rows in groupby(map(to_row, records), key=_table_and_columns):
                db.executemany(insert_sql(table, columns), [(*head, *vs) for _, _, vs in rows])


def _table_and_columns(
    row: tuple[str, tuple[str, ...], tuple[Any, ...]],
) -> tuple[str, tuple[str, ...]]:
    return row[:2]


class StoreWriter(Closing):
    """Writes records of one run; each is committed before :meth:`write` returns, a batch of
    :meth:`write_many` in one transaction (how the rig's writer thread commits, off its loop).

    Thread-safe: it may be made on one thread and written from others.
    """

    def __init__(self, location: Location, run_id: str, *, durable: bool = False) -> None:
        self.location = location
        self.run_id = run_id
        self.durable = durable
        self._lock = threading.Lock()
        self._store: ResultsStore | None = ResultsStore(location, durable=durable)

    def write(self, record: dict[str, Any]) -> None:
        self.write_many([record])

    def write_many(self, records: Sequence[dict[str, Any]]) -> None:
        """Commit ``records`` in one transaction (all or none)."""
        with self._lock:
            if self._store is None:
                raise StoreError(f"{display(self.location)}: writer is closed")
            self._store.insert(self.run_id, records)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def open_run_writer(
    folder: Path,
    store: Location | None = None,
    *,
    bench: str | None = None,
    plan: str | None = None,
    config: Mapping[str, str] | None = None,
    key: str | None = None,
    build: str | None = None,
) -> StoreWriter:
    """A writer for the run in ``folder`` (or with ``key``), in ``store`` (default: the
    folder's own store file)."""
    location = store or folder / STORE_FILE
    with ResultsStore(location) as opened:
        run_id = opened.open_run(
            folder, bench=bench, plan=plan, config=config, key=key, build=build
        )
    return StoreWriter(location, run_id)


def checkpoint(path: Location) -> None:
    """Fold the store's write-ahead log into the file and empty it (``wal_checkpoint(TRUNCATE)``)
    so that the file alone holds every record; nothing if there is no such store. Called when
    every writer of a run has closed (the xdist controller, after its workers): SQLite does
    this itself only when the last connection closes, which another open connection (a
    reader, a second run on a shared store) or two workers closing together prevent."""
    if is_url(path) or not Path(path).is_file():
        return
    try:
        uri = f"{Path(path).resolve().as_uri()}?mode=rw"
        db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: {exc}") from exc
