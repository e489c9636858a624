"""Captures: pcap of linktype 252 for tshark's ``gbcs_message`` dissector, and tshark's verdict
on every kind of frame the codec emits (reference/gbcs.md §3).

tshark is required in CI (RIG_REQUIRE_SHARED=1, installed by .ci/run); elsewhere the tshark test
skips with the reason when it is absent.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gbcs_testdata import VECTORS

from rig.gbcs.codec import RemotePartyCodec
from rig.gbcs.frame import decode
from rig.gbcs.gbt import segment
from rig.gbcs.pcap import LINKTYPE_WIRESHARK_UPPER_PDU, PcapWriter, write_pcap
from rig.keys.keystore import KeyStore

ECS45 = bytes.fromhex(
    "DD000000000000471100000000DF090100000000000003E80890B3D51F300100000800DB1234567890A00002"
    "005213D9200003E80001010046000060030AFF0301000052E8965230E91EE41782CE42"
)


def test_pcap_layout() -> None:
    stream = io.BytesIO()
    PcapWriter(stream).write(ECS45, datetime(2026, 1, 1, 0, 0, 0, 250_000, tzinfo=UTC))
    data = stream.getvalue()
    magic, _, _, _, _, _, linktype = struct.unpack("<IHHiIII", data[:24])
    assert (magic, linktype) == (0xA1B2C3D4, LINKTYPE_WIRESHARK_UPPER_PDU)
    _, micros, incl, orig = struct.unpack("<IIII", data[24:40])
    assert micros == 250_000 and incl == orig == 20 + len(ECS45)
    assert data[40:60] == b"\x00\x0c\x00\x0cgbcs_message\x00\x00\x00\x00"
    assert data[60:] == ECS45


def _emitted(keys: KeyStore) -> list[bytes]:
    """Every RTDS frame as the codec emits it (test_regeneration proves the bytes), pre-commands
    in the DUIS form (null signature), and GBT blocks of the largest and smallest."""
    codec = RemotePartyCodec(keys)
    frames = []
    for path in VECTORS:
        frame = bytes.fromhex(path.read_text().strip())
        s = decode(frame).signing
        if "PRECOMMAND" in path.name:
            frame = codec.transform(s.originator, s.recipient, s.counter, s.message_code, s.payload)
        frames.append(frame)
    largest = max(frames, key=len)
    return frames + segment(largest, 200) + segment(ECS45, 32)


def _tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        reason = "tshark is not installed (apt-get install tshark; .ci/run installs it)"
        if os.environ.get("RIG_REQUIRE_SHARED") == "1":
            pytest.fail(f"{reason}; RIG_REQUIRE_SHARED=1 requires it")
        pytest.skip(reason)
    return path


@pytest.mark.shared
def test_tshark_dissects_every_emitted_frame(
    rtds: Path, rtds_keys: KeyStore, tmp_path: Path
) -> None:
    tshark = _tshark()
    frames = _emitted(rtds_keys)
    capture = tmp_path / "gbcs.pcap"
    assert write_pcap(capture, frames) == len(frames)
    fields = ["frame.number", "gbcs_message.grouping_header.message_code", "_ws.malformed"]
    out = subprocess.run(
        [
            tshark,
            "-r",
            str(capture),
            "-T",
            "fields",
            *(f"-e{f}" for f in fields),
            "-E",
            "separator=|",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    rows = [line.split("|") for line in out.splitlines()]
    assert len(rows) == len(frames)
    assert [r[0] for r in rows if r[2]] == []  # no malformed frame
    dissected = [r for r in rows if r[1]]
    # Every whole frame and every reassembled GBT message shows its message code.
    assert len(dissected) == len(VECTORS) + 2
