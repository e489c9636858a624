"""Counters that must only grow across runs, kept in a JSON file (anti-replay state).

A receiver that remembers the last counter it accepted refuses anything not above it, for good:
a GB meter its GBCS originator counters (rig/live/counter_state.py), a ZigBee node the NWK and
APS frame counters of each sender (rig/zigbee/counters.py). A sender that restarted from its
first counter every run would be refused from its second run on, so the last counter it used
is kept here per ``(owner, name)`` pair of strings (the owner's EUI text, and what it counts).

The file is written atomically (a temporary file renamed over it) under an ``flock`` on
``<file>.lock``, and merged, never overwritten: concurrent runs and pytest-xdist workers sharing
one file never lower a counter. To keep the loop's work small a user claims :data:`RESERVE`
counters ahead in one write; at the end of the run it lowers its own claim to what it used
(unless another run raised it meanwhile).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

#: Counters claimed per write: a run that dies unannounced skips at most this many (harmless:
#: a meter needs counters to grow, not to be consecutive). [ASSUMED]
RESERVE = 1024
#: The file's format version.
VERSION = 1

_Key = tuple[str, str]  # (owner, name): e.g. (originator, device) as EUI text
#: Counters kept in a process's memory instead of a file (:class:`MemoryCounters`).
CounterStore = dict[_Key, int]


class CounterStateError(OSError):
    """The counters file cannot be read or written; the message names it."""


class KeptCounters:
    """The kept counters of one file (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")
        #: Per (owner, name): the highest counter used this run, and the claim on file.
        self._used: dict[_Key, int] = {}
        self._claimed: dict[_Key, int] = {}

    def resume_after(self, owner: str, names: Iterable[str]) -> int:
        """The highest counter on file of ``owner`` under any of ``names`` (0: none).
        Checks the file can be written too: a run must not send counters it cannot keep."""
        with self._locked() as kept:
            self._save(kept)
        return max((kept.get((owner, name), 0) for name in names), default=0)

    def use(self, owner: str, name: str, counter: int) -> None:
        """Note ``counter`` used by ``owner`` under ``name``; past the claim on file, claim
        :data:`RESERVE` more first (a write)."""
        key = (owner, name)
        if counter > self._used.get(key, 0):
            self._used[key] = counter
        if counter > self._claimed.get(key, 0):
            claim = counter + RESERVE
            with self._locked() as kept:
                kept[key] = max(kept.get(key, 0), claim)
                self._save(kept)
            self._claimed[key] = claim

    def read(self, owner: str) -> dict[str, int]:
        """Every counter on file of ``owner``, by name."""
        with self._locked() as kept:
            return {name: counter for (who, name), counter in kept.items() if who == owner}

    def keep(self, owner: str, counters: dict[str, int]) -> None:
        """Write ``counters`` of ``owner`` exactly (no claim ahead: what a receiver accepted),
        never lowering one on file."""
        with self._locked() as kept:
            for name, counter in counters.items():
                kept[(owner, name)] = max(kept.get((owner, name), 0), counter)
            self._save(kept)

    def close(self) -> None:
        """Lower this run's claims to the counters it used (where nobody raised them since)."""
        if not self._claimed:
            return
        with self._locked() as kept:
            for key, claim in self._claimed.items():
                if kept.get(key) == claim:
                    kept[key] = self._used[key]
            self._save(kept)
        self._claimed.clear()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[_Key, int]]:
        """The counters on file, read (and to be saved) under the lock."""
        try:
            with open(self._lock_path, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                yield self._read()
        except CounterStateError:
            raise
        except OSError as exc:
            raise CounterStateError(f"{self.path}: cannot keep counters there: {exc}") from exc

    def _read(self) -> dict[_Key, int]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise CounterStateError(f"{self.path}: not a counters file ({exc})") from None
        try:
            return {
                (owner, name): int(counter)
                for owner, names in data["counters"].items()
                for name, counter in names.items()
            }
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise CounterStateError(f"{self.path}: not a counters file ({exc!r})") from None

    def _save(self, kept: dict[_Key, int]) -> None:
        nested: dict[str, dict[str, int]] = {}
        for (owner, name), counter in sorted(kept.items()):
            nested.setdefault(owner, {})[name] = counter
        text = _text(nested)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


class MemoryCounters(KeptCounters):
    """Kept counters held in ``store``, a process's memory, not a file: for what lives and dies
    with its process (an emulated meter: its NVM is the emulator's memory, and a power cycle
    boots a new node in the same process). The same claims and merging as on file."""

    def __init__(self, store: CounterStore) -> None:
        super().__init__(Path("<memory>"))
        self._store = store

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[_Key, int]]:
        yield dict(self._store)

    def _save(self, kept: dict[_Key, int]) -> None:
        self._store.clear()
        self._store.update(kept)


def kept_counters(where: Path | CounterStore) -> KeptCounters:
    """The kept counters of a file, or of a store in memory."""
    return KeptCounters(where) if isinstance(where, Path) else MemoryCounters(where)


def _text(nested: dict[str, dict[str, int]]) -> str:
    """The file's JSON, one owner a line: readable, and made by json's C encoder (``indent``
    would take its pure-Python one, a third of a write's CPU)."""
    owners = ",\n".join(f"  {json.dumps(o)}: {json.dumps(c)}" for o, c in nested.items())
    return f'{{"version": {VERSION}, "counters": {{\n{owners}\n}}}}\n'
