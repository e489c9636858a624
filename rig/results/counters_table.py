"""Kept counters in a shared PostgreSQL database: every bench host of a lab resumes above every
other (docs/bench-files.md "Counters"; the rules are rig/util/kept_counters.py's).

One row per ``(owner, name)`` key — for GBCS, (originator, device) EUIs — in ``rig_counters``:
``used`` (the highest counter a finished run used) and ``claims`` (JSON: each live run's claim by
run id). A change runs in one transaction that first makes the rows it needs
(``INSERT … ON CONFLICT DO NOTHING``: two hosts making the same row wait for each other), then
locks them (``SELECT … FOR UPDATE``), and writes them back with ``used`` raised by
``GREATEST``: two hosts never interleave on a key, and nothing lowers ``used``. Counters are
``NUMERIC(20)``: GBCS originator counters are 64-bit unsigned (reference/gbcs.md §1.2).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager

from rig.results.backends import PostgresConnection, StoreError, StoreUnavailable, display
from rig.util.kept_counters import Backend, CounterStateError, Entry, Key

_TABLE = """CREATE TABLE IF NOT EXISTS rig_counters (
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    used NUMERIC(20),
    claims JSONB NOT NULL DEFAULT '{}',
    PRIMARY KEY (owner, name)
)"""

#: The advisory lock that serialises making the table ("ctrs" in ASCII).
_TABLE_LOCK = 0x63747273


class CountersTable(Backend):
    """The ``rig_counters`` table of the database at ``url`` (made if missing); one connection,
    opened at first use and opened again once if the server dropped it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = display(url)
        self._db: PostgresConnection | None = None

    def _connection(self) -> PostgresConnection:
        if self._db is None:
            db = PostgresConnection(self.url)
            with db.transaction():  # hosts starting together: one makes the table
                db.execute("SELECT pg_advisory_xact_lock(?)", (_TABLE_LOCK,))
                db.execute(_TABLE)
            self._db = db
        return self._db

    @contextmanager
    def entries(
        self, owner: str, names: Iterable[str] | None, *, write: bool
    ) -> Iterator[dict[Key, Entry]]:
        wanted = None if names is None else list(names)
        try:
            with self._transaction() as db:
                entries = self._lock(db, owner, wanted, write=write)
                yield entries
                if write:
                    self._save(db, entries)
        except StoreError as exc:
            if isinstance(exc, StoreUnavailable):
                self.close()
            why = str(exc).removeprefix(f"{self.where}: ")
            raise CounterStateError(f"{self.where}: cannot keep counters there: {why}") from None

    @contextmanager
    def _transaction(self) -> Iterator[PostgresConnection]:
        """A transaction; a connection the server dropped since the last one is opened again
        (once: a server that cannot be reached is an error)."""
        with ExitStack() as stack:
            try:
                db = self._connection()
                stack.enter_context(db.transaction())
            except StoreUnavailable:
                self.close()
                db = self._connection()
                stack.enter_context(db.transaction())
            yield db

    def _lock(
        self, db: PostgresConnection, owner: str, names: list[str] | None, *, write: bool
    ) -> dict[Key, Entry]:
        if names is not None and write:
            db.executemany(
                "INSERT INTO rig_counters (owner, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(owner, name) for name in names],
            )
        lock = " FOR UPDATE" if write else ""
        if names is None:
            rows = db.execute(
                f"SELECT name, used, claims FROM rig_counters WHERE owner = ?{lock}", (owner,)
            )
        else:
            rows = db.execute(
                "SELECT name, used, claims FROM rig_counters "
                f"WHERE owner = ? AND name = ANY(?){lock}",
                (owner, names),
            )
        entries = {
            (owner, row["name"]): Entry(
                None if row["used"] is None else int(row["used"]),
                {run: int(claim) for run, claim in row["claims"].items()},
            )
            for row in rows
        }
        for name in names or ():
            entries.setdefault((owner, name), Entry())
        return entries

    @staticmethod
    def _save(db: PostgresConnection, entries: dict[Key, Entry]) -> None:
        db.executemany(
            "UPDATE rig_counters SET used = GREATEST(used, ?), claims = ?::jsonb "
            "WHERE owner = ? AND name = ?",
            [
                (entry.used, json.dumps(entry.claims), owner, name)
                for (owner, name), entry in entries.items()
            ],
        )

    def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            db.close()
