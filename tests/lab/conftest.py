"""The lab tests/lab runs on: CI's (``.ci/lab.sh`` started it: ``$RIG_LAB_DIR``), else one this
session starts on this host with the same code (rig/lab/local.py) if labgrid and ser2net are
installed. Without either: skipped locally, FAILED under ``RIG_REQUIRE_LAB=1`` or in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_env import lab_missing, lab_tools  # tests/lab/lab_env.py

from rig.lab.local import STATE_FILE, LocalLab


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
def lab_store(tmp_path: Path) -> str:
    """Where the runs' results are stored: ``$RIG_LAB_STORE`` (a PostgreSQL URL, once the
    shared store is merged), else a SQLite file of the test's own."""
    return os.environ.get("RIG_LAB_STORE") or str(tmp_path / "history.sqlite")
