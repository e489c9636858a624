"""The rig plugin's side of labgrid (docs/lab.md): which place a session holds, and the run
folder's results of workers that do not share the controller's disk.

A plain module the plugin (rig/plugin/fixtures.py) calls, not a plugin itself.
"""

from __future__ import annotations

import os
import signal
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from rig.config.bench import Bench
    from rig.config.labgrid import LabgridConfig
    from rig.lab.place import HeldPlace

#: The place a session holds, in ``config.stash`` (None: the bench is not a place).
HELD_PLACE = pytest.StashKey["HeldPlace | None"]()
#: xdist's worker input key of the run folder (set by the controller for each worker).
RUN_DIR_INPUT = "rig_run_dir"
#: xdist's worker output key of a worker's results (its results.jsonl, zlib-compressed).
RESULTS_OUTPUT = "rig_results"


def lab_config(config: pytest.Config, bench: Bench) -> LabgridConfig | None:
    """The place or pool to hold: ``--lg-place`` / ``--lg-pool`` over the bench's ``[labgrid]``
    table (its coordinator kept), else None (leases on this host, rig/live/lease.py)."""
    from rig.config.labgrid import LabgridConfig, parse_tags

    place, pool = config.getoption("--lg-place"), config.getoption("--lg-pool")
    base = bench.labgrid or LabgridConfig()
    if place is not None:
        return replace(base, place=place, tags={})
    if pool is not None:
        return replace(base, place=None, tags=parse_tags(pool))
    return bench.labgrid


def check_lab_options(config: pytest.Config) -> None:
    """A bad ``--lg-pool`` or both options: one usage error before any test runs."""
    from rig.config.labgrid import parse_tags

    place, pool = config.getoption("--lg-place"), config.getoption("--lg-pool")
    if place is not None and pool is not None:
        raise pytest.UsageError("--lg-place and --lg-pool: give one (a place, or a pool)")
    if pool is not None:
        try:
            parse_tags(pool)
        except ValueError as exc:
            raise pytest.UsageError(f"--lg-pool: {exc}") from None
    if (place or pool) and len(config.getoption("--bench") or ()) > 1:
        raise pytest.UsageError("--lg-place/--lg-pool take one --bench (the place's bench file)")


@contextmanager
def bench_on_held_place(
    config: pytest.Config, bench: Bench, lab: LabgridConfig, worker: str | None, timeout_s: float
) -> Iterator[Bench]:
    """Hold a place for the session and yield the bench on it; the place is released when the
    session ends, fails, or is sent SIGTERM (and at exit: rig/lab/place.py)."""
    from rig.config.bench import BenchError
    from rig.lab.mapping import bench_on_place
    from rig.lab.place import PlaceError, hold_place, holder_name

    with _ReleaseOnSigterm() as on_sigterm:
        try:
            held = hold_place(lab, holder_name(worker), timeout_s, stop=on_sigterm.requested)
            on_sigterm.holding(held)
        except PlaceError as exc:
            pytest.exit(f"labgrid: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
        config.stash[HELD_PLACE] = held
        try:
            try:
                on_place = bench_on_place(bench, held.name, held.resources)
            except BenchError as exc:
                pytest.exit(f"labgrid: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
            yield on_place
        finally:
            held.release()


class _ReleaseOnSigterm:
    """While entered: SIGTERM releases the held place, then ends the process as SIGTERM would
    have. One that comes while the place is still being reserved stops the wait (the
    reservation is cancelled); one during its acquisition is acted on once it is held. Not the
    main thread: the ``finally`` and :mod:`atexit` release it."""

    def __init__(self) -> None:
        self._held: HeldPlace | None = None
        self._pending = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> _ReleaseOnSigterm:
        try:
            self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)
            self._installed = True
        except ValueError:
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)

    def requested(self) -> bool:
        """Whether SIGTERM came before the place was held."""
        return self._pending

    def holding(self, held: HeldPlace) -> None:
        self._held = held
        if self._pending:
            self._on_sigterm(signal.SIGTERM, None)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        if self._held is None:
            self._pending = True
            return
        self._held.release()
        signal.signal(signal.SIGTERM, self._previous)
        self._installed = False
        if callable(self._previous):
            self._previous(signum, frame)
        else:
            os.kill(os.getpid(), signal.SIGTERM)


def worker_results(run_dir: Path) -> bytes | None:
    """A worker's results.jsonl for the controller (compressed), if it wrote any."""
    from rig.results.jsonl import RESULTS_FILE

    path = run_dir / RESULTS_FILE
    return zlib.compress(path.read_bytes()) if path.is_file() else None


def keep_worker_results(run_dir: Path, worker: str, data: bytes | None) -> Path | None:
    """On the controller: a worker's results in ``run_dir/<worker>/`` unless already there
    (the worker shares this disk); the file written, if any."""
    from rig.results.jsonl import RESULTS_FILE

    path = run_dir / worker / RESULTS_FILE
    if data is None or path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zlib.decompress(data))
    return path
