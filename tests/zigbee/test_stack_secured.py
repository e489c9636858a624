"""The secured stack end to end over the emulated RCPs and air (rig/zigbee/secured.py): NWK
security with the network key, APS security with install-code link keys, the network key in a
Transport Key under the key-transport key, Key Establishment (CBKE suite 2) after join, the
Tunneling cluster only under the established key; and every refusal through the air."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from stack_air import SecuredBench
from test_stack_air import (
    ESME,
    EXT_PAN,
    GSME,
    GSME_ICODE,
    HUB,
    ICODE,
    NETWORK_KEY,
    PAN,
    STRANGER,
    gbcs_vector,
    kinds,
)

from rig.zigbee import codec, secured
from rig.zigbee.cbke.ecqv import CertificateAuthority
from rig.zigbee.counters import Drop
from rig.zigbee.device import Device
from rig.zigbee.mmo import link_key, with_crc
from rig.zigbee.node import EVENT_HISTORY, Event
from rig.zigbee.secured import DeviceConfig, TrustCenterConfig, issue
from rig.zigbee.tunnel import SMART_ENERGY_PROFILE, TUNNELING_CLUSTER, transfer_data

ISSUER = bytes.fromhex("5445535443413031")


def _rng(seed: int):  # type: ignore[no-untyped-def]
    return random.Random(seed).randbytes


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.generate(ISSUER, _rng(1))


@pytest.fixture(scope="module")
def hub_config(ca: CertificateAuthority) -> TrustCenterConfig:
    return TrustCenterConfig(
        HUB,
        PAN,
        EXT_PAN,
        NETWORK_KEY,
        {ESME: ICODE, GSME: GSME_ICODE},
        issue(ca, HUB, 1),
    )


@pytest.fixture(scope="module")
def esme_config(ca: CertificateAuthority) -> DeviceConfig:
    return DeviceConfig(ESME, ICODE, issue(ca, ESME, 2), extended_pan_id=EXT_PAN)


@pytest.fixture(scope="module")
def gsme_config(ca: CertificateAuthority) -> DeviceConfig:
    return DeviceConfig(GSME, GSME_ICODE, issue(ca, GSME, 3), sleepy=True, extended_pan_id=EXT_PAN)


def refusals(events: list[Event]) -> list[str]:
    return [e.detail for e in events if e.kind == "refused"]


def established(bench: SecuredBench, device: Device, seconds: float = 4.0) -> None:
    """Join, Key Establishment, tunnel open."""
    device.join()
    bench.run(seconds)
    assert "key-established" in kinds(device.events), device.events
    assert "key-established" in kinds(bench.hub.events, device.eui64), bench.hub.events
    device.open_tunnel()
    bench.run(seconds)
    assert device.tunnel_id is not None, device.events


def test_join_key_establishment_and_a_secured_tunnel_both_ways(
    hub_config: TrustCenterConfig, esme_config: DeviceConfig
) -> None:
    gbcs = gbcs_vector()
    bench = SecuredBench(hub_config)
    esme = bench.device(esme_config)
    established(bench, esme)
    assert kinds(bench.hub.events, ESME)[:4] == [
        "associated",
        "joined",
        "announced",
        "key-established",
    ]
    # both ends hold the same CBKE key, and it is not the install code's
    hub_key = bench.hub.aps_security._links[ESME].key  # type: ignore[attr-defined]
    assert esme.aps_security._links[HUB].key == hub_key != link_key(ICODE)  # type: ignore[attr-defined]
    esme.send_transfer_data(gbcs)
    bench.hub.send_transfer_data(ESME, gbcs[::-1])
    bench.run(3.0)
    [up] = [e for e in bench.hub.events if e.kind == "transfer-data"]
    [down] = [e for e in esme.events if e.kind == "transfer-data"]
    assert up.data == gbcs and down.data == gbcs[::-1]
    assert not refusals(bench.hub.events) and not refusals(esme.events)
    # on the air: every NWK data frame after the join is secured, and the GBCS is nowhere
    on_air = bench.radio_of(esme).sent + bench.hub_radio.sent
    for frame in on_air:
        assert gbcs[20:40] not in frame and gbcs[::-1][20:40] not in frame
        assert NETWORK_KEY not in frame
    data = [codec.mac_decode(f) for f in bench.radio_of(esme).sent]
    nwk = [codec.nwk_decode(m.payload) for m in data if m.frame_type == codec.FRAME_DATA]
    assert nwk and all(n.secured for n in nwk)


def test_an_unknown_device_is_refused(
    hub_config: TrustCenterConfig, esme_config: DeviceConfig
) -> None:
    bench = SecuredBench(hub_config)
    stranger = bench.device(replace(esme_config, eui64=STRANGER))
    stranger.join()
    bench.run(3.0)
    assert any("not on the device log" in r for r in refusals(bench.hub.events))
    assert stranger.state == "refused" and STRANGER not in bench.hub.children


def test_a_wrong_install_code_cannot_open_the_key_and_the_join_times_out(
    hub_config: TrustCenterConfig, esme_config: DeviceConfig
) -> None:
    bench = SecuredBench(hub_config)
    wrong = bench.device(replace(esme_config, install_code=with_crc(bytes(16))))
    wrong.join()
    bench.run(hub_config.stack.join_timeout + 1.0)
    assert wrong.network_key is None and wrong.state == "associated"
    assert any(r.startswith("APS: mic") for r in refusals(wrong.events))
    [refused] = refusals(bench.hub.events)
    assert "wrong install code?" in refused
    assert ESME not in bench.hub.children
    assert "announced" not in kinds(bench.hub.events)


def test_a_replayed_nwk_frame_is_dropped_and_counted(
    hub_config: TrustCenterConfig, esme_config: DeviceConfig
) -> None:
    bench = SecuredBench(hub_config)
    esme = bench.device(esme_config)
    established(bench, esme)
    radio = bench.radio_of(esme)
    mark = len(radio.sent)
    esme.send_transfer_data(b"\x01" * 20)
    bench.run(1.0)
    captured = next(f for f in radio.sent[mark:] if len(f) > 40)  # the TransferData
    radio.transmit(captured)  # the same frame on the air again
    bench.run(1.0)
    assert [e.data for e in bench.hub.events if e.kind == "transfer-data"] == [b"\x01" * 20]
    assert any(r.startswith("NWK: replay") for r in refusals(bench.hub.events))
    source = int.from_bytes(ESME, "big")
    assert bench.hub.nwk_security.counters.dropped(Drop.REPLAY, source) == 1  # type: ignore[attr-defined]


def test_a_node_keeps_its_latest_events_and_hands_on_every_one(
    hub_config: TrustCenterConfig, esme_config: DeviceConfig
) -> None:
    """A soak run's memory stays flat: ``events`` keeps the latest (between EVENT_HISTORY and
    twice as many) while ``on_event``, where the rig writes the results, gets every one."""
    bench = SecuredBench(hub_config)
    esme = bench.device(esme_config)
    established(bench, esme)
    seen: list[Event] = []
    bench.hub.on_event = seen.append
    radio = bench.radio_of(esme)
    mark = len(radio.sent)
    esme.send_transfer_data(b"\x02" * 20)
    bench.run(1.0)
    captured = next(f for f in radio.sent[mark:] if len(f) > 40)
    replays = 2 * EVENT_HISTORY + 10
    for _ in range(replays):
        radio.transmit(captured)
    bench.run(30.0)
    assert len(refusals(seen)) == replays
    assert EVENT_HISTORY <= len(bench.hub.events) <= 2 * EVENT_HISTORY
    assert bench.hub.events == seen[-len(bench.hub.events) :]


def test_a_tampered_mic_is_refused(
    hub_config: TrustCenterConfig, esme_config: DeviceConfig
) -> None:
    bench = SecuredBench(hub_config)
    esme = bench.device(esme_config)
    established(bench, esme)
    frame = _tunnel_frame(esme, bench, aps_secured=True)  # never sent as it is
    bench.radio_of(esme).transmit(frame[:-1] + bytes([frame[-1] ^ 0x01]))
    bench.run(0.2)
    assert any(r.startswith("NWK: mic") for r in refusals(bench.hub.events))
    assert "transfer-data" not in kinds(bench.hub.events)


def _tunnel_frame(device: Device, bench: SecuredBench, *, aps_secured: bool) -> bytes:
    """A TransferData from ``device``, NWK-secured, APS-secured under its current key or not."""
    asdu = transfer_data(False, 99, device.tunnel_id or 0, b"\x03" * 10)
    aps = codec.ApsFrame(codec.APS_DATA, 200, asdu, 1, TUNNELING_CLUSTER, SMART_ENERGY_PROFILE, 1)
    data = codec.aps_encode(aps)
    if aps_secured:
        data = device.aps_security.secure(data, peer=HUB)
    nwk = codec.NwkFrame(codec.NWK_DATA, 0, device.short, 77, data, src_ext=ESME)
    secured = device.nwk_security.secure(codec.nwk_encode(nwk), source=ESME)
    mac = device._mac(frame_type=codec.FRAME_DATA, dst=0, payload=secured)
    return codec.mac_encode(mac)


def test_unsecured_frames_are_refused_at_nwk_and_at_aps(
    hub_config: TrustCenterConfig, esme_config: DeviceConfig
) -> None:
    bench = SecuredBench(hub_config)
    esme = bench.device(esme_config)
    established(bench, esme)
    radio = bench.radio_of(esme)
    asdu = transfer_data(False, 98, esme.tunnel_id or 0, b"\x04" * 10)
    aps = codec.ApsFrame(codec.APS_DATA, 201, asdu, 1, TUNNELING_CLUSTER, SMART_ENERGY_PROFILE, 1)
    nwk = codec.NwkFrame(codec.NWK_DATA, 0, esme.short, 78, codec.aps_encode(aps))
    mac = esme._mac(frame_type=codec.FRAME_DATA, dst=0, payload=codec.nwk_encode(nwk))
    radio.transmit(codec.mac_encode(mac))  # no NWK security at all
    radio.transmit(_tunnel_frame(esme, bench, aps_secured=False))  # NWK-secured only
    bench.run(0.5)
    assert [r.split(":")[:2] for r in refusals(bench.hub.events)] == [
        ["NWK", " unsecured"],
        ["APS", " unsecured"],
    ]
    assert "transfer-data" not in kinds(bench.hub.events)


def test_tunneling_under_another_key_is_refused(
    hub_config: TrustCenterConfig, esme_config: DeviceConfig
) -> None:
    bench = SecuredBench(hub_config)
    esme = bench.device(esme_config)
    established(bench, esme)
    esme.aps_security.install_link_key(HUB, link_key(ICODE))  # back to the install-code key
    bench.radio_of(esme).transmit(_tunnel_frame(esme, bench, aps_secured=True))
    bench.run(0.5)
    assert refusals(bench.hub.events) == [
        "APS: key: secured under the replaced link key, not the current one"
    ]
    assert "transfer-data" not in kinds(bench.hub.events)


def test_tunneling_before_key_establishment_is_refused(
    hub_config: TrustCenterConfig, esme_config: DeviceConfig
) -> None:
    bench = SecuredBench(hub_config)
    esme = bench.device(replace(esme_config, credentials=None))  # no CBKE on the device
    esme.join()
    bench.run(3.0)
    assert esme.state == "joined"
    esme.open_tunnel()
    bench.run(2.0)
    assert refusals(bench.hub.events)[0] == (
        "APS: key: Tunneling is taken only under the link key set up by Key Establishment"
    )
    assert "tunnel-open" not in kinds(bench.hub.events)


@pytest.mark.parametrize("reuse_issuer", [False, True])
def test_a_foreign_certificate_authority_ends_key_establishment_with_no_tunnel(
    hub_config: TrustCenterConfig, esme_config: DeviceConfig, reuse_issuer: bool
) -> None:
    foreign = CertificateAuthority.generate(
        ISSUER if reuse_issuer else bytes.fromhex("464F524549474E31"), _rng(9)
    )
    bench = SecuredBench(hub_config)
    esme = bench.device(replace(esme_config, credentials=issue(foreign, ESME, 7)))
    esme.join()
    bench.run(4.0)
    status = "BAD_KEY_CONFIRM" if reuse_issuer else "UNKNOWN_ISSUER"
    assert any(status in r for r in refusals(bench.hub.events)), bench.hub.events
    assert any(r.startswith("Key Establishment") and status in r for r in refusals(esme.events))
    assert "key-established" not in kinds(bench.hub.events) + kinds(esme.events)
    esme.open_tunnel()
    bench.run(2.0)
    assert esme.tunnel_id is None and "tunnel-open" not in kinds(bench.hub.events)


def test_a_sleepy_gsme_polls_secured_and_a_missed_poll_is_reported(
    hub_config: TrustCenterConfig, gsme_config: DeviceConfig
) -> None:
    bench = SecuredBench(hub_config)
    gsme = bench.device(gsme_config)
    established(bench, gsme, seconds=12.0)
    bench.hub.send_transfer_data(GSME, b"\xdd" * 20)
    bench.run(2.0)
    assert [e.data for e in gsme.events if e.kind == "transfer-data"] == [b"\xdd" * 20]
    assert any(done.frame_pending for done in bench.radio_of(gsme).tx_done)
    gsme.polling = False
    bench.hub.send_transfer_data(GSME, b"\xee" * 10)
    bench.run(hub_config.stack.persistence + 0.1)
    assert "expired" in kinds(bench.hub.events, GSME)
    assert not refusals(bench.hub.events) and not refusals(gsme.events)


def test_secure_rejoin_after_a_power_cycle_keeps_key_and_counters(
    tmp_path: Path, hub_config: TrustCenterConfig, gsme_config: DeviceConfig
) -> None:
    kept = tmp_path / "counters.json"
    config = replace(gsme_config, counters=kept)
    bench = SecuredBench(replace(hub_config, counters=tmp_path / "hub.json"))
    gsme = bench.device(config)
    established(bench, gsme, seconds=12.0)
    bench.hub.send_transfer_data(GSME, b"\x05" * 10)
    bench.run(2.0)
    hub_frames = list(bench.hub_radio.sent)
    sent_before = gsme.nwk_security.outgoing.next  # type: ignore[attr-defined]
    memory = gsme.memory()
    bench.power_off(gsme)
    again = bench.device(config, memory)
    assert again.nwk_security.outgoing.next >= sent_before  # type: ignore[attr-defined]
    # a frame the hub sent before the power cycle, replayed at once: the kept incoming counter
    # refuses it
    replayed = next(f for f in reversed(hub_frames) if codec.mac_decode(f).frame_type == 1)
    bench.hub_radio.transmit(replayed)
    bench.run(0.1)
    assert [r[:11] for r in refusals(again.events)] == ["NWK: replay"]
    again.rejoin()
    bench.run(12.0)
    assert again.state == "joined" and again.short == memory.short
    assert kinds(bench.hub.events, GSME)[-3:] == ["rejoined", "announced", "key-established"]
    assert not refusals(bench.hub.events)  # the hub took every counter: none sent twice
    again.open_tunnel()
    bench.run(4.0)
    again.send_transfer_data(b"\x06" * 10)
    bench.run(2.0)
    assert [e.data for e in bench.hub.events if e.kind == "transfer-data"] == [b"\x06" * 10]


def test_a_meter_asked_to_leave_joins_the_next_hub_and_establishes_its_key(
    hub_config: TrustCenterConfig, esme_config: DeviceConfig, tmp_path: Path
) -> None:
    """The rig's hub asks its meters to leave when it stops; the next run's hub (a new trust
    center on the same radio, its NWK counters kept, its APS counters starting again) takes the
    meter's fresh join, and the meter does not drop the new hub's frames as duplicates of the
    last hub's."""
    config = replace(hub_config, counters=tmp_path / "hub-counters.json")
    bench = SecuredBench(config)
    esme = bench.device(esme_config)
    established(bench, esme)
    bench.hub.request_leave(ESME)
    bench.run(1.0)
    assert esme.state == "left" and ESME not in bench.hub.children
    bench.hub.nwk_security.close()  # type: ignore[attr-defined]
    bench.hub = secured.coordinator(config, bench.clock, bench.hub_radio)
    bench.hub_radio.node = bench.hub
    established(bench, esme)
    assert not refusals(bench.hub.events) and not refusals(esme.events[-6:])


def test_the_secured_join_timing_prints_its_figures() -> None:
    from time_secured_join import measure

    figures = measure()
    assert figures.multiplications == 12 and figures.simulated_s < 2.0
    assert figures.text().splitlines()[0].startswith("secured join + CBKE of an ESME: ")
