"""The originator counters physical meters have seen, kept beside the bench file between runs.

A meter accepts a command only if its originator counter is above the last one it accepted from
that remote party, and it remembers that for good (anti-replay: reference/gbcs.md §1.2,
domain.md §7.1). A rig that restarted at ``counter_start`` every run would be refused (alert
0x8F30) by a real meter from its second run on. So the last counter sent to each physical device
by each originator (a User, or the DCC for the use cases it originates) is kept in
``<bench>.counters.json`` beside the bench file, and the next run resumes above it
(docs/bench-files.md "Counters"). Emulated devices start fresh every run and are not kept.

How the file is kept (atomic, locked, merged, claimed :data:`RESERVE` ahead) is
rig/util/kept_counters.py, shared with the ZigBee frame counters.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rig.gbcs.eui import Eui64
from rig.util.kept_counters import RESERVE, CounterStateError, KeptCounters

__all__ = ["RESERVE", "CounterState", "CounterStateError", "state_path"]


def state_path(bench_path: Path) -> Path:
    """Where a bench file's counters are kept: ``lab.toml`` → ``lab.counters.json``."""
    return bench_path.with_name(f"{bench_path.stem}.counters.json")


class CounterState:
    """The kept originator counters of one bench file, per (originator, device) EUI pair."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._kept = KeptCounters(path)

    def resume_after(self, originator: Eui64, devices: Iterable[Eui64]) -> int:
        """The highest counter on file from ``originator`` to any of ``devices`` (0: none);
        CounterStateError if the file cannot be read or written."""
        return self._kept.resume_after(str(originator), [str(d) for d in devices])

    def use(self, originator: Eui64, device: Eui64, counter: int) -> None:
        """Note ``counter`` sent from ``originator`` to ``device`` (claims ahead on file)."""
        self._kept.use(str(originator), str(device), counter)

    def close(self) -> None:
        """Lower this run's claims to the counters it used."""
        self._kept.close()
