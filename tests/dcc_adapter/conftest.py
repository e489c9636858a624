"""Fixtures for the DCC-tools adapter tests (docs/adapter-test.md)."""

from __future__ import annotations

import pytest
from adapter_tools import DccTools, find_tools


@pytest.fixture(scope="session")
def dcc_tools() -> DccTools:
    """Node.js with DCC's DUIS packages; skips without them (fails: RIG_REQUIRE_DUIS_TOOLS=1)."""
    return find_tools()
