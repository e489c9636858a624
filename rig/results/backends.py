"""The two places a results store lives: a SQLite file (the default) or a PostgreSQL database.

A store is named by a *location*: a file path, or a ``postgresql://`` URL (libpq's URI form,
``postgresql://user@host:5432/rig``). Both backends give the store
(:class:`rig.results.store.ResultsStore`) the same small interface, :class:`Connection`: run a
statement, many rows of one, a transaction, and the schema version, so the store's SQL and
record mapping (:mod:`rig.results.schema`) are written once.

SQLite keeps its schema version in ``user_version``; PostgreSQL in a one-row table,
``rig_schema``. PostgreSQL migrations and run creation are serialised between hosts by the
database itself (an advisory lock, a table lock), inside the transaction that does them.
"""

from __future__ import annotations

import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from rig.results.schema import POSTGRESQL, SQLITE, Dialect

#: How long a SQLite writer waits for another process's lock before giving up.
BUSY_TIMEOUT_S = 30.0
#: Pause between attempts to switch a fresh file to WAL while another process holds it.
WAL_RETRY_S = 0.01
#: How long opening a PostgreSQL store waits for the server to answer. [ASSUMED] a lab's
#: database on its LAN answers in milliseconds; a writer that cannot reach it within this keeps
#: its records locally (rig.results.resilient).
CONNECT_TIMEOUT_S = 5
#: The advisory lock key that serialises schema migrations of a PostgreSQL store (any constant
#: the rig owns: "rigs" in ASCII).
_MIGRATION_LOCK = 0x72696773

#: The schemes of a PostgreSQL location.
URL_SCHEMES = ("postgresql://", "postgres://")


class StoreError(RuntimeError):
    """A store that cannot be opened or read; names the file or database."""


class StoreUnavailable(StoreError):
    """The store's server cannot be reached, or the connection to it was lost."""


def is_url(location: str | Path) -> bool:
    """Whether ``location`` names a PostgreSQL database rather than a file."""
    return str(location).startswith(URL_SCHEMES)


def display(location: str | Path) -> str:
    """A location as it may be printed: a URL without its password."""
    text = str(location)
    if not is_url(text) or "@" not in text:
        return text
    scheme, rest = text.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"


class Connection(ABC):
    """One connection to a store, in autocommit mode outside :meth:`transaction`."""

    dialect: Dialect
    #: Orders a store's runs: the time each started, then the order they were added.
    runs_order: str

    def __init__(self, location: str | Path) -> None:
        self.location = location

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Mapping[str, Any]]:
        """Run one statement (``?`` marks); the rows it returns."""

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement (``?`` marks) for each of ``rows``."""

    @abstractmethod
    def transaction(self, *, lock_runs: bool = False) -> AbstractContextManager[None]:
        """One write transaction: all of it or none; ``lock_runs`` keeps other writers from
        adding a run until it ends."""

    @abstractmethod
    def version(self) -> int:
        """The schema version (0: an empty store), inside the migration transaction; the
        PostgreSQL backend takes the migration lock here."""

    @abstractmethod
    def set_version(self, version: int) -> None: ...

    @abstractmethod
    def close(self) -> None: ...


class SqliteConnection(Connection):
    """A SQLite file in WAL mode with a busy timeout: several processes may write it."""

    dialect = SQLITE
    runs_order = "started, rowid"

    def __init__(self, path: Path, *, durable: bool = False) -> None:
        super().__init__(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A writer is made on one thread and used on another (the rig's loop thread); its lock
        # keeps the use serial.
        db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        self._db = db
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        self._wal()
        # WAL + NORMAL: a commit survives a crash of the process; FULL also a power cut.
        db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        db.execute("PRAGMA foreign_keys = ON")

    def _wal(self) -> None:
        """Switch to WAL. The switch needs an exclusive lock, and SQLite answers "database is
        locked" at once, without its busy handler, while another process is creating or
        switching the same fresh file (xdist workers starting together): retry until the busy
        timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(WAL_RETRY_S)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Mapping[str, Any]]:
        return self._db.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    @contextmanager
    def transaction(self, *, lock_runs: bool = False) -> Iterator[None]:
        # The write lock up front (no lock upgrade deadlocks); it covers the runs table too.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def set_version(self, version: int) -> None:
        self._db.execute(f"PRAGMA user_version = {int(version)}")

    def close(self) -> None:
        self._db.close()


class PostgresConnection(Connection):
    """A PostgreSQL database through psycopg 3; errors become :class:`StoreError`, a lost or
    refused connection :class:`StoreUnavailable`."""

    dialect = POSTGRESQL
    runs_order = "started, id"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        try:
            import psycopg
            from psycopg.rows import dict_row
        except ImportError as exc:
            raise StoreError(
                f"{display(url)}: a PostgreSQL store needs psycopg "
                "(pip install 'gb-smart-rig[postgres]')"
            ) from exc
        self._psycopg = psycopg
        with self._errors():
            self._db = psycopg.connect(
                url, autocommit=True, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT_S
            )

    @contextmanager
    def _errors(self) -> Iterator[None]:
        psycopg = self._psycopg
        try:
            yield
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise StoreUnavailable(f"{display(self.location)}: {_first_line(exc)}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"{display(self.location)}: {_first_line(exc)}") from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Mapping[str, Any]]:
        with self._errors(), self._db.cursor() as cursor:
            cursor.execute(self.dialect.sql(sql), params)
            return list(cursor.fetchall()) if cursor.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._errors(), self._db.cursor() as cursor:
            cursor.executemany(self.dialect.sql(sql), rows)

    @contextmanager
    def transaction(self, *, lock_runs: bool = False) -> Iterator[None]:
        with self._errors(), self._db.transaction():
            if lock_runs:
                self._db.execute("LOCK TABLE runs IN SHARE ROW EXCLUSIVE MODE")
            yield

    def version(self) -> int:
        # Every host opening a fresh database migrates it at once: one at a time.
        self.execute(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        self.execute("CREATE TABLE IF NOT EXISTS rig_schema (version INTEGER NOT NULL)")
        rows = self.execute("SELECT version FROM rig_schema")
        if not rows:
            self.execute("INSERT INTO rig_schema (version) VALUES (0)")
            return 0
        return int(rows[0]["version"])

    def set_version(self, version: int) -> None:
        self.execute("UPDATE rig_schema SET version = ?", (version,))

    def close(self) -> None:
        self._db.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def connect(location: str | Path, *, durable: bool = False) -> Connection:
    """A connection to the store at ``location`` (a file, or a ``postgresql://`` URL)."""
    if is_url(location):
        return PostgresConnection(str(location))
    try:
        return SqliteConnection(Path(location), durable=durable)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{location}: {exc}") from exc
