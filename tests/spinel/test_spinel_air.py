"""The emulated RCP and air, in process on a virtual clock: air time, loss (seeded), delay,
retries, channels, address filtering, promiscuous mode, RESET, and errors answered by status."""

from __future__ import annotations

import pytest

from devices.spinel import mac
from devices.spinel.codec import Command, SpinelFrame, Status, decode_packed, prop_frame, split_prop
from devices.spinel.properties import Prop, Property, RxFrame, TxDone, TxRequest
from devices.spinel.rcp import Air, AirConfig, EmulatedRcp

PAN = 0x4742


def frame(dst: int, seq: int = 1, ack: bool = True) -> bytes:
    fc = 0x0001 | (0x20 if ack else 0) | 0x40 | 2 << 10 | 2 << 14
    return (
        fc.to_bytes(2, "little")
        + bytes([seq])
        + b"\x42\x47"
        + dst.to_bytes(2, "little")
        + (b"\x00\x00payload")
    )


def command(
    rcp: EmulatedRcp, cmd: int, prop: Property, value: bytes = b"", tid: int = 1
) -> list[SpinelFrame]:
    return [
        SpinelFrame.decode(f)
        for _, f in rcp.handle(prop_frame(cmd, prop.id, value, tid).encode(), 0.0)
    ]


def radio(air: Air, n: int, channel: int = 15) -> EmulatedRcp:
    rcp = EmulatedRcp(air, bytes(7) + bytes([n]))
    for prop, value in (
        (Prop.PHY_CHAN, channel),
        (Prop.MAC_15_4_PANID, PAN),
        (Prop.MAC_15_4_SADDR, n),
        (Prop.MAC_RAW_STREAM_ENABLED, True),
        (Prop.PHY_ENABLED, True),
    ):
        command(rcp, Command.PROP_VALUE_SET, prop, prop.encode(value))
    return rcp


def send(air: Air, rcp: EmulatedRcp, psdu: bytes, now: float = 0.0, tid: int = 3) -> None:
    assert (
        command(
            rcp,
            Command.PROP_VALUE_SET,
            Prop.STREAM_RAW,
            TxRequest(psdu + b"\0\0", 15).encode(),
            tid,
        )
        == []
    )


def outputs(rcp: EmulatedRcp) -> list[tuple[float, TxDone | RxFrame]]:
    out: list[tuple[float, TxDone | RxFrame]] = []
    for at, wire in rcp.take_outbox():
        prop, value = split_prop(SpinelFrame.decode(wire).payload)
        out.append((at, TxDone.decode(value) if prop == 0 else RxFrame.decode(value)))
    return out


def test_air_time_ack_and_timestamps() -> None:
    air = Air()
    a, b = radio(air, 1), radio(air, 2)
    send(air, a, frame(2))
    air.advance(1.0)
    psdu_len = len(frame(2)) + 2
    end = mac.air_time_us(psdu_len) * 1e-6  # (len + 6) * 32 us
    [(heard_at, heard)] = outputs(b)
    assert heard_at == end and isinstance(heard, RxFrame) and mac.fcs_ok(heard.psdu)
    [(done_at, done)] = outputs(a)
    assert isinstance(done, TxDone) and done.status == Status.OK
    assert done_at == end + (mac.TURNAROUND_US + mac.air_time_us(5)) * 1e-6


def test_loss_gives_retries_then_no_ack_and_is_seeded() -> None:
    def run(seed: int) -> tuple[int, int]:
        air = Air(AirConfig(loss=1.0, seed=seed))
        a, b = radio(air, 1), radio(air, 2)
        send(air, a, frame(2))
        air.advance(1.0)
        [(_, done)] = outputs(a)
        assert isinstance(done, TxDone) and done.status == Status.NO_ACK
        assert outputs(b) == []
        return air.stats.frames, air.stats.retries

    assert run(1) == (4, 3)  # the first try and macMaxFrameRetries = 3

    def partial(seed: int) -> list[object]:
        air = Air(AirConfig(loss=0.5, seed=seed))
        a, _ = radio(air, 1), radio(air, 2)
        results = []
        for seq in range(20):
            send(air, a, frame(2, seq), now=seq * 1.0)
            air.advance(seq + 0.5)
            results += [d.status for _, d in outputs(a)]  # type: ignore[union-attr]
        return results

    assert partial(7) == partial(7)
    assert Status.OK in partial(7)


def test_delay_beyond_the_ack_wait_means_no_ack() -> None:
    air = Air(AirConfig(delay_s=0.002))
    a, b = radio(air, 1), radio(air, 2)
    send(air, a, frame(2))
    air.advance(1.0)
    assert [d.status for _, d in outputs(a)] == [Status.NO_ACK]  # type: ignore[union-attr]
    assert len(outputs(b)) == 4  # each try arrived, late


def test_other_channel_other_address_and_promiscuous() -> None:
    air = Air()
    a, b, far = radio(air, 1), radio(air, 2), radio(air, 3, channel=20)
    sniffer = radio(air, 4)
    command(sniffer, Command.PROP_VALUE_SET, Prop.MAC_PROMISCUOUS_MODE, b"\x02")
    send(air, a, frame(2))
    air.advance(1.0)
    assert len(outputs(b)) == 1 and outputs(far) == []
    assert len(outputs(sniffer)) == 2  # the frame and the ACK: a sniffer hears everything


def test_reset_restores_defaults_and_drops_a_transmission_in_flight() -> None:
    air = Air()
    a, _ = radio(air, 1), radio(air, 2)
    send(air, a, frame(2))
    [reply] = [SpinelFrame.decode(f) for _, f in a.handle(SpinelFrame(Command.RESET).encode(), 0)]
    assert reply.encode() == bytes.fromhex("80 06 00 72")
    air.advance(1.0)
    assert outputs(a) == []
    [is_] = command(a, Command.PROP_VALUE_GET, Prop.PHY_ENABLED)
    assert split_prop(is_.payload) == (Prop.PHY_ENABLED.id, b"\x00")


def status_of(replies: list[SpinelFrame]) -> int:
    [reply] = replies
    prop, value = split_prop(reply.payload)
    assert prop == Prop.LAST_STATUS.id
    return decode_packed(value)[0]


def test_errors_are_answered_by_last_status_with_the_tid() -> None:
    air = Air()
    a = EmulatedRcp(air, bytes(8))
    tx = TxRequest(frame(2) + b"\0\0", 15).encode()
    assert status_of(command(a, Command.PROP_VALUE_SET, Prop.STREAM_RAW, tx)) == (
        Status.INVALID_STATE  # the radio is off
    )
    assert status_of(command(a, Command.PROP_VALUE_SET, Prop.PHY_CHAN, b"\x05")) == (
        Status.INVALID_ARGUMENT
    )
    assert status_of(command(a, Command.PROP_VALUE_SET, Prop.CAPS, b"")) == Status.PROP_NOT_FOUND
    assert status_of(command(a, Command.PROP_VALUE_SET, Prop.PHY_ENABLED, b"\x07")) == (
        Status.PARSE_ERROR
    )
    assert status_of(command(a, 99, Prop.PHY_ENABLED)) == Status.INVALID_COMMAND
    unknown = Property(0x3FF, "UNKNOWN", "C")
    replies = command(a, Command.PROP_VALUE_GET, unknown, tid=9)
    assert status_of(replies) == Status.PROP_NOT_FOUND and replies[0].tid == 9
    assert (
        status_of(
            command(a, Command.PROP_VALUE_REMOVE, Prop.MAC_SRC_MATCH_SHORT_ADDRESSES, b"\x01\x00")
        )
        == Status.ITEM_NOT_FOUND
    )
    assert a.handle(b"\x00garbage", 0.0) == []


def test_benchmark_figure_runs_the_whole_path() -> None:
    """``rig benchmark spinel``'s figure: every frame through the RCP, the air and back."""
    from rig.benchmarks.spinel import measure

    figure = measure(seconds=0.1, payload=20)
    assert figure.frames >= 1 and figure.psdu_bytes == 31  # as many as 0.1 s of CPU allows
    assert figure.air_frames_per_s == pytest.approx(1 / ((37 * 32 + 192 + 11 * 32) * 1e-6))
    assert figure.ratio > 0
