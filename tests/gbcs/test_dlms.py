"""A-XDR data and xDLMS APDUs (reference/gbcs.md §1.2, §1.7)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from gbcs_strategies import data_values
from hypothesis import given
from hypothesis import strategies as st

from rig.gbcs.dlms import (
    AccessKind,
    AccessRequest,
    AccessResponse,
    AccessResult,
    AccessSpec,
    Data,
    DataNotification,
    Tag,
    cosem_datetime,
    decode_apdu,
    decode_data,
    invoke_id,
    parse_cosem_datetime,
)
from rig.gbcs.errors import DecodeError
from rig.gbcs.wire import Reader

SPEC = AccessSpec(AccessKind.GET, 70, bytes.fromhex("000060030AFF"), 3)


@given(data_values)
def test_data_round_trip(value: Data) -> None:
    encoded = value.encode()
    reader = Reader(encoded)
    assert decode_data(reader) == value
    assert reader.remaining == 0


@given(st.lists(data_values, max_size=3).map(tuple), st.integers(0, (1 << 64) - 1))
def test_apdu_round_trips(items: tuple[Data, ...], counter: int) -> None:
    invoke = invoke_id(counter)
    apdus = [
        AccessRequest(invoke, (SPEC,) * len(items), items),
        AccessResponse(invoke, items, (AccessResult(AccessKind.ACTION, 0),), bytes(12)),
        DataNotification(invoke, Data(Tag.STRUCTURE, items)),
    ]
    for apdu in apdus:
        assert decode_apdu(apdu.encode()) == apdu


def test_invoke_id_takes_low_24_bits() -> None:
    assert invoke_id(0x300000000) == 0x20000000
    assert invoke_id(1000) == 0x200003E8


@given(st.binary(max_size=200))
def test_fuzz_decode_apdu(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_apdu(data)


@given(st.sampled_from([0xD9, 0xDA, 0x0F]), st.binary(max_size=200))
def test_fuzz_decode_apdu_with_valid_tag(tag: int, rest: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_apdu(bytes([tag, 0x20, 0, 0, 1, 0]) + rest)


def test_deep_nesting_is_a_decode_error() -> None:
    bomb = bytes([0x0F, 0x20, 0, 0, 1, 0]) + b"\x01\x01" * 5000 + b"\x00"
    with pytest.raises(DecodeError, match="nested deeper"):
        decode_apdu(bomb)


def test_huge_count_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="ARRAY count 4294967295, only 0 bytes left"):
        decode_data(Reader(b"\x01\x84\xff\xff\xff\xff"))


def test_unknown_type_and_trailing_bytes() -> None:
    with pytest.raises(DecodeError, match="A-XDR type 0x1C not supported"):
        decode_data(Reader(b"\x1c\x00"))
    with pytest.raises(DecodeError, match="unexpected bytes"):
        decode_apdu(DataNotification(1, Data.null()).encode() + b"\x00")


@pytest.mark.parametrize(
    "bad", [Data(Tag.NULL, 1), Data(Tag.ENUM, b"x"), Data(Tag.ENUM, 256), Data(Tag.DATE, b"")]
)
def test_invalid_data_cannot_be_encoded(bad: Data) -> None:
    with pytest.raises(ValueError):
        bad.encode()


def test_cosem_datetime_matches_rtds_shape() -> None:
    moment = datetime(2015, 1, 1, tzinfo=UTC)
    assert cosem_datetime(moment).hex().upper() == "07DF0101FF000000008000FF"
    local = datetime(2024, 6, 1, 13, 30, 5, tzinfo=timezone(timedelta(hours=1)))
    assert parse_cosem_datetime(cosem_datetime(local)) == local
    with pytest.raises(ValueError):
        cosem_datetime(datetime(2024, 1, 1))
    with pytest.raises(DecodeError):
        parse_cosem_datetime(bytes.fromhex("FFFFFFFFFFFFFFFFFF8000FF"))
