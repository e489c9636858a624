"""Secured NWK and APS frames (rig/zigbee/security.py): captured frames opened, round trips, and
every alteration or stale counter refused with its reason."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.zigbee import ZigbeeAppDataPayload, ZigbeeNWK
from scapy.packet import Raw

from rig.zigbee.counters import Drop, FrameCounters
from rig.zigbee.security import (
    AuxHeader,
    FrameError,
    FrameRefused,
    KeyId,
    aps_header_length,
    nwk_header_length,
    open_aps,
    open_nwk,
    secure_aps,
    secure_nwk,
)

H = bytes.fromhex
DEFAULT_LINK_KEY = b"ZigBeeAlliance09"
NETWORK_KEY = H("002C6C08D0F4F42CD840D84800406408")
JOINER = 0x000D6FFFFE21AE85  # on the air 85 AE 21 FE FF 6F 0D 00
TRUST_CENTER = 0x00212EFFFF032E38
EMPTY = FrameCounters()

# Frames captured on a ZigBee network, from blueluna/psila's security tests (psila-service
# security/mod.rs: decode_security_header, test_handle_secure_payload_2 and _3).
TRANSPORT_KEY = H(
    "2145"
    "30"
    "02000000"
    "382E03FFFF2E2100"
    "AE5E9F46A640CDE7902FD60E432317484B4C5A9B4CDE1CE70707B6FB1A0BE9997E0AF80FDF5DCF"
)
DEVICE_ANNOUNCE = H(
    "0812FDFF7BC01E04"
    "85AE21FEFF6F0D00"
    "28"
    "00000000"
    "85AE21FEFF6F0D00"
    "00"
    "AD41D37EF75D6A67017B1462EEFA6AE1D13159B47DD4F2B9"
)
OTHER_KEY = H("4E483C5D6F682656704E244B5C535144")
OTHER_ANNOUNCE = H(
    "0802FDFF6A6A0A642800000000C1E91F0000FF0F0000EA1513E13612CC447564B01D792DFEDFC5617484C33A8128"
)


def test_a_captured_transport_key_gives_the_network_key_that_opens_the_captured_announce() -> None:
    opened = open_aps(TRANSPORT_KEY, {TRUST_CENTER: DEFAULT_LINK_KEY}, EMPTY)
    assert opened.aux == AuxHeader(KeyId.KEY_TRANSPORT, 2, TRUST_CENTER)
    # APS command header (security bit now clear), Transport Key (0x05), standard network key
    # (0x01), the key, its sequence number, destination and source addresses
    assert opened.frame[:2] == H("0145") and opened.frame[2:4] == H("0501")
    network_key = opened.frame[4:20]
    assert network_key == NETWORK_KEY
    announce = open_nwk(DEVICE_ANNOUNCE, {0: network_key}, EMPTY)
    assert announce.aux.source == JOINER and announce.aux.counter == 0
    # NWK header with its security bit clear, then APS to the ZDO's Device_annce (0x0013)
    assert announce.frame == H("0810FDFF7BC01E0485AE21FEFF6F0D00") + H(
        "0800130000000006817BC085AE21FEFF6F0D0080"
    )
    assert announce.counters.last == {JOINER: 0}
    # and secured again with the same key and counter, the capture comes back bit for bit
    assert secure_nwk(announce.frame, network_key, 0, JOINER) == DEVICE_ANNOUNCE
    assert secure_aps(opened.frame, DEFAULT_LINK_KEY, 2, TRUST_CENTER, KeyId.KEY_TRANSPORT) == (
        TRANSPORT_KEY
    )


def test_a_second_captured_nwk_frame() -> None:
    opened = open_nwk(OTHER_ANNOUNCE, {0: OTHER_KEY}, EMPTY)
    assert opened.frame[8:] == H("0800130000000000816A6AC1E91F0000FF0F008E")


# -- round trips -------------------------------------------------------------------------------

EUI = st.integers(0, 2**64 - 1)


@st.composite
def nwk_frames(draw: st.DrawFn) -> bytes:
    """Unsecured NWK data frames as scapy builds them, with every optional header field."""
    flags = draw(st.sets(st.sampled_from(["extended_dst", "extended_src", "source_route"])))
    nwk = ZigbeeNWK(
        frametype=draw(st.sampled_from([0, 1])),
        flags=sorted(flags),
        destination=draw(st.integers(0, 0xFFFF)),
        source=draw(st.integers(0, 0xFFFF)),
        radius=draw(st.integers(0, 255)),
        seqnum=draw(st.integers(0, 255)),
        ext_dst=draw(EUI),
        ext_src=draw(EUI),
        relays=draw(st.lists(st.integers(0, 0xFFFF), max_size=3)),
    )
    if "source_route" in flags:
        nwk.relay_count = len(nwk.relays)
    aps = ZigbeeAppDataPayload(
        frame_control=0, cluster=0x0704, profile=0x0109, counter=draw(st.integers(0, 255))
    )
    return bytes(nwk / aps / Raw(draw(st.binary(max_size=60))))


@settings(max_examples=150)
@given(nwk_frames(), st.binary(min_size=16, max_size=16), st.integers(0, 2**32 - 2), EUI)
def test_open_nwk_undoes_secure_nwk(frame: bytes, key: bytes, counter: int, source: int) -> None:
    secured = secure_nwk(frame, key, counter, source, key_seq=3)
    assert len(secured) == len(frame) + 14 + 4  # auxiliary header and MIC-32
    opened = open_nwk(secured, {3: key}, EMPTY)
    assert opened.frame == frame
    assert opened.aux == AuxHeader(KeyId.NETWORK, counter, source, 3)
    assert opened.counters.last == {source: counter}


@st.composite
def aps_frames(draw: st.DrawFn) -> bytes:
    frame_type = draw(st.sampled_from([0, 1, 2]))
    flags = ["ack_req", "extended_hdr"] if frame_type != 1 else ["ack_req"]  # as scapy builds
    aps = ZigbeeAppDataPayload(
        frame_control=sorted(draw(st.sets(st.sampled_from(flags)))),
        aps_frametype=frame_type,
        delivery_mode=draw(st.sampled_from([0, 2, 3])) if frame_type == 0 else 0,
        group_addr=draw(st.integers(0, 0xFFFF)),
        counter=draw(st.integers(0, 255)),
        fragmentation=draw(st.sampled_from([0, 1, 2])) if frame_type == 0 else 0,
        block_number=draw(st.integers(0, 255)),
    )
    return bytes(aps / Raw(draw(st.binary(max_size=60))))


@given(
    aps_frames(),
    st.binary(min_size=16, max_size=16),
    st.integers(0, 2**32 - 2),
    EUI,
    st.sampled_from([KeyId.DATA, KeyId.KEY_TRANSPORT, KeyId.KEY_LOAD]),
    st.booleans(),
)
def test_open_aps_undoes_secure_aps(
    frame: bytes, key: bytes, counter: int, source: int, key_id: KeyId, extended: bool
) -> None:
    secured = secure_aps(frame, key, counter, source, key_id, extended_nonce=extended)
    opened = open_aps(secured, {source: key}, EMPTY, source=None if extended else source)
    assert opened.frame == frame and opened.aux.key_id == key_id


# -- refusals ----------------------------------------------------------------------------------

KEY = bytes(range(16))


@settings(max_examples=200)
@given(nwk_frames(), st.data())
def test_any_bit_flip_in_a_secured_nwk_frame_is_refused(frame: bytes, data: st.DataObject) -> None:
    secured = secure_nwk(frame, KEY, 7, 0x1122334455667788)
    bit = data.draw(st.integers(0, len(secured) * 8 - 1), label="bit")
    flipped = bytearray(secured)
    flipped[bit // 8] ^= 1 << bit % 8
    with pytest.raises(FrameRefused) as refused:
        open_nwk(bytes(flipped), {0: KEY}, EMPTY)
    assert refused.value.counters.dropped() == 1
    assert refused.value.counters.last == {}  # a forged frame never moves a counter


@given(aps_frames(), st.data())
def test_any_bit_flip_in_a_secured_aps_frame_is_refused(frame: bytes, data: st.DataObject) -> None:
    secured = secure_aps(frame, KEY, 7, TRUST_CENTER, KeyId.KEY_TRANSPORT)
    bit = data.draw(st.integers(0, len(secured) * 8 - 1), label="bit")
    flipped = bytearray(secured)
    flipped[bit // 8] ^= 1 << bit % 8
    with pytest.raises(FrameRefused):
        open_aps(bytes(flipped), {TRUST_CENTER: KEY}, EMPTY)


@given(st.binary(max_size=80))
def test_any_bytes_open_or_are_refused_with_one_reason(data: bytes) -> None:
    for opener in (
        lambda: open_nwk(data, {0: KEY}, EMPTY),
        lambda: open_aps(data, {TRUST_CENTER: KEY}, EMPTY, source=TRUST_CENTER),
    ):
        try:
            opener()
        except FrameRefused as refused:
            assert refused.reason in Drop and "\n" not in str(refused)


def test_replayed_and_stale_counters_are_dropped_and_counted() -> None:
    frame = H("0800FFFF00001E01") + b"payload"
    first = open_nwk(secure_nwk(frame, KEY, 10, JOINER), {0: KEY}, EMPTY)
    with pytest.raises(FrameRefused, match=r"\(replay\)") as replay:
        open_nwk(secure_nwk(frame, KEY, 10, JOINER), {0: KEY}, first.counters)
    with pytest.raises(FrameRefused, match=r"\(stale\)") as stale:
        open_nwk(secure_nwk(frame, KEY, 9, JOINER), {0: KEY}, replay.value.counters)
    counters = stale.value.counters
    assert counters.dropped(Drop.REPLAY, JOINER) == 1 and counters.dropped(Drop.STALE) == 1
    assert counters.last == {JOINER: 10}
    assert open_nwk(secure_nwk(frame, KEY, 11, JOINER), {0: KEY}, counters).counters.last == {
        JOINER: 11
    }
    # each sender has its own counter
    assert open_nwk(secure_nwk(frame, KEY, 1, TRUST_CENTER), {0: KEY}, counters).frame == frame


def test_each_refusal_names_its_reason() -> None:
    frame = H("0800FFFF00001E01") + b"payload"
    secured = secure_nwk(frame, KEY, 1, JOINER)
    cases = {
        Drop.UNSECURED: (frame, {0: KEY}),
        Drop.KEY: (secured, {1: KEY}),
        Drop.MIC: (secured, {0: bytes(16)}),
        Drop.MALFORMED: (secured[:12], {0: KEY}),
        Drop.LEVEL: (secured[:8] + bytes([secured[8] | 5]) + secured[9:], {0: KEY}),
    }
    for reason, (data, keys) in cases.items():
        with pytest.raises(FrameRefused) as refused:
            open_nwk(data, keys, EMPTY)
        assert refused.value.reason == reason
        assert refused.value.counters.dropped(reason) == 1
    aps = secure_aps(H("0101") + b"x", KEY, 1, JOINER, extended_nonce=False)
    with pytest.raises(FrameRefused, match="neither in the frame nor given"):
        open_aps(aps, {JOINER: KEY}, EMPTY)
    with pytest.raises(FrameRefused, match="no link key for 000D6FFFFE21AE85"):
        open_aps(aps, {}, EMPTY, source=JOINER)


def test_frames_that_cannot_be_secured_say_why() -> None:
    with pytest.raises(FrameError, match="already secured"):
        secure_nwk(H("0802FFFF00001E01"), KEY, 1, JOINER)
    with pytest.raises(FrameError, match="needs 8 bytes, not 3"):
        nwk_header_length(b"abc")
    with pytest.raises(FrameError, match="Inter-PAN"):
        aps_header_length(b"\x03")
    with pytest.raises(FrameError, match="network key are not made here"):
        secure_aps(H("0001"), KEY, 1, JOINER, KeyId.NETWORK)
