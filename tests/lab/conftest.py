"""The lab tests/lab runs on: CI's (``.ci/lab.sh`` started it: ``$RIG_LAB_DIR``), else one this
session starts on this host with the same code (rig/lab/local.py) if labgrid and ser2net are
installed. Without either: skipped locally, FAILED under ``RIG_REQUIRE_LAB=1`` or in CI."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_env import lab_missing, lab_tools  # tests/lab/lab_env.py

from rig.lab.local import STATE_FILE, LocalLab

#: How long a lab test waits for another's turn to end (the pool test takes about 90 s).
LAB_TURN_TIMEOUT_S = 600.0


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLab]:
    """A coordinator and two bench hosts exporting the embedded emulated bench, places
    ``rig_ci_1`` and ``rig_ci_2`` tagged ``pool=rig_ci``."""
    folder = os.environ.get("RIG_LAB_DIR")
    if folder:
        if not (Path(folder) / STATE_FILE).is_file():
            lab_missing(f"RIG_LAB_DIR={folder} holds no lab ({STATE_FILE})")
        yield LocalLab.attach(Path(folder))
        return
    missing = lab_tools()
    if missing:
        lab_missing(missing)
    started = LocalLab.start(tmp_path_factory.mktemp("lab"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def lab_store(pg_url: str) -> str:
    """Where the runs' results are stored: the lab's shared history, a PostgreSQL store (a fresh
    schema of the test server, tests/conftest.py; CI's comes from .ci/postgres.sh), as issue 16's
    CI asks."""
    return pg_url


@pytest.fixture(autouse=True)
def lab_turn(request: pytest.FixtureRequest) -> Iterator[None]:
    """One lab test at a time on a lab (xdist workers share CI's): each holds the lab folder's
    lease (rig/live/lease.py) while it uses the places."""
    if "lab" not in request.fixturenames:
        yield
        return
    from rig.live.lease import Lease, this_holder

    folder = Path(request.getfixturevalue("lab").folder)
    deadline = time.monotonic() + LAB_TURN_TIMEOUT_S
    while (lease := Lease.try_acquire(folder, "tests-lab", this_holder())) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"another test held the lab in {folder} for {LAB_TURN_TIMEOUT_S} s")
        time.sleep(0.2)
    with lease:
        yield
