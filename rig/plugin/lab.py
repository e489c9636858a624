"""The rig plugin's side of labgrid (docs/lab.md): which place a session holds, and the run
folder's results of workers that do not share the controller's disk.

A plain module the plugin (rig/plugin/fixtures.py) calls, not a plugin itself.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from rig.config.bench import Bench
    from rig.config.labgrid import LabgridConfig
    from rig.lab.place import HeldPlace  # noqa: F401  (HELD_PLACE's type)

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
    session ends, fails, or is sent SIGTERM (and at exit: rig/lab/hold.py)."""
    from rig.config.bench import BenchError
    from rig.lab.hold import holding
    from rig.lab.place import PlaceError, holder_name

    try:
        with holding(bench, lab, holder_name(worker), timeout_s) as (held, on_place):
            config.stash[HELD_PLACE] = held
            yield on_place
    except (PlaceError, BenchError) as exc:
        pytest.exit(f"labgrid: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)


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
