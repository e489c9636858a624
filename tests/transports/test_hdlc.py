"""The framing codec: check values, the documented example, round trips, resynchronisation."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.transports.hdlc import (
    Frame,
    FrameDecoder,
    FrameError,
    FrameErrorReason,
    FrameKind,
    LinkControl,
    LinkOp,
    crc16_x25,
    encode_frame,
)

payloads = st.binary(min_size=1, max_size=300)
frames = st.builds(Frame, st.sampled_from(FrameKind), payloads)


def feed_in_chunks(decoder: FrameDecoder, stream: bytes, cuts: list[int]) -> list:
    out = []
    start = 0
    for cut in [*sorted(set(cuts)), len(stream)]:
        out += decoder.feed(stream[start:cut])
        start = cut
    return out


def raw_frame(body_without_fcs: bytes) -> bytes:
    """Frame arbitrary bytes (any kind byte) independently of encode_frame; only 7E/7D occur
    in the bodies these tests use, so this is the whole stuffing rule."""
    body = body_without_fcs + crc16_x25(body_without_fcs).to_bytes(2, "little")
    stuffed = bytearray()
    for byte in body:
        stuffed += bytes([0x7D, byte ^ 0x20]) if byte in (0x7D, 0x7E) else bytes([byte])
    return b"\x7e" + bytes(stuffed) + b"\x7e"


def test_crc_check_value() -> None:
    assert crc16_x25(b"123456789") == 0x906E


def test_documented_example() -> None:
    """The byte-level example in docs/serial-framing.md."""
    frame = encode_frame(FrameKind.GBCS, bytes.fromhex("DD 7E 00 7D"))
    assert frame == bytes.fromhex("7E 01 DD 7D 5E 00 7D 5D 65 8F 7E")
    assert FrameDecoder().feed(frame) == [Frame(FrameKind.GBCS, bytes.fromhex("DD 7E 00 7D"))]


def test_ping_example() -> None:
    ping = LinkControl(LinkOp.PING, b"\x2a").encode()
    assert encode_frame(FrameKind.LINK, ping) == bytes.fromhex("7E 02 01 2A F4 E4 7E")
    assert LinkControl.decode(ping) == LinkControl(LinkOp.PING, b"\x2a")


def test_link_control_rejects_unknown_op() -> None:
    with pytest.raises(ValueError):
        LinkControl.decode(b"\x99")
    with pytest.raises(ValueError):
        LinkControl.decode(b"")


def test_encode_refuses_empty_payload() -> None:
    with pytest.raises(ValueError):
        encode_frame(FrameKind.GBCS, b"")


@given(st.lists(frames, max_size=8), st.lists(st.integers(min_value=0, max_value=4000)))
def test_round_trip_any_chunking(sent: list[Frame], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(f.kind, f.payload) for f in sent)
    decoder = FrameDecoder()
    assert feed_in_chunks(decoder, stream, cuts) == sent
    assert (decoder.frames_good, decoder.frames_bad, decoder.offset) == (len(sent), 0, len(stream))


@given(
    st.lists(frames, min_size=1, max_size=6),
    st.lists(st.binary(max_size=40).filter(lambda g: 0x7E not in g), min_size=7, max_size=7),
    st.lists(st.integers(min_value=0, max_value=3000)),
)
def test_garbage_between_frames_loses_no_frame(
    sent: list[Frame], garbage: list[bytes], cuts: list[int]
) -> None:
    """Noise without a flag between frames is at most one rejected frame per gap."""
    gaps = garbage[: len(sent)]
    stream = b"".join(g + encode_frame(f.kind, f.payload) for g, f in zip(gaps, sent, strict=True))
    stream += garbage[-1]
    decoder = FrameDecoder()
    out = feed_in_chunks(decoder, stream, cuts)
    assert [item for item in out if isinstance(item, Frame)] == sent
    assert decoder.frames_bad == sum(1 for g in gaps if g)


@given(
    st.lists(frames, min_size=2, max_size=6),
    st.data(),
)
def test_corrupting_one_frame_loses_only_that_frame(sent: list[Frame], data: st.DataObject) -> None:
    encoded = [encode_frame(f.kind, f.payload) for f in sent]
    victim = data.draw(st.integers(0, len(sent) - 1), label="victim")
    inner = data.draw(st.integers(1, len(encoded[victim]) - 2), label="byte")
    flip = data.draw(st.integers(1, 255), label="xor")
    corrupted = bytearray(encoded[victim])
    corrupted[inner] ^= flip
    encoded[victim] = bytes(corrupted)
    decoder = FrameDecoder()
    good = [item for item in decoder.feed(b"".join(encoded)) if isinstance(item, Frame)]
    assert good == sent[:victim] + sent[victim + 1 :]


noisy_streams = st.lists(
    st.one_of(
        st.binary(max_size=200),
        frames.map(lambda f: encode_frame(f.kind, f.payload)),
        st.sampled_from([b"\x7e", b"\x7d", b"\x7d\x7e", b"\x7e\x7e"]),
    ),
    max_size=12,
).map(b"".join)


@given(noisy_streams, st.lists(st.integers(min_value=0, max_value=3000)))
def test_chunked_feed_gives_what_one_feed_gives(stream: bytes, cuts: list[int]) -> None:
    """Frames cut anywhere (through the buffer) decode exactly as whole ones (sliced straight
    from the input), errors and their offsets included, oversize frames too."""
    whole = FrameDecoder(max_payload=64)
    chunked = FrameDecoder(max_payload=64)
    assert feed_in_chunks(chunked, stream, cuts) == whole.feed(bytearray(stream))
    assert (chunked.frames_good, chunked.frames_bad) == (whole.frames_good, whole.frames_bad)
    assert chunked.offset == whole.offset == len(stream)


@given(st.binary(max_size=2000), st.lists(st.integers(min_value=0, max_value=2000)))
def test_fuzz_never_raises_and_stays_bounded(noise: bytes, cuts: list[int]) -> None:
    decoder = FrameDecoder(max_payload=64)
    out = feed_in_chunks(decoder, noise, cuts)
    assert all(isinstance(item, Frame | FrameError) for item in out)
    assert len(decoder._raw) <= 2 * (64 + 3)
    # still in step: a good frame after the noise comes through
    frame = Frame(FrameKind.GBCS, b"after the noise")
    assert decoder.feed(encode_frame(frame.kind, frame.payload))[-1] == frame


def test_error_reasons_and_offsets() -> None:
    good = encode_frame(FrameKind.GBCS, b"ok")
    cases = [
        (b"\x7e\x01\x02\x7e", FrameErrorReason.TOO_SHORT),
        (raw_frame(b"\x05hello"), FrameErrorReason.UNKNOWN_KIND),
        (raw_frame(b"\x01"), FrameErrorReason.EMPTY),
        (good[:-3] + bytes([good[-3] ^ 1]) + good[-2:], FrameErrorReason.BAD_FCS),
        (b"\x7e\x01\x02\x03\x7d\x7e", FrameErrorReason.ABORTED),
        (encode_frame(FrameKind.GBCS, b"x" * 9), FrameErrorReason.OVERSIZE),
        (encode_frame(FrameKind.GBCS, b"\x7e" * 9), FrameErrorReason.OVERSIZE),
        (b"\x7e" + b"x" * 100 + b"\x7e", FrameErrorReason.OVERSIZE),
    ]
    for bad, reason in cases:
        decoder = FrameDecoder(max_payload=8)
        out = decoder.feed(good + bad + good)
        error = FrameError(reason, offset=len(good) + 1, length=len(bad) - 2)
        assert out == [Frame(FrameKind.GBCS, b"ok"), error, Frame(FrameKind.GBCS, b"ok")], reason
        assert (decoder.frames_good, decoder.frames_bad) == (2, 1)
        assert str(error).startswith(reason.value)


def test_max_payload_is_inclusive() -> None:
    decoder = FrameDecoder(max_payload=8)
    assert decoder.feed(encode_frame(FrameKind.GBCS, b"\x7d" * 8)) == [
        Frame(FrameKind.GBCS, b"\x7d" * 8)
    ]


def test_leading_noise_idle_flags_and_shared_flags() -> None:
    """Bytes before the first flag are one rejected frame; runs of flags are idle fill; two
    frames may share one flag."""
    frame = encode_frame(FrameKind.LINK, b"\x01")
    stream = b"boot banner" + b"\x7e" * 5 + frame + b"\x7e" * 3 + frame + frame[1:]
    assert FrameDecoder().feed(stream) == [
        FrameError(FrameErrorReason.BAD_FCS, offset=0, length=11),
        *[Frame(FrameKind.LINK, b"\x01")] * 3,
    ]


def test_escaped_control_characters_are_accepted() -> None:
    """A peer that also escapes bytes below 0x20 (RFC 1662 ACCM) still decodes."""
    plain = encode_frame(FrameKind.GBCS, b"A\x11B")
    escaped = plain.replace(b"\x11", b"\x7d\x31")
    assert FrameDecoder().feed(escaped) == [Frame(FrameKind.GBCS, b"A\x11B")]


def _bitwise_crc16_x25(data: bytes) -> int:
    """The FCS-16 bit by bit, as RFC 1662 defines it: the reference for the fast version."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


@given(st.binary(max_size=600))
def test_crc_matches_the_bitwise_definition(data: bytes) -> None:
    assert crc16_x25(data) == _bitwise_crc16_x25(data)


def test_a_process_that_imports_the_framing_first_honours_the_pure_python_fallback() -> None:
    """An emulator process imports devices before rig: the compiled FCS (rig._native) must still
    load as source under RIG_PURE_PYTHON=1, as every compiled module does."""
    probe = "import devices.transports.hdlc, devices.transports.fcs as f; print(f.__file__)"
    env = {**os.environ, "RIG_PURE_PYTHON": "1"}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip().endswith("fcs.py"), out.stdout + out.stderr
