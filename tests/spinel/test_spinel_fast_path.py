"""The struct fast paths of ``STREAM_RAW`` and the TX-done ``LAST_STATUS`` (devices/spinel/
properties.py) against the general packing-format codec: the same bytes, the same values."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.spinel.codec import pack, unpack
from devices.spinel.properties import RX_FORMAT, TX_DONE_FORMAT, RxFrame, TxDone

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
    assert data[: len(pack(TX_DONE_FORMAT, status, pending, False))] == pack(
        TX_DONE_FORMAT, status, pending, False
    )
    assert TxDone.decode(data) == done
