"""The originator counters physical meters have seen, kept beside the bench file between runs.

A meter accepts a command only if its originator counter is above the last one it accepted from
that remote party, and it remembers that for good (anti-replay: reference/gbcs.md §1.2,
domain.md §7.1). A rig that restarted at ``counter_start`` every run would be refused (alert
0x8F30) by a real meter from its second run on. So the last counter sent to each physical device
by each originator (a User, or the DCC for the use cases it originates) is kept in
``<bench>.counters.json`` beside the bench file or, for a lab whose benches are run from several
hosts, in the shared PostgreSQL database the bench file's ``[counters] store`` names
(docs/bench-files.md "Counters"), and the next run resumes above it. Emulated devices start
fresh every run and are not kept.

How they are kept (locked, merged by max, each live run's claim :data:`RESERVE` ahead kept
under its own id) is rig/util/kept_counters.py, shared with the ZigBee frame counters.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rig.config.bench import Bench
from rig.gbcs.eui import Eui64
from rig.results.backends import is_url
from rig.util.kept_counters import RESERVE, CounterStateError, KeptCounters

__all__ = ["RESERVE", "CounterState", "CounterStateError", "counters_location", "state_path"]


def state_path(bench_path: Path) -> Path:
    """Where a bench file's counters are kept by default: ``lab.toml`` → ``lab.counters.json``."""
    return bench_path.with_name(f"{bench_path.stem}.counters.json")


def counters_location(bench: Bench) -> str | Path:
    """Where a bench's counters are kept: its ``[counters] store`` (a PostgreSQL URL), else
    the file beside the bench file."""
    return bench.counters_store or state_path(bench.path)


class CounterState:
    """The kept originator counters of one bench (a file or a PostgreSQL URL), per
    (originator, device) EUI pair; ``host`` names this host in its claims (default: its
    host name)."""

    def __init__(self, location: str | Path, *, host: str | None = None) -> None:
        if is_url(location):
            from rig.results.counters_table import CountersTable  # psycopg: only for a lab

            self._kept = KeptCounters(CountersTable(str(location)), host=host)
        else:
            self._kept = KeptCounters(Path(location), host=host)

    @property
    def where(self) -> str:
        """The file or database (without its password), as messages name it."""
        return self._kept.where

    def resume_after(self, originator: Eui64, devices: Iterable[Eui64]) -> int:
        """The highest counter kept from ``originator`` to any of ``devices`` (0: none), live
        runs' claims included; CounterStateError if they cannot be read or written."""
        return self._kept.resume_after(str(originator), [str(d) for d in devices])

    def use(self, originator: Eui64, device: Eui64, counter: int) -> None:
        """Note ``counter`` sent from ``originator`` to ``device`` (claims ahead)."""
        self._kept.use(str(originator), str(device), counter)

    def close(self) -> None:
        """End the run: its claims give way to the counters it used."""
        self._kept.close()
