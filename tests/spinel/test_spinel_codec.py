"""The Spinel codec: HDLC-Lite framing, packed integers, frames and the packing-format types.

Known answers: the Spinel draft's Appendix "Test Vectors" (packed unsigned integers, the reset
command ``80 01`` and the reset notification ``80 06 00 72``)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.spinel import hdlc_lite
from devices.spinel.codec import (
    Command,
    SpinelError,
    SpinelFrame,
    Status,
    decode_packed,
    encode_packed,
    pack,
    prop_frame,
    unpack,
)
from devices.spinel.properties import BY_ID, Prop, RxFrame, TxDone, TxRequest

PACKED_VECTORS = [
    (0, "00"),
    (1, "01"),
    (127, "7F"),
    (128, "80 01"),
    (129, "81 01"),
    (1337, "B9 0A"),
    (16383, "FF 7F"),
    (16384, "80 80 01"),
    (16385, "81 80 01"),
    (2097151, "FF FF 7F"),
]


@pytest.mark.parametrize(("value", "wire"), PACKED_VECTORS)
def test_packed_integer_vectors(value: int, wire: str) -> None:
    assert encode_packed(value) == bytes.fromhex(wire)
    assert decode_packed(bytes.fromhex(wire)) == (value, len(bytes.fromhex(wire)))


def test_packed_integer_limits() -> None:
    with pytest.raises(SpinelError):
        encode_packed(2097152)
    with pytest.raises(SpinelError, match="longer than 3 bytes"):
        decode_packed(b"\xff\xff\xff\x01")
    with pytest.raises(SpinelError, match="cut short"):
        decode_packed(b"\x80")


def test_reset_vectors() -> None:
    assert SpinelFrame(Command.RESET).encode() == bytes.fromhex("80 01")
    notification = prop_frame(Command.PROP_VALUE_IS, 0, encode_packed(Status.RESET_SOFTWARE))
    assert notification.encode() == bytes.fromhex("80 06 00 72")


def test_header_needs_the_flag_bits() -> None:
    with pytest.raises(SpinelError, match="flag bits"):
        SpinelFrame.decode(b"\x41\x06")
    assert SpinelFrame.decode(b"\xb5\x06\x00\x00") == SpinelFrame(6, b"\x00\x00", tid=5, iid=3)


@given(st.binary(max_size=300))
def test_hdlc_lite_round_trip(frame: bytes) -> None:
    wire = hdlc_lite.encode(frame)
    assert not any(b in wire[1:-1] for b in (0x7E, 0x11, 0x13, 0xF8))
    if len(frame) >= 1:
        assert hdlc_lite.HdlcLiteDecoder().feed(wire) == [frame]


@given(
    st.binary(max_size=200),
    st.lists(st.binary(min_size=1, max_size=50), max_size=5),
    st.integers(1, 7),
)
def test_hdlc_lite_resyncs_after_garbage(garbage: bytes, frames: list[bytes], chunk: int) -> None:
    """Garbage costs at most what comes before the first flag; every frame after it arrives,
    whatever the chunking."""
    stream = garbage + b"".join(hdlc_lite.encode(f) for f in frames)
    decoder = hdlc_lite.HdlcLiteDecoder()
    out: list[object] = []
    for i in range(0, len(stream), chunk):
        out += decoder.feed(stream[i : i + chunk])
    good = [item for item in out if isinstance(item, bytes)]
    assert good[len(good) - len(frames) :] == frames


@given(
    st.lists(st.binary(min_size=1, max_size=40), max_size=6),
    st.integers(1, 90),
    st.integers(8, 32),
)
def test_hdlc_lite_reads_the_same_whole_or_in_pieces(
    frames: list[bytes], chunk: int, max_frame: int
) -> None:
    """A frame that arrives whole in one read (checked in place) and one that arrives in pieces
    (through the buffer) give the same frames and the same errors, oversize ones included."""
    stream = b"".join(hdlc_lite.encode(f) for f in frames)
    whole = hdlc_lite.HdlcLiteDecoder(max_frame).feed(stream)
    decoder = hdlc_lite.HdlcLiteDecoder(max_frame)
    pieces: list[object] = []
    for i in range(0, len(stream), chunk):
        pieces += decoder.feed(stream[i : i + chunk])
    assert pieces == whole
    assert [f for f in frames if len(f) <= max_frame] == [i for i in whole if isinstance(i, bytes)]


def test_hdlc_lite_drops_a_bad_fcs_and_keeps_the_next() -> None:
    bad = bytearray(hdlc_lite.encode(b"\x80\x06\x00\x72"))
    bad[2] ^= 0x01
    out = hdlc_lite.HdlcLiteDecoder().feed(bytes(bad) + hdlc_lite.encode(b"\x81\x02\x01"))
    assert [str(item) for item in out[:1]] == ["HDLC-Lite frame dropped (bad FCS, 6 bytes)"]
    assert out[1:] == [b"\x81\x02\x01"]


def test_hdlc_lite_bounds_an_endless_frame() -> None:
    decoder = hdlc_lite.HdlcLiteDecoder(max_frame=16)
    out = decoder.feed(b"\x7e" + b"\x55" * 1000 + b"\x7e" + hdlc_lite.encode(b"\x80\x01"))
    assert [getattr(item, "reason", item) for item in out] == ["oversize", b"\x80\x01"]


FORMATS = {
    "C": st.integers(0, 255),
    "c": st.integers(-128, 127),
    "S": st.integers(0, 0xFFFF),
    "L": st.integers(0, 0xFFFFFFFF),
    "X": st.integers(0, 2**64 - 1),
    "i": st.integers(0, 2097151),
    "b": st.booleans(),
    "E": st.binary(min_size=8, max_size=8),
    "d": st.binary(max_size=300),
    "U": st.text(max_size=20).filter(lambda t: "\0" not in t),
}


@given(
    st.lists(st.sampled_from(sorted(FORMATS)), min_size=1, max_size=6).flatmap(
        lambda fmt: st.tuples(st.just("".join(fmt)), st.tuples(*(FORMATS[c] for c in fmt)))
    )
)
def test_pack_unpack_round_trip(case: tuple[str, tuple[object, ...]]) -> None:
    fmt, values = case
    assert unpack(fmt, pack(fmt, *values)) == values


@given(st.binary(max_size=64), st.sampled_from(sorted({p.fmt for p in BY_ID.values()})))
def test_any_bytes_decode_to_a_value_or_one_spinel_error(data: bytes, fmt: str) -> None:
    with contextlib.suppress(SpinelError):
        unpack(fmt, data)


@given(st.binary(max_size=64))
def test_any_bytes_are_a_frame_or_one_spinel_error(data: bytes) -> None:
    try:
        frame = SpinelFrame.decode(data)
    except SpinelError:
        return
    assert SpinelFrame.decode(frame.encode()) == frame


def test_structs_arrays_and_partial_metadata() -> None:
    wire = pack("A(S)", [1, 0x1234])
    assert wire == bytes.fromhex("0100 3412")
    assert unpack("t(CC)i", pack("t(CC)i", (1, 2), 300)) == ((1, 2), 300)
    # Metadata may be partially specified: the fields left out are None.
    assert unpack("dCCb", pack("dC", b"\x01", 11), required=2) == (b"\x01", 11, None, None)
    with pytest.raises(SpinelError, match="needs 1 bytes"):
        unpack("dCCb", pack("d", b"\x01"), required=2)
    with pytest.raises(SpinelError, match="neither 0 nor 1"):
        unpack("b", b"\x02")
    with pytest.raises(SpinelError, match="unknown data type"):
        pack("Q", 1)


def test_stream_raw_payloads_round_trip() -> None:
    rx = RxFrame(b"\x41\x88\x01\x42\x47\xff\xff\x00\x00\xaa\xbb", -60, 15, 200, 123456, 0x10)
    assert RxFrame.decode(rx.encode()) == rx
    assert rx.acked_with_frame_pending and rx.mac_frame == rx.psdu[:-2]
    tx = TxRequest(b"\x01\x02\x03\x00\x00", 20, max_frame_retries=1)
    assert TxRequest.decode(tx.encode()) == tx
    # Only the frame and the channel are required.
    assert TxRequest.decode(pack("dC", b"\x01\x02\x03", 11)).max_frame_retries == 3
    done = TxDone(Status.OK, True, RxFrame(b"\x12\x00\x05\x00\x00", -40, 15, 255, 9))
    assert TxDone.decode(done.encode()) == done
    assert TxDone.decode(TxDone(Status.NO_ACK).encode()) == TxDone(Status.NO_ACK)
    with pytest.raises(SpinelError, match="STREAM_RAW"):
        TxRequest.decode(pack("dC", b"", 11))


def test_one_description_per_property() -> None:
    """Ids from spinel.h; every property is listed once."""
    assert (Prop.PHY_CHAN.id, Prop.MAC_15_4_PANID.id, Prop.STREAM_RAW.id) == (0x21, 0x36, 0x71)
    assert Prop.MAC_SRC_MATCH_EXTENDED_ADDRESSES.id == 0x1305
    assert len(BY_ID) == len({p.name for p in BY_ID.values()})
    assert Prop.MAC_15_4_PANID.decode(Prop.MAC_15_4_PANID.encode(0x4742)) == (0x4742,)
