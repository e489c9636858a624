"""Tunneling TransferData frames with scapy: sizes, fragmentation, rejection."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.dot15d4 import Dot15d4FCS

from devices.zigbee.frames import (
    MAX_ASDU,
    MAX_BLOCK,
    MAX_GBCS,
    MAX_PSDU,
    Encoder,
    Node,
    Reassembler,
    Tunnel,
    ZigbeeFrameError,
)
from devices.zigbee.link import NODE_TUNNEL, RIG_TUNNEL

ONE_FRAME = MAX_ASDU - 5  # the largest GBCS message that needs no fragmentation


def send(gbcs: bytes) -> tuple[list[bytes], bytes | None]:
    psdus = Encoder(RIG_TUNNEL).encode(gbcs)
    receiver = Reassembler(NODE_TUNNEL)
    results = [receiver.feed(psdu) for psdu in psdus]
    assert all(r is None for r in results[:-1])
    return psdus, results[-1]


@pytest.mark.parametrize(
    ("size", "frames"),
    [(1, 1), (ONE_FRAME, 1), (ONE_FRAME + 1, 2), (1000, 11), (MAX_GBCS, 255)],
)
def test_sizes_and_fragment_counts(size: int, frames: int) -> None:
    gbcs = bytes(i % 251 for i in range(size))
    psdus, received = send(gbcs)
    assert received == gbcs
    assert len(psdus) == frames
    assert max(len(p) for p in psdus) <= MAX_PSDU
    assert MAX_BLOCK == MAX_ASDU - 2  # the extended header's two bytes


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=1, max_size=600))
def test_round_trip(gbcs: bytes) -> None:
    assert send(gbcs)[1] == gbcs


def test_too_big_or_empty() -> None:
    with pytest.raises(ValueError):
        Encoder(RIG_TUNNEL).encode(bytes(MAX_GBCS + 1))
    with pytest.raises(ValueError):
        Encoder(RIG_TUNNEL).encode(b"")


def test_layers_as_scapy_sees_them() -> None:
    [psdu] = Encoder(RIG_TUNNEL).encode(b"gbcs")
    layers = [layer.__name__ for layer in Dot15d4FCS(psdu).layers()]
    assert layers[:5] == [
        "Dot15d4FCS",
        "Dot15d4Data",
        "ZigbeeNWK",
        "ZigbeeAppDataPayload",
        "ZigbeeClusterLibrary",
    ]


def test_frames_not_for_us_are_rejected() -> None:
    [psdu] = Encoder(RIG_TUNNEL).encode(b"gbcs")
    damaged = psdu[:-3] + bytes([psdu[-3] ^ 1]) + psdu[-2:]
    with pytest.raises(ZigbeeFrameError, match="FCS"):
        Reassembler(NODE_TUNNEL).feed(damaged)
    with pytest.raises(ZigbeeFrameError, match="not for us"):
        Reassembler(RIG_TUNNEL).feed(psdu)  # addressed to the node, not the rig
    other_pan = Tunnel(0x1111, NODE_TUNNEL.local, NODE_TUNNEL.remote)
    with pytest.raises(ZigbeeFrameError, match="not for us"):
        Reassembler(other_pan).feed(psdu)
    stranger = Tunnel(RIG_TUNNEL.pan_id, NODE_TUNNEL.local, Node(0x0042, tunnel_server=True))
    with pytest.raises(ZigbeeFrameError, match="unknown node"):
        Reassembler(stranger).feed(psdu)
    other_tunnel = Tunnel(RIG_TUNNEL.pan_id, NODE_TUNNEL.local, NODE_TUNNEL.remote, tunnel_id=9)
    with pytest.raises(ZigbeeFrameError, match="tunnel 1"):
        Reassembler(other_tunnel).feed(psdu)


def test_stray_and_abandoned_fragments() -> None:
    encoder = Encoder(RIG_TUNNEL)
    first = encoder.encode(bytes(300))
    second = encoder.encode(bytes(range(200)))
    receiver = Reassembler(NODE_TUNNEL)
    with pytest.raises(ZigbeeFrameError, match="stray fragment"):
        receiver.feed(first[1])
    assert receiver.feed(first[0]) is None
    for psdu in second[:-1]:  # a new message starts: the first is abandoned
        assert receiver.feed(psdu) is None
    assert receiver.abandoned == 1
    assert receiver.feed(second[-1]) == bytes(range(200))
