"""The struct fast paths of ``STREAM_RAW`` (received and sent) and the TX-done ``LAST_STATUS``
(devices/spinel/properties.py) against the general packing-format codec: the same bytes, the
same values."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.spinel.codec import SpinelError, pack, unpack
from devices.spinel.properties import (
    RX_FORMAT,
    TX_DONE_FORMAT,
    TX_FORMAT,
    Prop,
    RxFrame,
    TxDone,
    TxRequest,
)

rx_frames = st.builds(
    RxFrame,
    psdu=st.binary(max_size=127),
    rssi=st.integers(-128, 127),
    channel=st.integers(0, 255),
    lqi=st.integers(0, 255),
    timestamp_us=st.integers(0, 2**64 - 1),
    flags=st.integers(0, 0xFFFF),
    noise_floor=st.integers(-128, 127),
    error=st.integers(0, 300),
)


def _general(frame: RxFrame) -> bytes:
    return pack(
        RX_FORMAT,
        frame.psdu,
        frame.rssi,
        frame.noise_floor,
        frame.flags,
        (frame.channel, frame.lqi, frame.timestamp_us),
        (frame.error,),
        (0, 0),
    )


@settings(max_examples=200, deadline=None)
@given(rx_frames)
def test_rx_frames_encode_as_the_general_codec_and_decode_back(frame: RxFrame) -> None:
    data = frame.encode()
    assert data == _general(frame)
    assert RxFrame.decode(data) == frame
    assert RxFrame.decode(b"\x00" * 3 + data, 3) == frame
    assert unpack(RX_FORMAT, data)[0] == frame.psdu


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 200), st.booleans(), st.one_of(st.none(), rx_frames))
def test_tx_done_decodes_as_the_general_codec(
    status: int, pending: bool, ack: RxFrame | None
) -> None:
    done = TxDone(status, pending, ack if status == 0 and ack is not None and ack.psdu else None)
    data = TxDone(status, pending, ack).encode()  # a failed transmission carries no ACK
    head = pack(TX_DONE_FORMAT, status, pending, False)
    assert data[: len(head)] == head
    assert data == head if status else len(data) > len(head)
    assert TxDone.decode(data) == done


@settings(max_examples=200, deadline=None)
@given(
    st.binary(min_size=2, max_size=127),
    st.integers(0, 300),
    st.integers(0, 300),
    st.integers(0, 300),
    st.booleans(),
)
def test_tx_requests_encode_and_decode_as_the_general_codec(
    psdu: bytes, channel: int, backoffs: int, retries: int, csma: bool
) -> None:
    request = TxRequest(psdu, channel, backoffs, retries, csma)
    try:
        general = pack(TX_FORMAT, psdu, channel, backoffs, retries, csma)
    except SpinelError:  # out of a byte's range: the general packer's error, fast path or not
        try:
            request.encode()
        except SpinelError:
            return
        raise AssertionError("the fast path packed what the general codec refuses") from None
    assert request.encode() == general
    assert TxRequest.decode(general) == request
    assert Prop.STREAM_RAW.decode_set(general)[:5] == (psdu, channel, backoffs, retries, csma)


@given(st.binary(max_size=140))
def test_tx_request_decode_of_any_bytes_is_a_request_or_one_error(data: bytes) -> None:
    try:
        fast = TxRequest.decode(data)
    except SpinelError:
        return
    fields = Prop.STREAM_RAW.decode_set(data)  # what the general codec makes of them
    assert (fast.psdu, fast.channel) == fields[:2]
