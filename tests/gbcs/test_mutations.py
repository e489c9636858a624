"""Structured mutations of every RTDS vector (reference/gbcs.md §1).

Decoding gives a Message or a DecodeError, typed payload decoding an object or a DecodeError:
never another exception.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import pytest
from gbcs_testdata import VECTORS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.gbcs.errors import DecodeError
from rig.gbcs.frame import decode
from rig.gbcs.usecases import decode_payload

pytestmark = pytest.mark.shared


def _load(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


FRAMES = [_load(path) for path in VECTORS]


def length_fields(frame: bytes) -> list[int]:
    """Offsets of the MAC header and General-Signing length bytes of a valid frame."""
    apdu = 0 if frame[0] == 0xDF else len(frame) - 12 - len(decode(frame).signing.encode())
    offsets = [apdu + 1, apdu + 11, apdu + 20, apdu + 29]
    other = apdu + 30 + (12 if frame[apdu + 29] else 0)
    offsets += [other, other + 1 + frame[other]]
    return offsets + ([7] if apdu else [])


def survive(data: bytes) -> None:
    """The contract: a Message (which re-encodes to the input) or a DecodeError."""
    try:
        message = decode(data)
    except DecodeError:
        return
    assert message.encode() == data
    s = message.signing
    with contextlib.suppress(DecodeError):
        decode_payload(s.message_code, s.payload, s.cra)


def test_every_truncation(rtds: Path) -> None:
    """A truncated MAC'd frame never decodes; a bare one only as a pre-command (no signature)."""
    for frame in FRAMES:
        for end in range(len(frame)):
            if frame[0] == 0xDD:
                with pytest.raises(DecodeError):
                    decode(frame[:end])
                continue
            try:
                signing = decode(frame[:end]).signing
            except DecodeError:
                continue
            whole = decode(frame).signing
            assert signing == dataclasses.replace(whole, signature=None, has_signature_field=False)


@st.composite
def mutants(draw: st.DrawFn) -> bytes:
    original = draw(st.sampled_from(FRAMES))
    fields = length_fields(original)
    frame = bytearray(original)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "set", "length", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, len(frame) - 1)) if frame else 0
        if kind == "flip" and frame:
            frame[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and frame:
            frame[at] = draw(st.integers(0, 255))
        elif kind == "length" and (offsets := [f for f in fields if f < len(frame)]):
            frame[draw(st.sampled_from(offsets))] = draw(
                st.sampled_from([0, 1, 7, 8, 9, 12, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF])
            )
        elif kind == "insert":
            frame[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "delete":
            del frame[at : at + draw(st.integers(1, 4))]
        else:
            del frame[at:]
    return bytes(frame)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(mutants())
def test_structured_mutations(rtds: Path, data: bytes) -> None:
    survive(data)


def test_payload_bytes_flipped(rtds: Path) -> None:
    """Every single-byte corruption of every typed payload decodes or raises DecodeError."""
    for frame in FRAMES:
        s = decode(frame).signing
        if len(s.payload) > 300:
            continue
        for at in range(len(s.payload)):
            for value in (0x00, 0x80, 0xFF, s.payload[at] ^ 0x01):
                payload = s.payload[:at] + bytes([value]) + s.payload[at + 1 :]
                with contextlib.suppress(DecodeError):
                    decode_payload(s.message_code, payload, s.cra)
