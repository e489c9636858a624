"""Fixtures of the simulation tests: scenario files written for a test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def scenario_file(tmp_path: Path) -> Callable[..., Path]:
    """Writes ``text`` as a scenario file named ``name`` in the test's folder; its path."""

    def write(text: str, name: str = "scenario.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
