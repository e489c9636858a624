"""Whether tests/lab can have a lab here, and what to do when it cannot (a plain module, so
that the tests of these rules import it; tests/lab/conftest.py uses it)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest


def lab_missing(reason: str) -> None:
    """Skip, or fail where the lab is required (``RIG_REQUIRE_LAB=1``, or ``$CI`` set)."""
    if os.environ.get("RIG_REQUIRE_LAB") == "1" or os.environ.get("CI"):
        pytest.fail(f"{reason}; RIG_REQUIRE_LAB=1 (or CI) requires the lab (.ci/lab.sh)")
    pytest.skip(reason)


def lab_tools() -> str | None:
    """What is missing to start a lab here, if anything."""
    if importlib.util.find_spec("labgrid") is None:
        return "labgrid is not installed (pip install -e '.[dev]')"
    if shutil.which("ser2net") is None and not Path("/usr/sbin/ser2net").is_file():
        return "ser2net is not installed (apt-get install ser2net)"
    return None
