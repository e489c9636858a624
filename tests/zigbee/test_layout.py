"""The struct layouts of the stack's hot path (rig/zigbee/layout.py) against scapy's layers
(tests/zigbee/scapy_reference.py: how codec.py built and parsed frames before): on random frames
both build the same bytes and parse them to the same value, and scapy dissects the fast path's
bytes to the fields it was given."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.zigbee import ZigbeeAppDataPayload, ZigbeeNWK
from scapy_reference import (
    scapy_aps_encode,
    scapy_mac_decode,
    scapy_mac_encode,
    scapy_nwk_encode,
    scapy_transfer_data,
    scapy_transfer_data_decode,
    scapy_zcl_decode,
)
from test_stack_codec import aps_frames, euis, mac_frames, pans, shorts

from rig.zigbee import codec, layout, tunnel
from rig.zigbee.codec import ApsFrame, MacFrame, NwkFrame


@settings(max_examples=150, deadline=None)
@given(mac_frames())
def test_mac_frames_are_built_and_parsed_as_scapy_does(frame: MacFrame) -> None:
    data = codec.mac_encode(frame)
    assert data == scapy_mac_encode(frame)
    assert codec.mac_decode(data) == scapy_mac_decode(data) == frame


@settings(max_examples=40, deadline=None)
@given(pans, shorts, st.booleans(), euis, st.integers(0, 255))
def test_beacons_are_built_and_parsed_as_scapy_does(
    pan: int, short: int, permit: bool, ext_pan: bytes, seq: int
) -> None:
    payload = codec.beacon_payload(permit, ext_pan)
    frame = MacFrame(codec.FRAME_BEACON, seq, False, False, None, None, pan, short, None, payload)
    data = codec.mac_encode(frame)
    assert data == scapy_mac_encode(frame)
    assert codec.mac_decode(data) == scapy_mac_decode(data) == frame


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([codec.NWK_DATA, codec.NWK_COMMAND]),
    shorts,
    shorts,
    st.integers(0, 255),
    st.binary(max_size=40),
    st.integers(0, 255),
    st.booleans(),
    st.one_of(st.none(), euis),
)
def test_nwk_frames_are_built_as_scapy_does_and_scapy_reads_them(
    kind: int, dst: int, src: int, seq: int, payload: bytes, radius: int, secured: bool, ext
) -> None:
    frame = NwkFrame(kind, dst, src, seq, payload, radius, secured, ext)
    data = codec.nwk_encode(frame)
    assert data == scapy_nwk_encode(frame)
    dissected = ZigbeeNWK(data)
    assert (dissected.destination, dissected.source, dissected.radius) == (dst, src, radius)
    assert (dissected.seqnum, dissected.frametype) == (seq, kind)
    assert codec.nwk_decode(data) == frame


@settings(max_examples=150, deadline=None)
@given(aps_frames())
def test_aps_frames_are_built_as_scapy_does_and_scapy_reads_them(frame: ApsFrame) -> None:
    data = codec.aps_encode(frame)
    assert data == scapy_aps_encode(frame)
    assert codec.aps_decode(data) == frame
    if frame.frame_type != codec.APS_COMMAND and not frame.secured:
        dissected = ZigbeeAppDataPayload(data)
        assert (dissected.aps_frametype, dissected.counter) == (frame.frame_type, frame.counter)
        assert (dissected.cluster, dissected.profile) == (frame.cluster, frame.profile)


@settings(max_examples=80, deadline=None)
@given(st.booleans(), st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(min_size=1))
def test_transfer_data_is_built_and_parsed_as_scapy_does(
    from_server: bool, seq: int, tunnel_id: int, data: bytes
) -> None:
    asdu = tunnel.transfer_data(from_server, seq, tunnel_id, data)
    assert asdu == scapy_transfer_data(from_server, seq, tunnel_id, data)
    command = tunnel.zcl_decode(asdu)
    assert command == scapy_zcl_decode(asdu)
    assert tunnel.transfer_data_decode(command) == scapy_transfer_data_decode(command)


def test_a_layout_refuses_a_header_cut_short_and_a_reserved_address_mode() -> None:
    frame = codec.mac_encode(MacFrame(codec.FRAME_DATA, 1, True, False, 1, 0x1234, 1, 0, None))
    with pytest.raises(layout.LayoutError, match="cut short"):
        layout.MAC.decode(frame[:-1])
    reserved = (int.from_bytes(frame[:2], "little") & ~0x0C00 | 0x0400).to_bytes(2, "little")
    with pytest.raises(layout.LayoutError, match="reserved"):
        layout.MAC.decode(reserved + frame[2:])
    with pytest.raises(codec.FrameError, match="reserved"):
        codec.mac_decode(reserved + frame[2:])
