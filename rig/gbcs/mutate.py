"""Mutations of GBCS inputs for fuzzing (reference/gbcs.md §1.1-1.3, §1.7, §1.8; issue 13).

Seeds are every shared RTDS vector and GBT blocks of each (:func:`seeds`). Two kinds of
mutation: :func:`mutate`, random byte work on any input (bit flips, byte writes, interesting
length bytes, insertions, deletions, truncations, splices, random bytes), and structure-aware
ones that know where the tags and lengths are: :func:`frame_length_fields` (MAC Header and
General-Signing) and :func:`payload_fields` (A-XDR tags, lengths and counts of a DLMS payload;
GBZ component controls, counts and lengths), rewritten by :func:`mutate_fields`. A payload so
mutated can then be sealed again with valid keys, so it passes the MAC check and reaches the
typed decoders and a device's dispatch (:mod:`rig.benchmarks.fuzz`).
"""

from __future__ import annotations

import random
from pathlib import Path

from rig.gbcs.dlms import (
    _EMPTY,
    _FIXED_BYTES,
    _INTEGERS,
    _SEQUENCES,
    _STRINGS,
    ACCESS_REQUEST,
    ACCESS_RESPONSE,
    DATA_NOTIFICATION,
    Tag,
)
from rig.gbcs.frame import MAC_LENGTH, decode
from rig.gbcs.gbt import segment
from rig.gbcs.gbz import PROFILE

#: Length bytes that sit on the edges of the BER / A-XDR forms (short, long, too long).
INTERESTING = (0x00, 0x01, 0x02, 0x08, 0x09, 0x0C, 0x40, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF)
#: A frame the fuzz can start from when no shared vector is found: the RTDS ECS45 command.
FALLBACK = bytes.fromhex(
    "DD000000000000471100000000DF090100000000000003E80890B3D51F300100000800DB1234567890A0"
    "0002005213D9200003E80001010046000060030AFF0301000052E8965230E91EE41782CE42"
)
_TAGS = tuple(Tag)
#: A-XDR types of the same size but another type (signed / unsigned, enum, bcd, boolean): a
#: swap keeps the payload's structure, so it reaches the typed models (issue 13's 0F -> 0D).
SAME_SIZE: dict[int, tuple[Tag, ...]] = {
    tag: tuple(t for t in _INTEGERS if t != tag and _INTEGERS[t][0] == size)
    for tag, (size, _) in _INTEGERS.items()
}
_SPEC_SIZE = 10
_GBZ_HEADER = 5


def vectors(shared: Path) -> list[bytes]:
    """Every ``gbcs-rtds/vectors/*/*.HEX`` under ``shared`` (none if it is missing)."""
    paths = sorted(shared.glob("gbcs-rtds/vectors/*/*.HEX"))
    return [bytes.fromhex(p.read_text().strip()) for p in paths]


def seeds(frames: list[bytes], block_size: int = 64) -> list[bytes]:
    """The frames (or :data:`FALLBACK`) plus the GBT blocks of each (§1.8)."""
    frames = frames or [FALLBACK]
    return frames + [b for f in frames for b in segment(f, block_size)]


def mutate(rnd: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """One to four random mutations of ``data``; splices take bytes from ``pool``."""
    buf = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        kind = rnd.randrange(9)
        at = rnd.randrange(len(buf) + 1)
        if kind == 0 and buf:
            buf[at % len(buf)] ^= 1 << rnd.randrange(8)
        elif kind == 1 and buf:
            buf[at % len(buf)] = rnd.randrange(256)
        elif kind == 2 and buf:
            buf[at % len(buf)] = rnd.choice(INTERESTING)
        elif kind == 3:
            buf[at:at] = rnd.randbytes(rnd.randint(1, 8))
        elif kind == 4:
            del buf[at : at + rnd.randint(1, 16)]
        elif kind == 5:
            del buf[at:]
        elif kind == 6:
            other = rnd.choice(pool)
            start = rnd.randrange(len(other) + 1)
            buf[at:] = other[start : start + rnd.randint(1, 200)]
        elif kind == 7:
            buf = bytearray(rnd.randbytes(rnd.randint(0, 64)))
        else:
            buf[at:at] = rnd.choice(pool)[: rnd.randint(1, 40)]
    return bytes(buf)


def frame_length_fields(frame: bytes) -> list[int]:
    """Offsets of the MAC Header and General-Signing length bytes of a valid frame (§1.2)."""
    apdu = 0 if frame[0] == 0xDF else len(frame) - MAC_LENGTH - len(decode(frame).signing.encode())
    offsets = [apdu + 1, apdu + 11, apdu + 20, apdu + 29]
    other = apdu + 30 + (12 if frame[apdu + 29] else 0)
    offsets += [other, other + 1 + frame[other]]
    return offsets + ([7] if apdu else [])


class Fields:
    """Where a payload's tags and lengths are: offsets of 1-byte tags, of BER / A-XDR lengths
    and counts (1 byte or long form), and of 2-byte big-endian lengths (GBZ)."""

    def __init__(self) -> None:
        self.tags: list[int] = []
        self.lengths: list[int] = []
        self.wide: list[int] = []

    def __bool__(self) -> bool:
        return bool(self.tags or self.lengths or self.wide)


def payload_fields(payload: bytes) -> Fields:
    """The tags and lengths of a DLMS or GBZ payload, as far as it parses (§1.7)."""
    fields = Fields()
    try:
        if payload[:2] == PROFILE:
            _gbz_fields(payload, fields)
        elif payload and payload[0] in (ACCESS_REQUEST, ACCESS_RESPONSE, DATA_NOTIFICATION):
            _dlms_fields(payload, fields)
    except (IndexError, ValueError):
        pass  # the fields found before the input ran out or stopped parsing
    return fields


def _length(p: bytes, at: int, fields: Fields) -> tuple[int, int]:
    """(value, next offset) of the length at ``at``, recorded."""
    fields.lengths.append(at)
    first = p[at]
    if first < 0x80:
        return first, at + 1
    size = first & 0x7F
    if len(p) < at + 1 + size:
        raise IndexError(at)
    return int.from_bytes(p[at + 1 : at + 1 + size], "big"), at + 1 + size


def _axdr(p: bytes, at: int, fields: Fields, depth: int = 0) -> int:
    """Record one A-XDR value's tag and lengths; the offset after it."""
    fields.tags.append(at)
    tag = Tag(p[at])
    at += 1
    if tag in _EMPTY:
        return at
    if tag in _INTEGERS:
        return at + _INTEGERS[tag][0]
    if tag in _FIXED_BYTES:
        return at + _FIXED_BYTES[tag]
    n, at = _length(p, at, fields)
    if tag in _STRINGS:
        return at + n
    if tag is Tag.BIT_STRING:
        return at + (n + 7) // 8
    if tag not in _SEQUENCES or depth > 16:
        raise ValueError(tag)
    for _ in range(n):
        at = _axdr(p, at, fields, depth + 1)
    return at


def _dlms_fields(p: bytes, fields: Fields) -> None:
    fields.tags.append(0)
    n, at = _length(p, 5, fields)  # date-time length after the 4-byte invoke-id
    at += n
    if p[0] == DATA_NOTIFICATION:
        _axdr(p, at, fields)
        return
    if p[0] == ACCESS_REQUEST:
        specs, at = _length(p, at, fields)
        for _ in range(specs):
            fields.tags.append(at)  # the GET / SET / ACTION choice
            at += _SPEC_SIZE
    else:
        fields.tags.append(at)  # the absent request specification
        at += 1
    items, at = _length(p, at, fields)
    for _ in range(items):
        at = _axdr(p, at, fields)
    if p[0] == ACCESS_RESPONSE:
        results, at = _length(p, at, fields)
        fields.tags.extend(at + 2 * i for i in range(results))


def _gbz_fields(p: bytes, fields: Fields) -> None:
    count, at = _length(p, 2, fields)
    for _ in range(count):
        fields.tags.append(at)  # component control
        fields.wide.append(at + 3)
        size = int.from_bytes(p[at + 3 : at + 5], "big")
        fields.tags.extend((at + _GBZ_HEADER, at + _GBZ_HEADER + 2))  # ZCL frame control, command
        at += _GBZ_HEADER + size


def mutate_fields(rnd: random.Random, payload: bytes, fields: Fields) -> bytes:
    """One to three rewrites of tags and lengths at ``fields`` (:func:`payload_fields`)."""
    buf = bytearray(payload)
    kinds = [k for k, offsets in enumerate((fields.tags, fields.lengths, fields.wide)) if offsets]
    for _ in range(rnd.randint(1, 3)):
        kind = rnd.choice(kinds)
        if kind == 0:
            at = rnd.choice(fields.tags)
            roll = rnd.random()
            if roll < 0.5 and SAME_SIZE.get(buf[at]):
                buf[at] = rnd.choice(SAME_SIZE[buf[at]])
            else:
                buf[at] = rnd.choice(_TAGS) if roll < 0.9 else rnd.randrange(256)
        elif kind == 1:
            at = rnd.choice(fields.lengths)
            step = rnd.choice((-1, 1, 2, -2))
            buf[at] = rnd.choice(INTERESTING) if rnd.random() < 0.4 else (buf[at] + step) % 256
            if rnd.random() < 0.1:  # a non-minimal long form of the same value
                buf[at:at] = b"\x81"
        else:
            at = rnd.choice(fields.wide)
            value = int.from_bytes(buf[at : at + 2], "big") + rnd.choice((-1, 1, -4, 4, 0x8000))
            buf[at : at + 2] = (value % 0x10000).to_bytes(2, "big")
    return bytes(buf)
