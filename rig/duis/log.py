"""DUIS logs for replay: requests with the times they were sent (issue 7, item 5).

A log is one of:

* a DUIS XML file (one request);
* a folder of them (``*.xml`` / ``*.XML``, not recursive);
* the name of a shipped example (:data:`EXAMPLES_DIR`), e.g. ``default-bench``;
* a JSONL file (``*.jsonl``): one object per line, ``{"sent": "<ISO 8601>", "xml": "<request>"}``,
  as an adapter's traffic capture would write it.

When each request was sent: the JSONL ``sent`` field; for XML files, a comment before the root
element ``<!-- sent: 2024-05-01T10:00:00.250Z -->``, else the file's modification time. Times
without a zone are UTC. Entries are ordered by that time (then by source name), and offsets are
seconds after the earliest. A log whose format is wrong (bad JSON, bad ``sent`` time) raises
:class:`LogError` naming the file and line; a request that is bad DUIS does not: it is read like
any other, and parsing it gives its DUIS error, so a replay goes on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rig.duis.codes import DuisError
from rig.duis.messages import parse_request
from rig.duis.request import ServiceRequest

#: Example logs shipped with the rig (package data): ``rig replay default-bench`` replays
#: ``default-bench.jsonl`` (docs/duis.md "Replay logs").
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"

_SENT = re.compile(rb"\A\s*(?:<\?xml[^>]*\?>\s*)?<!--\s*sent:\s*(\S+)\s*-->")


class LogError(ValueError):
    """The log itself is malformed (not the DUIS in it)."""


@dataclass(frozen=True)
class LogEntry:
    """One logged request: seconds after the first, where it came from, its raw XML."""

    offset: float
    source: str
    xml: bytes

    def parse(self) -> ServiceRequest:
        """The request, or :class:`DuisError` as the DSP would refuse it."""
        return parse_request(self.xml)


def _utc(text: str, source: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise LogError(f"{source}: sent time {text!r} is not ISO 8601") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _xml_file(path: Path) -> tuple[datetime, str, bytes]:
    data = path.read_bytes()
    match = _SENT.match(data)
    if match:
        return _utc(match.group(1).decode("ascii", "replace"), str(path)), str(path), data
    return datetime.fromtimestamp(path.stat().st_mtime, UTC), str(path), data


def _jsonl(path: Path) -> Iterator[tuple[datetime, str, bytes]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            source = f"{path}:{number}"
            try:
                record = json.loads(line)
                sent, xml = record["sent"], record["xml"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise LogError(f"{source}: expected {{'sent': ..., 'xml': ...}} ({exc})") from exc
            if not isinstance(sent, str) or not isinstance(xml, str):
                raise LogError(f"{source}: 'sent' and 'xml' must be strings")
            yield _utc(sent, source), source, xml.encode("utf-8")


def find_log(name: str) -> Path:
    """A log file or folder, or the name of a shipped example log (:data:`EXAMPLES_DIR`)."""
    path = Path(name)
    if path.exists():
        return path
    example = EXAMPLES_DIR / f"{name}.jsonl"
    if "/" not in name and example.is_file():
        return example
    shipped = ", ".join(sorted(p.stem for p in EXAMPLES_DIR.glob("*.jsonl")))
    raise LogError(f"{name}: no such file or folder, nor a shipped example log ({shipped})")


def read_log(path: Path) -> list[LogEntry]:
    """The entries of a log file or folder, in the order they were sent."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".xml")
        raw = [_xml_file(p) for p in files]
    elif path.suffix.lower() == ".jsonl":
        raw = list(_jsonl(path))
    else:
        raw = [_xml_file(path)]
    raw.sort(key=lambda item: (item[0], item[1]))
    if not raw:
        return []
    start = raw[0][0]
    return [LogEntry((sent - start).total_seconds(), source, xml) for sent, source, xml in raw]


def read_requests(path: Path) -> Iterator[tuple[float, ServiceRequest | DuisError]]:
    """(offset seconds, request or the DUIS error it gets) for each entry of a log."""
    for entry in read_log(path):
        try:
            yield entry.offset, entry.parse()
        except DuisError as error:
            yield entry.offset, error
