"""DCC's own DUIS tools for the adapter tests: where they are, and how tests skip or fail.

``$RIG_DUIS_TOOLS`` (default ``<repo>/build/duis-tools``) holds ``node_modules`` with the npm
packages pinned in ``tests/dcc_adapter/package-lock.json``; ``.ci/duis-tools.sh`` installs them and
sets ``RIG_REQUIRE_DUIS_TOOLS=1``, under which a missing ``node``, ``java`` or package fails the
test instead of skipping it (docs/adapter-test.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from shared_dir import REPO

HERE = Path(__file__).resolve().parent
PACKAGES = ("@smartdcc/duis-sign-wrap", "@smartdcc/duis-parser")
#: DCC's tool starts one JVM per message: a client JIT and the serial GC halve its start-up on a
#: small machine [ASSUMED: measured here, 2 cores: about 2 s instead of 5 s per message].
JAVA_TOOL_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def tools_dir() -> Path:
    return Path(os.environ.get("RIG_DUIS_TOOLS") or REPO / "build" / "duis-tools").resolve()


def unavailable(reason: str) -> None:
    """Skip, or fail under ``RIG_REQUIRE_DUIS_TOOLS=1`` (CI), naming what is missing."""
    if os.environ.get("RIG_REQUIRE_DUIS_TOOLS") == "1":
        pytest.fail(f"{reason}; RIG_REQUIRE_DUIS_TOOLS=1 requires DCC's DUIS tools")
    pytest.skip(f"{reason} (run: source .ci/duis-tools.sh)")


@dataclass(frozen=True)
class DccTools:
    """Node.js with DCC's packages installed, ready to run the scripts in ``tests/dcc_adapter``."""

    node: str
    folder: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RIG_DUIS_TOOLS": str(self.folder),
            "JAVA_TOOL_OPTIONS": JAVA_TOOL_OPTIONS,
        }

    def versions(self) -> dict[str, str]:
        """The installed version of each of DCC's packages."""
        return {
            name: json.loads((self.folder / "node_modules" / name / "package.json").read_text())[
                "version"
            ]
            for name in PACKAGES
        }

    def run_json(self, script: str, *args: str, timeout: float = 240) -> dict:
        """Run ``tests/dcc_adapter/<script>`` with ``args``; its one-line JSON answer."""
        done = subprocess.run(
            [self.node, str(HERE / script), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"{script} exited {done.returncode}: {done.stderr[-2000:]}"
        return json.loads(done.stdout.strip().splitlines()[-1])


def find_tools() -> DccTools:
    """The tools, or skip/fail (:func:`unavailable`) naming the first thing missing."""
    node = shutil.which("node")
    if node is None:
        unavailable("node not found")
    if shutil.which("java") is None:
        unavailable("java not found (DCC's signing tool is a Java jar)")
    folder = tools_dir()
    for name in PACKAGES:
        if not (folder / "node_modules" / name / "package.json").is_file():
            unavailable(f"{name} not installed in {folder}")
    assert node is not None
    return DccTools(node, folder)
