"""Fixtures shared by all test folders (``tests/`` is on the import path because of this file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings
from shared_dir import SHARED_DIR, require_shared

# Speed is measured by benchmarks, not by tests: on a loaded machine (CI, xdist) no example may
# fail for taking longer than hypothesis's default 200 ms.
settings.register_profile("rig", deadline=None)
settings.load_profile("rig")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared``, or skip (fail under RIG_REQUIRE_SHARED=1) when it is missing."""
    return require_shared(SHARED_DIR)
