"""A real PostgreSQL server for the store tests: the one CI names, or a throw-away cluster.

``RIG_TEST_POSTGRES_URL`` names a server to use (CI starts one: .ci/postgres.sh). Without it, a
private cluster is made with the PostgreSQL binaries if they are installed (Debian's
``postgresql`` package: /usr/lib/postgresql/<version>/bin), in a temporary folder, listening on
127.0.0.1 on a free port. PostgreSQL refuses to run as root: as root, its commands run as the
``postgres`` user (``runuser``). With neither, the tests skip, and fail under
``RIG_REQUIRE_POSTGRES=1`` (CI). Each test gets a schema of its own in that server
(:func:`schema_url`), so tests do not see each other's runs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

URL_ENV = "RIG_TEST_POSTGRES_URL"
REQUIRE_ENV = "RIG_REQUIRE_POSTGRES"
#: The account PostgreSQL's commands run as when the tests run as root.
PG_USER = "postgres"


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's binaries, if any."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).resolve().parent if on_path else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A private PostgreSQL cluster in a temporary folder: :meth:`start`, :meth:`stop` (also
    ``immediate``: the server killed, as in a crash), :meth:`destroy`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="rig-test-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://rig@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.root, PG_USER, PG_USER)
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "rig", "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: object) -> None:
        command = [str(self.bin / tool), *map(str, args)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", PG_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.root / "log"
            tail = log.read_text()[-2000:] if log.is_file() else ""
            raise RuntimeError(f"{tool} {' '.join(command[-1:])}: {done.stderr}{tail}")

    def start(self) -> None:
        # fsync off: a test server loses nothing to a killed server (the OS keeps the writes),
        # only to a power cut. Commits stay synchronous: a commit the store reported is kept.
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", self.data, "-l", self.root / "log", "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def unavailable(reason: str) -> None:
    """Skip (fail under ``RIG_REQUIRE_POSTGRES=1``) for want of a server."""
    message = f"no PostgreSQL server: {reason} (set {URL_ENV}, or install postgresql)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(message)
    pytest.skip(message)


def private_cluster() -> Cluster:
    """A started private cluster, or skip/fail (:func:`unavailable`)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed")
    found = pg_bin()
    if found is None:
        unavailable("no PostgreSQL binaries")
    assert found is not None
    cluster = Cluster(found)
    try:
        cluster.start()
    except BaseException:
        cluster.destroy()
        raise
    return cluster


def schema_url(server: str) -> tuple[str, str]:
    """A fresh schema in ``server`` and a URL whose tables go there (``search_path``)."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in server else "?"
    return f"{server}{joiner}options={quote(f'-csearch_path={schema}')}", schema


def drop_schema(server: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as db:
        db.execute(f"DROP SCHEMA {schema} CASCADE")
