"""The stack's frame codecs: hypothesis round trips (encode then decode gives the value back) and
any bytes -> a value or one FrameError, for MAC, NWK, APS, ZDO and Tunneling frames."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from rig.zigbee import codec, tunnel
from rig.zigbee.aps import Reassembly, fragments
from rig.zigbee.codec import ApsFrame, FrameError, MacFrame, NwkFrame

euis = st.binary(min_size=8, max_size=8)
shorts = st.integers(0, 0xFFFD)
addresses = st.one_of(shorts, euis)
pans = st.integers(0, 0xFFFE)


@st.composite
def mac_frames(draw: st.DrawFn) -> MacFrame:
    kind = draw(st.sampled_from([codec.FRAME_DATA, codec.FRAME_COMMAND]))
    dst, src = draw(addresses), draw(st.one_of(st.none(), addresses))
    dst_pan = None if dst is None else draw(pans)
    src_pan = None if src is None else draw(st.one_of(st.just(dst_pan), pans)) or 0
    command = draw(st.integers(1, 9)) if kind == codec.FRAME_COMMAND else None
    return MacFrame(
        kind,
        draw(st.integers(0, 255)),
        draw(st.booleans()),
        draw(st.booleans()),
        dst_pan,
        dst,
        src_pan,
        src,
        command,
        draw(st.binary(max_size=40)),
    )


@settings(max_examples=80, deadline=None)
@given(mac_frames())
def test_mac_round_trip(frame: MacFrame) -> None:
    assert codec.mac_decode(codec.mac_encode(frame)) == frame


@settings(max_examples=40, deadline=None)
@given(pans, shorts, st.booleans(), euis, st.integers(0, 255))
def test_beacon_round_trip(pan: int, short: int, permit: bool, ext_pan: bytes, seq: int) -> None:
    frame = MacFrame(
        codec.FRAME_BEACON,
        seq,
        False,
        False,
        None,
        None,
        pan,
        short,
        payload=codec.beacon_payload(permit, ext_pan),
    )
    decoded = codec.mac_decode(codec.mac_encode(frame))
    assert decoded == frame
    assert codec.beacon_decode(decoded) == codec.Beacon(pan, short, permit, ext_pan)


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from([codec.NWK_DATA, codec.NWK_COMMAND]),
    shorts,
    shorts,
    st.integers(0, 255),
    st.binary(max_size=60),
    st.integers(0, 255),
    st.booleans(),
    st.one_of(st.none(), euis),
)
def test_nwk_round_trip(
    kind: int,
    dst: int,
    src: int,
    seq: int,
    payload: bytes,
    radius: int,
    secured: bool,
    ext: bytes | None,
) -> None:
    frame = NwkFrame(kind, dst, src, seq, payload, radius, secured, ext)
    assert codec.nwk_decode(codec.nwk_encode(frame)) == frame


@st.composite
def aps_frames(draw: st.DrawFn) -> ApsFrame:
    kind = draw(st.sampled_from([codec.APS_DATA, codec.APS_ACK, codec.APS_COMMAND]))
    counter, payload = draw(st.integers(0, 255)), draw(st.binary(max_size=60))
    if kind == codec.APS_COMMAND:
        return ApsFrame(kind, counter, payload, secured=draw(st.booleans()))
    fragmentation = draw(st.sampled_from([0, 1, 2]))
    return ApsFrame(
        kind,
        counter,
        b"" if kind == codec.APS_ACK else payload,
        draw(st.integers(0, 255)),
        draw(st.integers(0, 0xFFFF)),
        draw(st.integers(0, 0xFFFF)),
        draw(st.integers(0, 255)),
        ack_request=draw(st.booleans()),
        broadcast=draw(st.booleans()),
        secured=draw(st.booleans()),
        fragmentation=fragmentation,
        block=draw(st.integers(0, 255)) if fragmentation else 0,
        ack_bitfield=draw(st.integers(0, 255)) if fragmentation and kind == codec.APS_ACK else 0,
    )


@settings(max_examples=80, deadline=None)
@given(aps_frames())
def test_aps_round_trip(frame: ApsFrame) -> None:
    assert codec.aps_decode(codec.aps_encode(frame)) == frame


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 255), shorts, euis, st.integers(0, 255), st.binary(min_size=16, max_size=16))
def test_zdo_and_transport_key_round_trip(
    seq: int, short: int, eui: bytes, cap: int, key: bytes
) -> None:
    assert codec.device_annce_decode(codec.device_annce(seq, short, eui, cap)) == (short, eui, cap)
    payload = codec.transport_key(key, seq, eui, eui[::-1])
    assert codec.transport_key_decode(payload) == (key, seq, eui, eui[::-1])


@settings(max_examples=40, deadline=None)
@given(st.booleans(), st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(min_size=1))
def test_transfer_data_round_trip(from_server: bool, seq: int, tunnel_id: int, data: bytes) -> None:
    command = tunnel.zcl_decode(tunnel.transfer_data(from_server, seq, tunnel_id, data))
    assert (command.from_server, command.seq) == (from_server, seq)
    assert tunnel.transfer_data_decode(command) == (tunnel_id, data)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=3000), st.integers(20, 100))
def test_fragments_reassemble(asdu: bytes, block: int) -> None:
    parts = fragments(asdu, block + 2, block)
    reassembly = Reassembly()
    results = [reassembly.feed(7, kind, number, chunk) for kind, number, chunk in parts]
    assert results[-1] == asdu and all(r is None for r in results[:-1])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_any_bytes_give_a_value_or_one_frame_error(data: bytes) -> None:
    for decode in (
        codec.mac_decode,
        codec.nwk_decode,
        codec.aps_decode,
        tunnel.zcl_decode,
        codec.device_annce_decode,
        codec.transport_key_decode,
        codec.assoc_response_decode,
        codec.nwk_command_decode,
    ):
        with contextlib.suppress(FrameError):
            decode(data)
