"""Fixtures shared by all test folders (``tests/`` is on the import path because of this file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_dir import SHARED_DIR, require_shared


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared``, or skip (fail under RIG_REQUIRE_SHARED=1) when it is missing."""
    return require_shared(SHARED_DIR)
