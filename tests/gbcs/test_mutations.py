"""Structured mutations of every RTDS vector (reference/gbcs.md §1).

Decoding gives a Message or a DecodeError, typed payload decoding an object or a DecodeError:
never another exception (issue 13: not even when the typed model cannot re-encode a value).
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
from rig.gbcs.mutate import SAME_SIZE, frame_length_fields, payload_fields
from rig.gbcs.usecases import RawPayload, decode_payload

pytestmark = pytest.mark.shared


def _load(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


FRAMES = [_load(path) for path in VECTORS]


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
    fields = frame_length_fields(original)
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
    """Every single-byte corruption of every typed payload of up to 300 bytes decodes or raises
    DecodeError (the larger ones: the next test)."""
    for frame in FRAMES:
        s = decode(frame).signing
        if len(s.payload) > 300:
            continue
        for at in range(len(s.payload)):
            for value in (0x00, 0x80, 0xFF, s.payload[at] ^ 0x01):
                payload = s.payload[:at] + bytes([value]) + s.payload[at + 1 :]
                with contextlib.suppress(DecodeError):
                    decode_payload(s.message_code, payload, s.cra)


def test_same_size_tag_swaps_in_every_typed_payload(rtds: Path) -> None:
    """Each A-XDR integer tag of every typed payload, large ones too, swapped for each other
    type of its size (signed / unsigned, enum, bcd, boolean): the structure still parses, so the
    typed model sees the value. Issue 13's ECS01a scaler (``0F FB`` -> ``0D FB``) is one.
    One vector per message code and CRA, to stay quick."""
    firsts = {(s.message_code, s.cra): s for s in (decode(f).signing for f in reversed(FRAMES))}
    for s in firsts.values():
        try:
            if isinstance(decode_payload(s.message_code, s.payload, s.cra), RawPayload):
                continue
        except DecodeError:
            continue
        for at in payload_fields(s.payload).tags:
            for tag in SAME_SIZE.get(s.payload[at], ()):
                payload = s.payload[:at] + bytes([tag]) + s.payload[at + 1 :]
                with contextlib.suppress(DecodeError):
                    decode_payload(s.message_code, payload, s.cra)
