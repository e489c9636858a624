"""A secured meter's rejoin after a power cycle, over the emulated RCPs and air in memory: the
fallback to a fresh join when the secure rejoin is refused or not answered (docs/han.md "Rejoin
and the tunnel across it"), and the hub holding a meter's tunnel traffic across its rejoin so no
GBCS frame is refused or lost."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from stack_air import SecuredBench
from test_stack_air import ESME, EXT_PAN, HUB, ICODE, NETWORK_KEY, PAN, kinds

from rig.zigbee.cbke.ecqv import CertificateAuthority
from rig.zigbee.device import Device
from rig.zigbee.node import Event
from rig.zigbee.secured import DeviceConfig, TrustCenterConfig, issue

ISSUER = bytes.fromhex("5445535443413032")


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.generate(ISSUER, random.Random(7).randbytes)


@pytest.fixture(scope="module")
def hub_config(ca: CertificateAuthority) -> TrustCenterConfig:
    return TrustCenterConfig(HUB, PAN, EXT_PAN, NETWORK_KEY, {ESME: ICODE}, issue(ca, HUB, 1))


@pytest.fixture(scope="module")
def esme_config(ca: CertificateAuthority) -> DeviceConfig:
    return DeviceConfig(ESME, ICODE, issue(ca, ESME, 2), extended_pan_id=EXT_PAN)


def refusals(events: list[Event]) -> list[str]:
    return [e.detail for e in events if e.kind == "refused"]


def reopening(device: Device) -> None:
    """As the emulated meter does: ask for the tunnel once Key Establishment is done."""
    device.on_event = lambda e: device.open_tunnel() if e.kind == "key-established" else None


def joined_with_tunnel(bench: SecuredBench, config: DeviceConfig) -> Device:
    device = bench.device(config)
    reopening(device)
    device.join()
    bench.run(5.0)
    assert device.tunnel_id is not None, device.events
    return device


def test_a_rejoin_the_hub_cannot_open_falls_back_to_a_fresh_join_with_the_install_code(
    tmp_path: Path, hub_config: TrustCenterConfig, esme_config: DeviceConfig
) -> None:
    """The hub lost its state and its network key changed: it cannot open the meter's Rejoin
    Request (NWK-secured under the old key), so no answer comes; the meter joins afresh, gets
    the new key in Transport Key, and its kept incoming counters (the old key's) do not refuse
    the new key's frames."""
    config = replace(esme_config, counters=tmp_path / "meter.json")
    before = SecuredBench(hub_config)
    esme = joined_with_tunnel(before, config)
    for n in range(20):  # the meter's incoming counter for the hub well above 0
        before.hub.send_transfer_data(ESME, bytes([n]) * 8)
    before.run(3.0)
    memory = esme.memory()
    before.power_off(esme)

    new_key = bytes(range(0xA0, 0xB0))
    after = SecuredBench(replace(hub_config, network_key=new_key))
    again = after.device(config, memory)
    reopening(again)
    again.rejoin()
    after.run(1.0)
    assert again.state == "rejoining"  # no answer yet: the hub refused what it could not open
    assert [r[:8] for r in refusals(after.hub.events)] == ["NWK: mic"]
    after.run(hub_config.stack.rejoin_timeout + 5.0)
    [failed] = [e for e in again.events if e.kind == "rejoin-failed"]
    assert "no Rejoin Response within 3 s" in failed.detail
    assert kinds(again.events)[-4:] == ["associated", "joined", "key-established", "tunnel-open"]
    assert again.network_key == new_key and again.tunnel_id is not None
    after.hub.send_transfer_data(ESME, b"\x42" * 30)
    again.send_transfer_data(b"\x43" * 30)
    after.run(2.0)
    assert [e.data for e in again.events if e.kind == "transfer-data"] == [b"\x42" * 30]
    assert [e.data for e in after.hub.events if e.kind == "transfer-data"] == [b"\x43" * 30]
    assert not refusals(again.events)
    assert len(refusals(after.hub.events)) == 1  # only the rejoin's


def test_a_refused_rejoin_is_answered_and_the_meter_tries_a_fresh_join_at_once(
    hub_config: TrustCenterConfig, esme_config: DeviceConfig
) -> None:
    """The meter was taken off the hub's device log while it was off: the hub answers its
    Rejoin Request with "PAN access denied", the meter falls back to association at once (not
    after the rejoin timeout), which the device log refuses too, with the reason."""
    before = SecuredBench(hub_config)
    esme = joined_with_tunnel(before, esme_config)
    memory = esme.memory()
    before.power_off(esme)
    after = SecuredBench(replace(hub_config, device_log={}))
    again = after.device(esme_config, memory)
    again.rejoin()
    after.run(1.0)
    [failed] = [e for e in again.events if e.kind == "rejoin-failed"]
    assert "rejoin refused with status 2" in failed.detail and failed.at < 0.5
    assert again.state == "refused" and "association status 2" in again.events[-1].detail
    hub_refusals = refusals(after.hub.events)
    assert len(hub_refusals) == 2 and all("not on the device log" in r for r in hub_refusals)
    assert hub_refusals[0].startswith("rejoin: ")


def test_a_power_cycle_mid_stream_loses_and_refuses_no_gbcs_frame(
    tmp_path: Path, hub_config: TrustCenterConfig, esme_config: DeviceConfig
) -> None:
    """A stream of GBCS frames to the meter, its mains cut in the middle and restored: the
    frames in flight when it went are taken back, those sent while it rejoins and runs Key
    Establishment again are held, and all go through its tunnel once it is open again."""
    esme_config = replace(esme_config, counters=tmp_path / "meter.json")
    bench = SecuredBench(hub_config)
    esme = joined_with_tunnel(bench, esme_config)
    received: list[bytes] = []
    sent = [bytes([n]) * 40 for n in range(30)]
    for frame in sent[:10]:
        bench.hub.send_transfer_data(ESME, frame)
    bench.run(0.02)  # a few of them delivered, the rest queued or in flight
    received += [e.data for e in esme.events if e.kind == "transfer-data"]
    assert 0 < len(received) < 10
    memory = esme.memory()
    bench.power_off(esme)
    for frame in sent[10:20]:  # the hub does not know yet
        bench.hub.send_transfer_data(ESME, frame)
    bench.run(0.3)
    again = bench.device(esme_config, memory)
    reopening(again)
    again.rejoin()
    bench.run(0.05)
    assert "rejoined" in kinds(bench.hub.events, ESME)
    for frame in sent[20:]:  # held: Key Establishment is under way
        bench.hub.send_transfer_data(ESME, frame)
    bench.run(8.0)
    assert kinds(again.events)[:3] == ["rejoined", "key-established", "tunnel-open"]
    received += [e.data for e in again.events if e.kind == "transfer-data"]
    assert received == sent
    assert not refusals(bench.hub.events) and not refusals(again.events)
    assert "aps-failed" not in kinds(bench.hub.events)


def test_the_held_tunnel_traffic_is_bounded_and_the_refusal_says_why(
    tmp_path: Path, hub_config: TrustCenterConfig, esme_config: DeviceConfig
) -> None:
    stack = replace(hub_config.stack, tunnel_queue=2)
    esme_config = replace(esme_config, counters=tmp_path / "meter.json")
    bench = SecuredBench(replace(hub_config, stack=stack))
    esme = joined_with_tunnel(bench, esme_config)
    memory = esme.memory()
    bench.power_off(esme)
    again = bench.device(esme_config, memory)
    again.rejoin()
    bench.run(0.05)
    bench.hub.send_transfer_data(ESME, b"\x01")
    bench.hub.send_transfer_data(ESME, b"\x02")
    with pytest.raises(ValueError, match="is rejoining and 2 GBCS frames already wait"):
        bench.hub.send_transfer_data(ESME, b"\x03")
