"""The bridge's SLIP framing, sans I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.zigbee.bridge_codec import (
    MAX_DATA,
    BridgeDecoder,
    BridgeError,
    BridgeMessage,
    MessageType,
    encode_message,
    rx_data,
    split_rx,
)

messages = st.builds(
    BridgeMessage,
    st.sampled_from(MessageType),
    st.integers(0, 255),
    st.binary(max_size=MAX_DATA),
)


@given(st.lists(messages, max_size=10), st.lists(st.integers(0, 4000), max_size=10))
def test_round_trip_in_any_chunking(sent: list[BridgeMessage], cuts: list[int]) -> None:
    wire = b"".join(encode_message(m) for m in sent)
    decoder = BridgeDecoder()
    out = []
    start = 0
    for cut in sorted(c for c in cuts if c < len(wire)):
        out += decoder.feed(wire[start:cut])
        start = cut
    out += decoder.feed(wire[start:])
    assert out == sent


def test_stuffing_example() -> None:
    wire = encode_message(BridgeMessage(MessageType.TX, 0xC0, b"\xdb"))
    assert wire[0] == wire[-1] == 0xC0
    assert b"\xc0" not in wire[1:-1]
    assert wire[1:6] == b"\x01\xdb\xdc\xdb\xdd"


def test_damage_is_rejected_and_the_next_frame_survives() -> None:
    good = encode_message(BridgeMessage(MessageType.RX, 1, b"payload"))
    bad = bytearray(good)
    bad[4] ^= 0x01
    decoder = BridgeDecoder()
    out = decoder.feed(b"noise" + bytes(bad) + good + b"\xc0\xdb\xc0")
    assert [type(i) for i in out] == [BridgeError, BridgeError, BridgeMessage, BridgeError]
    assert [i.reason for i in out if isinstance(i, BridgeError)] == [
        "bad CRC",  # the noise
        "bad CRC",
        "bad escape",
    ]
    assert decoder.frames_good == 1 and decoder.frames_bad == 3


def test_oversize_is_not_buffered() -> None:
    decoder = BridgeDecoder()
    out = decoder.feed(b"\xc0" + b"\x01" * 10_000 + b"\xc0")
    assert out == [BridgeError("oversize", 0)]


def test_limits_and_rx_data() -> None:
    with pytest.raises(ValueError):
        encode_message(BridgeMessage(MessageType.TX, 256, b""))
    with pytest.raises(ValueError):
        encode_message(BridgeMessage(MessageType.TX, 0, bytes(MAX_DATA + 1)))
    assert split_rx(rx_data(b"\x41\x88", lqi=200, rssi=-70)) == (200, -70, b"\x41\x88")
    with pytest.raises(ValueError):
        split_rx(b"\x00")
