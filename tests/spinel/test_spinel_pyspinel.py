"""Our Spinel against OpenThread's own host-side implementation (pyspinel, by The OpenThread
Authors): the same HDLC-Lite frames both ways, the same packed integers, the same command and
property identifiers. pyspinel is a test-only peer (the dev extra): the rig keeps its own codec
(docs/han.md "Why not a library")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.spinel import hdlc_lite
from devices.spinel.codec import Command, decode_packed, encode_packed
from devices.spinel.properties import Prop, Property

spinel_hdlc = pytest.importorskip("spinel.hdlc")
spinel_codec = pytest.importorskip("spinel.codec")
SPINEL = pytest.importorskip("spinel.const").SPINEL


class _Bytes:
    """pyspinel's stream interface over bytes: ``read()`` gives one int."""

    def __init__(self, data: bytes) -> None:
        self._data = iter(data)

    def read(self, size: int = 1) -> int:
        return next(self._data)


@given(st.binary(min_size=1, max_size=300))
def test_pyspinel_reads_our_hdlc_lite_frames(payload: bytes) -> None:
    assert spinel_hdlc.Hdlc(_Bytes(hdlc_lite.encode(payload))).collect() == payload


@given(st.binary(min_size=1, max_size=300))
def test_we_read_pyspinel_hdlc_lite_frames(payload: bytes) -> None:
    wire = spinel_hdlc.Hdlc(None).encode(payload)
    assert hdlc_lite.HdlcLiteDecoder().feed(wire) == [payload]


@given(st.integers(min_value=1, max_value=(1 << 21) - 1))
def test_packed_integers_agree(value: int) -> None:
    ours = encode_packed(value)
    assert ours == bytes(spinel_codec.SpinelCodec.encode_i(value))
    assert decode_packed(ours) == (value, len(ours))


def test_zero_is_one_byte_as_the_specification_says() -> None:
    """pyspinel 1.0.3 encodes 0 as no bytes at all; the Spinel draft's packed unsigned integer
    (and OpenThread's C encoder) give one byte 00, which pyspinel reads back as 0."""
    assert encode_packed(0) == b"\x00"
    assert spinel_codec.SpinelCodec.parse_i(b"\x00") == (0, 1)


def test_command_ids_agree() -> None:
    for command in Command:
        theirs = getattr(SPINEL, f"CMD_{command.name}", None)
        if theirs is None:
            theirs = getattr(SPINEL, f"RSP_{command.name}")
        assert command.value == theirs, command.name


def test_property_ids_agree_where_pyspinel_names_them() -> None:
    """pyspinel 1.0.3 predates the source-match and promiscuous-mode properties (spinel.h has
    them); every property it does name has our identifier."""
    ours = [p for p in vars(Prop).values() if isinstance(p, Property)]
    named = [p for p in ours if hasattr(SPINEL, f"PROP_{p.name}")]
    assert len(named) >= 12
    for prop in named:
        assert prop.id == getattr(SPINEL, f"PROP_{prop.name}"), prop.name
