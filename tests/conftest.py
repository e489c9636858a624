"""Fixtures shared by all test folders (``tests/`` is on the import path because of this file)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pg_cluster
import pytest
from hypothesis import settings
from shared_dir import SHARED_DIR, require_shared

# Speed is measured by benchmarks, not by tests: on a loaded machine (CI, xdist) no example may
# fail for taking longer than hypothesis's default 200 ms.
settings.register_profile("rig", deadline=None)
settings.load_profile("rig")

# The pytest runs the tests start (pytester's in-process ones, and subprocesses) leave labgrid's
# own plugin out, as pyproject.toml's addopts do for this one.
if "no:labgrid" not in os.environ.get("PYTEST_ADDOPTS", ""):
    os.environ["PYTEST_ADDOPTS"] = f"{os.environ.get('PYTEST_ADDOPTS', '')} -p no:labgrid".strip()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared``, or skip (fail under RIG_REQUIRE_SHARED=1) when it is missing."""
    return require_shared(SHARED_DIR)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server's URL: ``$RIG_TEST_POSTGRES_URL``, or a private throw-away cluster;
    skips without either (fails under ``RIG_REQUIRE_POSTGRES=1``): tests/pg_cluster.py."""
    url = os.environ.get(pg_cluster.URL_ENV)
    if url:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            pg_cluster.unavailable("psycopg is not installed")
        yield url
        return
    cluster = pg_cluster.private_cluster()
    try:
        yield cluster.url
    finally:
        cluster.destroy()


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL store of this test's own (a fresh schema of the server)."""
    url, schema = pg_cluster.schema_url(postgres_server)
    yield url
    pg_cluster.drop_schema(postgres_server, schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh results store of each backend: a SQLite file, a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    return str(request.getfixturevalue("pg_url"))
