"""Results written as they happen: JSON Lines, one record per request, flushed per line.

A crash or a killed run loses nothing already measured (reference/architecture.md, "Results
store"). Reports are read back from the file, never from memory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from rig.util.closing import Closing

#: The results file of a run, inside its run folder.
RESULTS_FILE = "results.jsonl"

#: Compact JSON, made once: ``json.dumps`` with any option builds an encoder per call, which
#: was half the cost of a line.
encode = json.JSONEncoder(separators=(",", ":")).encode


class ResultsError(ValueError):
    """A results file that cannot be read; names the file and line."""


class JsonlWriter(Closing):
    """Appends one JSON object per line and makes it durable before returning."""

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fsync = fsync
        self._file: TextIO | None = path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self.write_many([record])

    def write_many(self, records: list[dict[str, Any]]) -> None:
        """Append ``records`` with one write (none of them if one cannot be encoded)."""
        if self._file is None:
            raise ResultsError(f"{self.path}: writer is closed")
        lines = [encode(record) for record in records]
        lines.append("")
        self._file.write("\n".join(lines))
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the records of a results file; a torn last line (a crash mid-write) is skipped."""
    with path.open(encoding="utf-8") as handle:
        lines = handle.readlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines) and not line.endswith("\n"):
                return
            raise ResultsError(f"{path}:{number}: not a JSON record ({exc.msg})") from exc
