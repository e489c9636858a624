"""Faults on the emulated air (devices/spinel/air_faults.py), on a virtual clock: drop, delay,
corrupt, replay, jam; scheduled windows, matching by device and direction, probability with a
seed; each logged with the frames it touched."""

from __future__ import annotations

import pytest
from test_spinel_air import frame, outputs, radio

from devices.spinel import mac
from devices.spinel.air_faults import JAM_CCA_FAILURE_S, AirFault, AirFaultKind, AirFaults
from devices.spinel.codec import Command, Status, prop_frame
from devices.spinel.properties import Prop, RxFrame, TxDone, TxRequest
from devices.spinel.rcp import Air, EmulatedRcp
from devices.transports.faults import Direction, Fault

HUB = bytes(7) + b"\x01"
METER = bytes(7) + b"\x02"
OTHER = bytes(7) + b"\x03"


def han(*faults: AirFault, seed: int = 0) -> tuple[Air, EmulatedRcp, EmulatedRcp, EmulatedRcp]:
    air = Air(faults=AirFaults(faults, hub=HUB, seed=seed))
    return air, radio(air, 1), radio(air, 2), radio(air, 3)


def send(air: Air, rcp: EmulatedRcp, psdu: bytes, now: float = 0.0) -> None:
    """Transmit ``psdu`` at ``now`` (the air runs to ``now`` first)."""
    air.advance(now)
    request = TxRequest(psdu + b"\0\0", 15).encode()
    assert (
        rcp.handle(prop_frame(Command.PROP_VALUE_SET, Prop.STREAM_RAW.id, request, 3).encode(), now)
        == []
    )


def heard(rcp: EmulatedRcp) -> list[tuple[float, RxFrame]]:
    return [(at, f) for at, f in outputs(rcp) if isinstance(f, RxFrame)]


def statuses(rcp: EmulatedRcp) -> list[int]:
    return [f.status for _, f in outputs(rcp) if isinstance(f, TxDone)]


def test_drop_only_the_matching_device_and_direction_within_the_window() -> None:
    air, hub, meter, other = han(
        AirFault(AirFaultKind.DROP, at_s=1.0, for_s=1.0, device=METER, direction=Direction.TX)
    )
    send(air, hub, frame(2), now=0.0)  # before the window: through
    air.advance(0.5)
    assert len(heard(meter)) == 1 and statuses(hub) == [Status.OK]
    send(air, hub, frame(2, seq=2), now=1.0)  # in it: every try dropped, so NO_ACK
    air.advance(1.5)
    assert heard(meter) == [] and statuses(hub) == [Status.NO_ACK]
    send(air, hub, frame(3, seq=3), now=1.5)  # to another device: through
    send(air, meter, frame(1, seq=4), now=1.6)  # the other direction: through
    air.advance(1.9)
    assert len(heard(other)) == 1 and len(heard(hub)) == 1
    send(air, hub, frame(2, seq=5), now=2.0)  # after the window: through
    air.advance(3.0)
    assert len(heard(meter)) == 1
    log = air.faults.log  # type: ignore[union-attr]
    assert [(r.fault, r.direction) for r in log] == [(Fault.DROP, Direction.TX)] * 4
    assert all(r.frames[0][:-2] == frame(2, seq=2) for r in log)  # the frames it touched
    assert log[0].to_json()["frames"] == [log[0].frames[0].hex()]


def test_delay_past_the_ack_wait_makes_the_sender_retry() -> None:
    air, hub, meter, _ = han(AirFault(AirFaultKind.DELAY, delay_s=0.002, direction=Direction.TX))
    send(air, hub, frame(2))
    air.advance(1.0)
    end = mac.air_time_us(len(frame(2)) + 2) * 1e-6
    arrivals = heard(meter)
    assert len(arrivals) == 4 and arrivals[0][0] == pytest.approx(end + 0.002)
    assert statuses(hub) == [Status.NO_ACK]
    assert {r.fault for r in air.faults.log} == {Fault.DELAY}  # type: ignore[union-attr]


def test_corrupt_flips_one_payload_bit_with_a_good_fcs_and_logs_both() -> None:
    air, hub, meter, _ = han(AirFault(AirFaultKind.CORRUPT, for_s=0.001, device=METER))
    send(air, hub, frame(2))
    air.advance(1.0)
    [(_, rx)] = heard(meter)
    [record] = air.faults.log  # type: ignore[union-attr]
    before, after = record.frames
    assert rx.psdu == after != before and mac.fcs_ok(after)
    diff = [i for i in range(len(before) - 2) if before[i] != after[i]]
    assert len(diff) == 1 and diff[0] >= 7  # past the MAC header (9 bytes with addresses)
    assert bin(before[diff[0]] ^ after[diff[0]]).count("1") == 1


def test_replay_sends_the_last_matching_frame_again_at_its_time() -> None:
    air, hub, meter, _ = han(AirFault(AirFaultKind.REPLAY, at_s=0.5, direction=Direction.RX))
    send(air, meter, frame(1, seq=7), now=0.0)
    air.advance(0.4)
    [(_, first)] = heard(hub)
    outputs(meter)
    air.advance(1.0)
    [(at, again)] = heard(hub)
    assert again.psdu == first.psdu and at > 0.5
    assert outputs(meter) == []  # the replay is not the sender's transmission
    [record] = air.faults.log  # type: ignore[union-attr]
    assert record.fault is Fault.REPLAY and record.frames == (first.psdu,)


def test_replay_due_while_a_frame_is_in_the_air_waits_and_copies_that_frame() -> None:
    """A copy sent mid-frame would reach the hub after that frame and be stale, not a replay of
    the last frame it accepted: the attacker's radio waits for the band to clear, then holds it
    (CI caught a hub refusing the copy as ``NWK: stale``)."""
    air, hub, meter, _ = han(AirFault(AirFaultKind.REPLAY, at_s=0.5, direction=Direction.RX))
    send(air, meter, frame(1, seq=7), now=0.0)
    send(air, meter, frame(1, seq=8), now=0.4999)  # in the air when the replay is due
    air.advance(0.6)
    first, second, again = (f.psdu for _, f in heard(hub))
    assert first != second and again == second
    [record] = air.faults.log  # type: ignore[union-attr]
    assert record.at > 0.4999 + mac.air_time_us(len(second)) * 1e-6 - 1e-9
    send(air, meter, frame(1, seq=9), now=record.at)  # waits for the copy's air time
    air.advance(1.0)
    [(at, after)] = heard(hub)
    assert at >= record.at + 2 * mac.air_time_us(len(after.psdu)) * 1e-6 - 1e-9


def test_replay_scheduled_through_the_api_with_nothing_captured_does_nothing() -> None:
    air, hub, _, _ = han()
    air.add_fault(AirFault(AirFaultKind.REPLAY, at_s=0.1))
    air.advance(1.0)
    assert heard(hub) == [] and air.faults.log == []  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="without faults"):
        Air().add_fault(AirFault(AirFaultKind.DROP))


def test_jam_fails_the_cca_within_its_window_then_clears() -> None:
    air, hub, meter, _ = han(AirFault(AirFaultKind.JAM, at_s=0.0, for_s=0.1))
    send(air, meter, frame(1), now=0.0)
    air.advance(0.05)
    [(at, done)] = [(a, f) for a, f in outputs(meter) if isinstance(f, TxDone)]
    assert done.status == Status.CCA_FAILURE and at == pytest.approx(JAM_CCA_FAILURE_S)
    assert heard(hub) == [] and air.stats.frames == 0
    send(air, meter, frame(1, seq=2), now=0.2)
    air.advance(1.0)
    assert len(heard(hub)) == 1 and statuses(meter) == [Status.OK]
    [record] = air.faults.log  # type: ignore[union-attr]
    assert record.fault is Fault.JAM and record.direction is Direction.RX


def test_probability_is_seeded() -> None:
    def run(seed: int) -> list[bool]:
        air, hub, meter, _ = han(AirFault(AirFaultKind.DROP, probability=0.5), seed=seed)
        got = []
        for seq in range(30):
            send(air, hub, frame(2, seq=seq, ack=False), now=seq * 0.1)
            air.advance(seq * 0.1 + 0.05)
            got.append(bool(heard(meter)))
        return got

    assert run(3) == run(3)
    assert 5 < sum(run(3)) < 25


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"at_s": -1.0}, "at_s"),
        ({"for_s": 0.0}, "for_s"),
        ({"probability": 1.5}, "probability"),
        ({"delay_s": -0.1}, "delay_s"),
        ({"device": b"\x01"}, "EUI-64"),
    ],
)
def test_ill_formed_faults_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AirFault(AirFaultKind.DROP, **kwargs)  # type: ignore[arg-type]
