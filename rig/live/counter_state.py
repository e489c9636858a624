"""The originator counters physical meters have seen, kept beside the bench file between runs.

A meter accepts a command only if its originator counter is above the last one it accepted from
that remote party, and it remembers that for good (anti-replay: reference/gbcs.md §1.2,
domain.md §7.1). A rig that restarted at ``counter_start`` every run would be refused (alert
0x8F30) by a real meter from its second run on. So the last counter sent to each physical device
by each originator (a User, or the DCC for the use cases it originates) is kept in
``<bench>.counters.json`` beside the bench file, and the next run resumes above it
(docs/bench-files.md "Counters"). Emulated devices start fresh every run and are not kept.

The file is written atomically (a temporary file renamed over it) under an ``flock`` on
``<bench>.counters.json.lock``, and merged, never overwritten: concurrent runs and pytest-xdist
workers sharing one bench file never lower a counter. To keep the loop's work small the rig
claims :data:`RESERVE` counters ahead in one write; at the end of the run it lowers its own
claim to what it used (unless another run raised it meanwhile).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from rig.gbcs.eui import Eui64

#: Counters claimed per write: a run that dies unannounced skips at most this many (harmless:
#: a meter needs counters to grow, not to be consecutive). [ASSUMED]
RESERVE = 1024
#: The file's format version.
VERSION = 1

_Key = tuple[str, str]  # (originator, device) as EUI text


def state_path(bench_path: Path) -> Path:
    """Where a bench file's counters are kept: ``lab.toml`` → ``lab.counters.json``."""
    return bench_path.with_name(f"{bench_path.stem}.counters.json")


class CounterStateError(OSError):
    """The counters file cannot be read or written; the message names it."""


class CounterState:
    """The kept counters of one bench file (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")
        #: Per (originator, device): the highest counter used this run, and the claim on file.
        self._used: dict[_Key, int] = {}
        self._claimed: dict[_Key, int] = {}

    def resume_after(self, originator: Eui64, devices: Iterable[Eui64]) -> int:
        """The highest counter on file from ``originator`` to any of ``devices`` (0: none).
        Checks the file can be written too: a run must not send counters it cannot keep."""
        with self._locked() as kept:
            self._save(kept)
        return max((kept.get((str(originator), str(d)), 0) for d in devices), default=0)

    def use(self, originator: Eui64, device: Eui64, counter: int) -> None:
        """Note ``counter`` sent from ``originator`` to ``device``; past the claim on file,
        claim :data:`RESERVE` more first (a write)."""
        key = (str(originator), str(device))
        if counter > self._used.get(key, 0):
            self._used[key] = counter
        if counter > self._claimed.get(key, 0):
            claim = counter + RESERVE
            with self._locked() as kept:
                kept[key] = max(kept.get(key, 0), claim)
                self._save(kept)
            self._claimed[key] = claim

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
                (originator, device): int(counter)
                for originator, devices in data["counters"].items()
                for device, counter in devices.items()
            }
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise CounterStateError(f"{self.path}: not a counters file ({exc!r})") from None

    def _save(self, kept: dict[_Key, int]) -> None:
        nested: dict[str, dict[str, int]] = {}
        for (originator, device), counter in sorted(kept.items()):
            nested.setdefault(originator, {})[device] = counter
        text = json.dumps({"version": VERSION, "counters": nested}, indent=2) + "\n"
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
