"""Many processes opening one fresh results store at once (xdist workers starting together)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

OPEN = """
import sys, time
from pathlib import Path
from rig.results.store import ResultsStore
start = float(sys.argv[2])
while time.time() < start:
    pass
with ResultsStore(Path(sys.argv[1])):
    pass
"""


def test_processes_opening_a_fresh_store_together_all_succeed(tmp_path: Path) -> None:
    for attempt in range(5):
        path = tmp_path / f"store-{attempt}.sqlite"
        start = time.time() + 1.0  # every process spins until then, then opens
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN, str(path), repr(start)], stderr=subprocess.PIPE
            )
            for _ in range(6)
        ]
        errors = [w.communicate(timeout=120)[1].decode() for w in workers]
        assert [w.returncode for w in workers] == [0] * 6, errors
