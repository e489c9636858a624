"""Where ``../shared`` is for tests, and how tests that need it skip or fail.

``$RIG_SHARED_DIR`` (default ``<repo>/../shared``). A test needing a path under it skips when the
path is missing, unless ``RIG_REQUIRE_SHARED=1`` (CI): then it fails. A plain module (not a
conftest) so test helpers can import it; ``tests/conftest.py`` puts ``tests/`` on the path.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("RIG_SHARED_DIR") or REPO.parent / "shared")


def require_shared(path: Path) -> Path:
    """``path`` if it exists; else skip, or fail under ``RIG_REQUIRE_SHARED=1``."""
    if path.exists():
        return path
    reason = f"{path} not found (set RIG_SHARED_DIR)"
    if os.environ.get("RIG_REQUIRE_SHARED") == "1":
        pytest.fail(f"{reason}; RIG_REQUIRE_SHARED=1 requires it")
    pytest.skip(reason)
