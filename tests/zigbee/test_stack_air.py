"""The ZigBee stack's coordinator and devices against each other through devices/spinel's
emulated RCPs and air, in memory on a virtual clock (no ptys)."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_dir import SHARED_DIR, require_shared

from devices.spinel.air_radio import AirHost
from devices.spinel.rcp import Air, AirConfig
from rig.clock import VirtualClock
from rig.zigbee.coordinator import Coordinator
from rig.zigbee.device import Device
from rig.zigbee.mmo import with_crc
from rig.zigbee.node import Event, StackConfig

PAN = 0x4742
EXT_PAN = bytes.fromhex("00124B0001020304")
HUB = bytes.fromhex("00124B00000000C0")
ESME = bytes.fromhex("00124B00000000E1")
GSME = bytes.fromhex("00124B00000000A1")
STRANGER = bytes.fromhex("00124B00000000FF")
ICODE = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")
GSME_ICODE = with_crc(bytes(range(16)))
NETWORK_KEY = bytes(range(0x10, 0x20))
RTDS = SHARED_DIR / "gbcs-rtds" / "vectors"


class Bench:
    def __init__(self, loss: float = 0.0, seed: int = 1, config: StackConfig | None = None):
        self.clock = VirtualClock()
        self.air = Air(AirConfig(loss=loss, seed=seed))
        self.host = AirHost(self.air, self.clock)
        self.config = config or StackConfig()
        radio = self.host.radio(HUB)
        radio.set_pan(PAN, 0)
        self.hub = Coordinator(
            HUB,
            self.clock,
            radio,
            pan_id=PAN,
            extended_pan_id=EXT_PAN,
            network_key=NETWORK_KEY,
            device_log={ESME: ICODE, GSME: GSME_ICODE},
            config=self.config,
        )
        radio.node = self.hub

    def device(
        self, eui: bytes, *, sleepy: bool = False, icode: bytes = ICODE, **kw: object
    ) -> Device:
        radio = self.host.radio(eui)
        device = Device(
            eui,
            self.clock,
            radio,
            install_code=icode,
            sleepy=sleepy,
            extended_pan_id=EXT_PAN,
            config=self.config,
            **kw,
        )  # type: ignore[arg-type]
        radio.node = device
        return device

    def run(self, seconds: float) -> None:
        self.clock.run(until=self.clock.now() + seconds)


def kinds(events: list[Event], device: bytes | None = None) -> list[str]:
    return [e.kind for e in events if device is None or e.device == device.hex().upper()]


def joined(bench: Bench, *devices: Device) -> None:
    for device in devices:
        device.join()
    bench.run(3.0)
    for device in devices:
        assert device.state == "joined", device.events
        assert kinds(bench.hub.events, device.eui64)[:3] == ["associated", "joined", "announced"]


def gbcs_vector() -> bytes:
    path = sorted(require_shared(RTDS).glob("*/*_COMMAND_GBCS.HEX"))[0]
    return bytes.fromhex(Path(path).read_text().strip())


def test_association_join_and_device_announce() -> None:
    bench = Bench()
    esme = bench.device(ESME)
    joined(bench, esme)
    child = bench.hub.children[ESME]
    assert esme.short == child.short == 0x0001 and esme.network_key == NETWORK_KEY
    assert esme.trust_center == HUB and child.state == "joined"
    assert kinds(esme.events) == ["associated", "joined"]


def test_a_device_not_on_the_log_is_refused_with_the_reason() -> None:
    bench = Bench()
    stranger = bench.device(STRANGER)
    stranger.join()
    bench.run(3.0)
    [refusal] = [e for e in bench.hub.events if e.kind == "refused"]
    assert refusal.device == STRANGER.hex().upper()
    assert "not on the device log" in refusal.detail
    assert stranger.state == "refused" and STRANGER not in bench.hub.children
    assert "association status 2" in stranger.events[-1].detail  # PAN access denied


def test_a_tunnel_carries_an_rtds_gbcs_frame_both_ways_in_fragments() -> None:
    gbcs = gbcs_vector()
    bench = Bench()
    esme = bench.device(ESME)
    joined(bench, esme)
    esme.open_tunnel()
    bench.run(1.0)
    assert esme.tunnel_id == bench.hub.children[ESME].tunnel_id is not None
    esme.send_transfer_data(gbcs)
    bench.hub.send_transfer_data(ESME, gbcs[::-1])
    bench.run(2.0)
    [up] = [e for e in bench.hub.events if e.kind == "transfer-data"]
    [down] = [e for e in esme.events if e.kind == "transfer-data"]
    assert up.data == gbcs and down.data == gbcs[::-1]
    assert len(gbcs) > 100  # more than one frame's ASDU: fragmented and reassembled


def test_fragmented_messages_sent_at_once_arrive_whole_and_in_order() -> None:
    """Blocks of two messages to one peer never interleave (the receiver reassembles one
    message per source): the second waits for the first's last ack."""
    gbcs = gbcs_vector()
    bench = Bench()
    esme = bench.device(ESME)
    joined(bench, esme)
    esme.open_tunnel()
    bench.run(1.0)
    messages = [bytes([n]) + gbcs for n in range(5)]
    for message in messages:
        bench.hub.send_transfer_data(ESME, message)
    bench.run(5.0)
    assert [e.data for e in esme.events if e.kind == "transfer-data"] == messages


def test_more_messages_queued_to_one_peer_than_aps_counter_values_all_arrive() -> None:
    """300 short messages queued at once (a load plan's flood): each takes its APS counter
    when it starts, so none is lost or confused with another under a wrapped counter."""
    bench = Bench()
    esme = bench.device(ESME)
    joined(bench, esme)
    esme.open_tunnel()
    bench.run(1.0)
    messages = [n.to_bytes(2, "big") for n in range(300)]
    for message in messages:
        bench.hub.send_transfer_data(ESME, message)
    bench.run(30.0)
    assert [e.data for e in esme.events if e.kind == "transfer-data"] == messages
    assert "aps-failed" not in kinds(bench.hub.events)


def test_a_sleepy_device_polls_and_gets_its_held_frame_with_frame_pending() -> None:
    bench = Bench()
    gsme = bench.device(GSME, sleepy=True, icode=GSME_ICODE)
    joined(bench, gsme)
    gsme.open_tunnel()
    bench.run(4.0)
    hub_radio = bench.host.radios[0]
    gsme_radio = bench.host.radios[1]
    assert gsme.tunnel_id is not None
    bench.hub.send_transfer_data(GSME, b"\xdd" * 20)
    assert bench.hub._held[gsme.short].frames  # held until the poll
    bench.run(2.0)
    assert [e.data for e in gsme.events if e.kind == "transfer-data"] == [b"\xdd" * 20]
    assert any(done.frame_pending for done in gsme_radio.tx_done)  # the poll's ACK said so
    assert hub_radio.rcp.state.src_short == []  # nothing left pending
    assert "expired" not in kinds(bench.hub.events)


def test_a_sleepy_device_that_misses_its_poll_loses_the_held_frame_reported() -> None:
    bench = Bench()
    gsme = bench.device(GSME, sleepy=True, icode=GSME_ICODE)
    joined(bench, gsme)
    gsme.open_tunnel()
    bench.run(4.0)
    gsme.polling = False
    bench.hub.send_transfer_data(GSME, b"\xee" * 10)
    assert bench.host.radios[0].rcp.state.src_short == [gsme.short]
    bench.run(bench.config.persistence + 0.1)
    [expired] = [e for e in bench.hub.events if e.kind == "expired"]
    assert expired.device == GSME.hex().upper() and "without a poll" in expired.detail
    assert bench.host.radios[0].rcp.state.src_short == []
    assert "transfer-data" not in kinds(gsme.events)


def test_aps_retries_when_acks_are_lost_and_gives_up_reported() -> None:
    bench = Bench()
    esme = bench.device(ESME)
    joined(bench, esme)
    esme.open_tunnel()
    bench.run(1.0)
    bench.air.config = AirConfig(loss=0.6, seed=4)
    bench.air._rng.seed(4)
    for i in range(5):
        esme.send_transfer_data(bytes([i]) * 30)
    bench.run(30.0)
    got = [e.data for e in bench.hub.events if e.kind == "transfer-data"]
    assert "aps-retry" in kinds(esme.events)
    failed = kinds(esme.events).count("aps-failed")
    assert len(got) + failed == 5 and len(set(got)) == len(got)  # each at most once
    bench.air.config = AirConfig(loss=1.0)
    esme.send_transfer_data(b"lost")
    bench.run(10.0)
    assert kinds(esme.events)[-1] == "aps-failed"
    assert kinds(esme.events).count("aps-retry") >= 3


def test_a_tunnel_frame_the_hub_cannot_deliver_names_its_gbcs() -> None:
    """The hub's ``aps-failed`` for a TransferData carries the GBCS it held (the block that
    failed may be any of a fragmented one's), so the request that sent it fails with why; an
    undelivered frame of another cluster carries none."""
    bench = Bench()
    esme = bench.device(ESME)
    joined(bench, esme)
    esme.open_tunnel()
    bench.run(1.0)
    bench.air.config = AirConfig(loss=1.0)
    gbcs = gbcs_vector()
    bench.hub.send_transfer_data(ESME, gbcs)
    bench.run(10.0)
    [failed] = [e for e in bench.hub.events if e.kind == "aps-failed"]
    assert failed.device == ESME.hex().upper() and failed.data == gbcs
    assert "no ack after 3 retries" in failed.detail
    esme.send_data(0, 0x0019, 0x0104, b"\x01\x02", secure=False)  # OTA: not the tunnel's
    bench.run(10.0)
    assert [e.data for e in esme.events if e.kind == "aps-failed"] == [b""]


def test_leave_both_ways() -> None:
    bench = Bench()
    esme, gsme = bench.device(ESME), bench.device(GSME, sleepy=True, icode=GSME_ICODE)
    joined(bench, esme, gsme)
    esme.leave()
    bench.run(1.0)
    assert esme.state == "left" and ESME not in bench.hub.children
    bench.hub.request_leave(GSME)
    bench.run(3.0)
    assert gsme.state == "left" and GSME not in bench.hub.children
    assert kinds(bench.hub.events).count("left") == 2
    assert [e.detail for e in (*esme.events, *gsme.events) if e.kind == "left"] == [
        "left on its own",
        "left: asked by the trust center",
    ]


def test_secure_rejoin_after_a_power_cycle() -> None:
    bench = Bench()
    gsme = bench.device(GSME, sleepy=True, icode=GSME_ICODE)
    joined(bench, gsme)
    memory = gsme.memory()
    gsme.state = "left"  # powered off: it stops polling
    bench.host.radios.pop().node = None
    again = bench.device(GSME, sleepy=True, icode=GSME_ICODE, memory=memory)
    again.rejoin()
    bench.run(3.0)
    assert again.state == "joined" and again.short == memory.short
    assert kinds(bench.hub.events, GSME)[-2:] == ["rejoined", "announced"]


@pytest.mark.parametrize("garbage", [b"", b"\x01", b"\x41\x88\x00\x42\x47\x00\x00\xff\xff"])
def test_garbage_is_one_dropped_event(garbage: bytes) -> None:
    bench = Bench()
    bench.hub.receive(garbage)
    assert kinds(bench.hub.events) == ["dropped"]
