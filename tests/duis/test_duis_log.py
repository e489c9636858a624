"""DUIS log reading for replay: files, folders, JSONL, timing, bad entries (rig/duis/log.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rig.duis import request as rq
from rig.duis.codes import DuisError, RigCode
from rig.duis.log import LogError, read_log, read_requests
from rig.duis.messages import build_request
from rig.gbcs.eui import Eui64

SUPPLIER = Eui64.parse("90-B3-D5-1F-30-01-00-00")
ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")


def _xml(counter: int) -> bytes:
    return build_request(
        rq.ServiceRequest(rq.RequestId(SUPPLIER, ESME, counter), rq.ReadSupplyStatus())
    )


def _with_sent(xml: bytes, sent: str) -> bytes:
    declaration, rest = xml.split(b"?>", 1)
    return declaration + b"?>" + f"<!-- sent: {sent} -->".encode() + rest


def test_folder_ordered_by_sent_comment_then_mtime(tmp_path: Path) -> None:
    (tmp_path / "b.xml").write_bytes(_with_sent(_xml(2), "2024-05-01T10:00:01.500Z"))
    (tmp_path / "a.XML").write_bytes(_with_sent(_xml(1), "2024-05-01T10:00:00Z"))
    plain = tmp_path / "c.xml"
    plain.write_bytes(_xml(3))
    stamp = 1714557610  # 2024-05-01T10:00:10Z
    os.utime(plain, (stamp, stamp))
    (tmp_path / "notes.txt").write_text("ignored")
    entries = read_log(tmp_path)
    assert [Path(e.source).name for e in entries] == ["a.XML", "b.xml", "c.xml"]
    assert [e.offset for e in entries] == [0.0, 1.5, 10.0]
    assert [r.request_id.counter for _, r in read_requests(tmp_path)] == [1, 2, 3]


def test_jsonl_and_bad_entries_do_not_stop_the_log(tmp_path: Path) -> None:
    log = tmp_path / "capture.jsonl"
    lines = [
        {"sent": "2024-05-01T10:00:02", "xml": _xml(2).decode()},
        {"sent": "2024-05-01T10:00:00+00:00", "xml": "<not-xml"},
        {"sent": "2024-05-01T10:00:01Z", "xml": _xml(1).decode().replace("7.4<", "9.9<")},
    ]
    log.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    results = list(read_requests(log))
    assert [offset for offset, _ in results] == [0.0, 1.0, 2.0]
    first, second, third = (r for _, r in results)
    assert isinstance(first, DuisError) and first.code is RigCode.MALFORMED_XML
    assert isinstance(second, DuisError) and second.code is RigCode.SCHEMA_VIOLATION
    assert isinstance(third, rq.ServiceRequest) and third.request_id.counter == 2


def test_single_file(tmp_path: Path) -> None:
    path = tmp_path / "one.xml"
    path.write_bytes(_xml(7))
    ((offset, request),) = read_requests(path)
    assert offset == 0.0 and request.request_id.counter == 7
    empty = tmp_path / "empty"
    empty.mkdir()
    assert read_log(empty) == []


@pytest.mark.parametrize(
    "line",
    [
        '{"sent": "yesterday", "xml": "<a/>"}',
        "not json",
        '{"xml": "<a/>"}',
        '{"sent": 1, "xml": 2}',
    ],
)
def test_malformed_log_names_file_and_line(tmp_path: Path, line: str) -> None:
    log = tmp_path / "bad.jsonl"
    log.write_text(line + "\n")
    with pytest.raises(LogError, match=r"bad\.jsonl:1"):
        read_log(log)
