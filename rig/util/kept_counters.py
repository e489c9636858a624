"""Counters that must only grow across runs, kept in a JSON file or a shared PostgreSQL table.

A receiver that remembers the last counter it accepted refuses anything not above it, for good:
a GB meter its GBCS originator counters (rig/live/counter_state.py), a ZigBee node the NWK and
APS frame counters of each sender (rig/zigbee/counters.py). A sender that restarted from its
first counter every run would be refused from its second run on, so the counters are kept per
``(owner, name)`` pair of strings (the owner's EUI text, and what it counts) as an
:class:`Entry`:

- ``used``: the highest counter any finished run used (raised by max, never lowered);
- ``claims``: per live run (its :func:`run_id`: host, pid, process start, instance), the counter
  it claimed ahead. A run claims :data:`RESERVE` counters past what it sends in one write, so
  the loop's work stays small and a run killed unannounced never had a counter on the wire
  above what is kept.

The next run resumes above ``used`` and every claim (:meth:`Entry.resume`). A run that ends
removes only its own claim and raises ``used`` to what it sent: no run ever lowers the counters
another live run relies on. A killed run's claim stays (resuming above it is safe) until a later
run on the same host sees that process gone and folds the claim into ``used``.

Where they are kept (a :class:`Backend`): a JSON file (:class:`FileBackend`, the default beside
the bench file), written atomically (a temporary file renamed over it) under an ``flock`` on
``<file>.lock``; or, for a lab of several hosts, a table of a PostgreSQL database
(rig/results/counters_table.py), one row per key, changed in transactions that lock it. The
file's version 2 holds the claims; a version 1 file (counters only) is read as ``used``.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import socket
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: Counters claimed per write: a run that dies unannounced skips at most this many (harmless:
#: a meter needs counters to grow, not to be consecutive). [ASSUMED]
RESERVE = 1024
#: The file's format version (1: ``counters`` only; 2: ``counters`` are used, plus ``claims``).
VERSION = 2

Key = tuple[str, str]  # (owner, name): e.g. (originator, device) as EUI text

#: Instances made in this process: each is a run of its own.
_instances = itertools.count(1)


class CounterStateError(OSError):
    """The counters cannot be read or written; the message names the file or database."""


@dataclass
class Entry:
    """One key's kept counters: the highest ``used`` by finished runs (None: none kept, which
    a receiver's counter 0 is not), and each live run's claim by run id."""

    used: int | None = None
    claims: dict[str, int] = field(default_factory=dict)

    def resume(self) -> int:
        """The counter a new run must stay above."""
        return max([self.used or 0, *self.claims.values()])

    def raise_used(self, counter: int) -> None:
        """``used`` raised to ``counter`` (never lowered)."""
        self.used = counter if self.used is None else max(self.used, counter)

    def fold_dead(self, dead: Callable[[str], bool]) -> None:
        """Claims of runs that are gone become ``used`` (they may have used all of it)."""
        for run in [run for run in self.claims if dead(run)]:
            self.raise_used(self.claims.pop(run))

    def __bool__(self) -> bool:
        return self.used is not None or bool(self.claims)


#: Counters kept in a process's memory instead of a file (:class:`MemoryBackend`).
CounterStore = dict[Key, Entry]


def _start_ticks(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, /proc), None if unknown or gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def run_id(host: str | None = None) -> str:
    """A new run's id: ``HOST/PID/START/N`` (START: the process's start, so a reused pid is
    told apart; N: the instance in this process)."""
    pid = os.getpid()
    return f"{host or socket.gethostname()}/{pid}/{_start_ticks(pid) or 0}/{next(_instances)}"


def dead_on(host: str) -> Callable[[str], bool]:
    """Whether a run id names a run of ``host`` whose process is gone (its pid no longer
    exists, or is another process's); runs of other hosts are never judged."""

    def dead(run: str) -> bool:
        try:
            where, pid, start, _ = run.rsplit("/", 3)
            number = int(pid)
        except ValueError:
            return False
        if where != host:
            return False
        try:
            os.kill(number, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # another user's process: alive
        now = _start_ticks(number)
        return now is not None and start != "0" and now != start

    return dead


class Backend(ABC):
    """Where the entries are kept; :meth:`entries` yields them under a lock and saves them."""

    #: The file or database, as messages name it.
    where: str

    @abstractmethod
    def entries(
        self, owner: str, names: Iterable[str] | None, *, write: bool
    ) -> contextlib.AbstractContextManager[dict[Key, Entry]]:
        """The entries of ``owner`` under ``names`` (None: all of them; missing ones empty),
        locked against other runs; with ``write`` saved when the block ends without error."""

    def close(self) -> None:  # noqa: B027  (a file has nothing to close)
        """Let go of the connection, if any."""


class FileBackend(Backend):
    """A JSON file, rewritten atomically under an ``flock`` of ``<file>.lock``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self._lock_path = path.with_name(path.name + ".lock")
        # Written under the flock, so one temporary name serves every writer (one left by a
        # writer that died is truncated); the rename makes the content appear whole or not at all.
        self._temporary = path.with_name(f".{path.name}.tmp")

    @contextlib.contextmanager
    def entries(
        self, owner: str, names: Iterable[str] | None, *, write: bool
    ) -> Iterator[dict[Key, Entry]]:
        try:
            lock = os.open(self._lock_path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
                kept = self._read()
                if names is None:
                    yield {key: entry for key, entry in kept.items() if key[0] == owner}
                else:
                    yield {(owner, name): kept.setdefault((owner, name), Entry()) for name in names}
                if write:
                    self._save({key: entry for key, entry in kept.items() if entry})
            finally:
                os.close(lock)  # which lets go of the flock
        except CounterStateError:
            raise
        except OSError as exc:
            raise CounterStateError(f"{self.path}: cannot keep counters there: {exc}") from exc

    def _read(self) -> dict[Key, Entry]:
        try:
            with open(self.path, "rb") as file:
                data = json.loads(file.read())
        except FileNotFoundError:
            return {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise CounterStateError(f"{self.path}: not a counters file ({exc})") from None
        try:
            if data["version"] not in (1, VERSION):
                raise ValueError(f"version {data['version']!r}, this rig reads 1 and {VERSION}")
            kept = {
                (owner, name): Entry(int(used))
                for owner, names in data["counters"].items()
                for name, used in names.items()
            }
            for run, owners in data.get("claims", {}).items():
                for owner, names in owners.items():
                    for name, claim in names.items():
                        kept.setdefault((owner, name), Entry()).claims[run] = int(claim)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise CounterStateError(f"{self.path}: not a counters file ({exc!r})") from None
        return kept

    def _save(self, kept: dict[Key, Entry]) -> None:
        counters: dict[str, dict[str, int]] = {}
        claims: dict[str, dict[str, dict[str, int]]] = {}
        for (owner, name), entry in sorted(kept.items()):
            if entry.used is not None:
                counters.setdefault(owner, {})[name] = entry.used
            for run, claim in sorted(entry.claims.items()):
                claims.setdefault(run, {}).setdefault(owner, {})[name] = claim
        document = {"version": VERSION, "counters": counters, "claims": claims}
        text = _text(document).encode()
        temporary = self._temporary
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            try:
                left = memoryview(text)
                while left:
                    left = left[os.write(handle, left) :]
                os.fsync(handle)
            finally:
                os.close(handle)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


class MemoryBackend(Backend):
    """Entries held in ``store``, a process's memory, not a file: for what lives and dies with
    its process (an emulated meter: its NVM is the emulator's memory, and a power cycle boots a
    new node in the same process). The same claims and merging as on file."""

    where = "<memory>"

    def __init__(self, store: CounterStore) -> None:
        self._store = store

    @contextlib.contextmanager
    def entries(
        self, owner: str, names: Iterable[str] | None, *, write: bool
    ) -> Iterator[dict[Key, Entry]]:
        if names is None:
            yield {key: entry for key, entry in self._store.items() if key[0] == owner}
        else:
            yield {(owner, n): self._store.setdefault((owner, n), Entry()) for n in names}


def _text(document: dict[str, object]) -> str:
    """The file's JSON, one owner (or run) a line: readable, and made by json's C encoder
    (``indent`` would take its pure-Python one, a third of a write's CPU)."""
    sections = []
    for name, value in document.items():
        if isinstance(value, dict):
            lines = ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items())
            sections.append(
                f"  {json.dumps(name)}: {{\n{lines}\n  }}"
                if lines
                else f"  {json.dumps(name)}: {{}}"
            )
        else:
            sections.append(f"  {json.dumps(name)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(sections) + "\n}\n"


class KeptCounters:
    """The kept counters of one file (a path) or other :class:`Backend`, as one run uses them
    (see the module docstring); ``host`` names this host in run ids (default: its host name)."""

    def __init__(self, where: Path | Backend, *, host: str | None = None) -> None:
        self._backend = where if isinstance(where, Backend) else FileBackend(where)
        self.host = host or socket.gethostname()
        self.run = run_id(self.host)
        self._dead = dead_on(self.host)
        #: Per (owner, name): the highest counter used this run, and this run's claim on file.
        self._used: dict[Key, int] = {}
        self._claimed: dict[Key, int] = {}

    @property
    def where(self) -> str:
        """The file or database, as messages name it."""
        return self._backend.where

    def resume_after(self, owner: str, names: Iterable[str]) -> int:
        """The highest counter kept of ``owner`` under any of ``names`` (0: none), claims of
        live runs included; dead runs of this host are folded first. Checks the counters can
        be written too: a run must not send counters it cannot keep."""
        with self._backend.entries(owner, list(names), write=True) as entries:
            for entry in entries.values():
                entry.fold_dead(self._dead)
            return max((entry.resume() for entry in entries.values()), default=0)

    def use(self, owner: str, name: str, counter: int) -> int:
        """Note ``counter`` used by ``owner`` under ``name``; past this run's claim, claim
        :data:`RESERVE` more first (a write). Returns the claim: a caller may use counters up
        to it without calling again, as long as it calls with the last one before
        :meth:`close`."""
        key = (owner, name)
        if counter > self._used.get(key, 0):
            self._used[key] = counter
        claim = self._claimed.get(key, 0)
        if counter > claim:
            claim = counter + RESERVE
            with self._backend.entries(owner, [name], write=True) as entries:
                claims = entries[key].claims
                claims[self.run] = max(claims.get(self.run, 0), claim)
            self._claimed[key] = claim
        return claim

    def read(self, owner: str) -> dict[str, int]:
        """Every counter kept of ``owner`` (claims included), by name."""
        with self._backend.entries(owner, None, write=False) as entries:
            return {name: entry.resume() for (_, name), entry in entries.items() if entry}

    def keep(self, owner: str, counters: dict[str, int]) -> None:
        """Keep ``counters`` of ``owner`` as used, exactly (no claim ahead: what a receiver
        accepted), never lowering one."""
        with self._backend.entries(owner, list(counters), write=True) as entries:
            for (_, name), entry in entries.items():
                entry.raise_used(counters[name])

    def close(self) -> None:
        """End the run: its claims are removed and what it used is kept (raised by max)."""
        try:
            for owner in sorted({owner for owner, _ in self._claimed}):
                names = [name for who, name in self._claimed if who == owner]
                with self._backend.entries(owner, names, write=True) as entries:
                    for key, entry in entries.items():
                        entry.claims.pop(self.run, None)
                        entry.raise_used(self._used[key])
                        entry.fold_dead(self._dead)
            self._claimed.clear()
        finally:
            self._backend.close()


def kept_counters(where: Path | CounterStore) -> KeptCounters:
    """The kept counters of a file, or of a store in memory."""
    return KeptCounters(where if isinstance(where, Path) else MemoryBackend(where))
