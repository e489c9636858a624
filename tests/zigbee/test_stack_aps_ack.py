"""APS acknowledgements secured as the frames they acknowledge (05-3474 §2.2.8.4.2, §4.4.1.1;
docs/han.md "APS acks"), over the emulated RCPs and air: the ack to a secured TransferData is
APS-secured under the key Key Establishment set up, the ack to an unsecured frame is not, and an
ack to a secured frame that comes unsecured or under another key is refused and the block is
sent again as for a lost ack."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stack_air import SecuredBench
from test_stack_air import ESME, EXT_PAN, HUB, ICODE, NETWORK_KEY, PAN, kinds
from test_stack_secured import ISSUER, _rng, established, refusals

from devices.spinel.air_radio import AirRadio
from rig.zigbee import codec
from rig.zigbee.cbke.ecqv import CertificateAuthority
from rig.zigbee.counters import FrameCounters
from rig.zigbee.device import Device
from rig.zigbee.mmo import link_key
from rig.zigbee.seam import Refusal
from rig.zigbee.secured import DeviceConfig, SecuredAps, TrustCenterConfig, issue
from rig.zigbee.security import (
    APS_SECURITY_BIT,
    AuxHeader,
    FrameRefused,
    KeyId,
    aps_header_length,
    open_aps,
    open_nwk,
    secure_aps,
)
from rig.zigbee.tunnel import SMART_ENERGY_PROFILE

#: A cluster of the Smart Energy profile that needs no APS security (Basic).
BASIC_CLUSTER = 0x0000


def _aps_frames(frames: list[bytes]) -> list[bytes]:
    """The APS frames (still APS-secured where they are) inside MAC data frames, NWK opened
    with the network key where NWK-secured."""
    out = []
    for frame in frames:
        mac = codec.mac_decode(frame)
        if mac.frame_type != codec.FRAME_DATA:
            continue
        nwk = codec.nwk_decode(mac.payload)
        if nwk.secured:
            opened = open_nwk(mac.payload, {0: NETWORK_KEY}, FrameCounters())
            nwk = codec.nwk_decode(opened.frame)
        if nwk.frame_type == codec.NWK_DATA:
            out.append(nwk.payload)
    return out


def _acks(frames: list[bytes]) -> list[bytes]:
    return [f for f in _aps_frames(frames) if codec.aps_decode(f).frame_type == codec.APS_ACK]


def _opens_under(aps: bytes, key: bytes, sender: bytes) -> bytes | None:
    """``aps`` opened under ``key`` (its sender's link key), or None."""
    try:
        return open_aps(aps, {int.from_bytes(sender, "big"): key}, FrameCounters()).frame
    except FrameRefused:
        return None


def _hub_key(bench: SecuredBench) -> bytes:
    return bench.hub.aps_security._links[ESME].key  # type: ignore[attr-defined]


Configs = tuple[TrustCenterConfig, DeviceConfig]


@pytest.fixture(scope="module")
def configs() -> Configs:
    """The hub and the ESME of tests/zigbee/test_stack_secured.py."""
    ca = CertificateAuthority.generate(ISSUER, _rng(1))
    hub = TrustCenterConfig(HUB, PAN, EXT_PAN, NETWORK_KEY, {ESME: ICODE}, issue(ca, HUB, 1))
    return hub, DeviceConfig(ESME, ICODE, issue(ca, ESME, 2), extended_pan_id=EXT_PAN)


def _linked(configs: Configs) -> tuple[SecuredBench, Device]:
    """A hub and its ESME, joined, key established, tunnel open."""
    bench = SecuredBench(configs[0])
    esme = bench.device(configs[1])
    established(bench, esme)
    return bench, esme


@pytest.fixture(scope="module")
def linked(configs: Configs) -> tuple[SecuredBench, Device]:
    return _linked(configs)


@settings(max_examples=8, deadline=None)
@given(size=st.integers(1, 250), downward=st.booleans())
def test_the_ack_to_a_secured_transfer_data_is_secured_under_the_established_key(
    linked: tuple[SecuredBench, Device], size: int, downward: bool
) -> None:
    bench, esme = linked
    gbcs = bytes(range(256))[:size]
    receiver = esme if downward else bench.hub
    sent = bench.radio_of(receiver).sent
    mark, events = len(sent), len(receiver.events)
    if downward:
        bench.hub.send_transfer_data(ESME, gbcs)
    else:
        esme.send_transfer_data(gbcs)
    bench.run(3.0)
    [delivered] = [e.data for e in receiver.events[events:] if e.kind == "transfer-data"]
    assert delivered == gbcs
    assert not refusals(bench.hub.events) and not refusals(esme.events)
    acks = _acks(sent[mark:])
    assert acks, "the TransferData was acknowledged"
    key = _hub_key(bench)
    assert key != link_key(ICODE)  # the key CBKE set up
    who = ESME if downward else HUB
    for ack in acks:
        assert ack[0] & APS_SECURITY_BIT
        aux, _ = AuxHeader.decode(ack[aps_header_length(ack) :])
        assert (aux.key_id, aux.level, aux.source) == (KeyId.DATA, 0, int.from_bytes(who, "big"))
        opened = _opens_under(ack, key, who)
        assert opened is not None and codec.aps_decode(opened).frame_type == codec.APS_ACK
        assert _opens_under(ack, link_key(ICODE), who) is None


def test_the_ack_to_an_unsecured_frame_stays_unsecured(
    configs: Configs,
) -> None:
    bench, esme = _linked(configs)
    mark = len(bench.hub_radio.sent)
    aps = codec.ApsFrame(
        codec.APS_DATA,
        0x33,
        b"\x00\x01\x00",
        1,
        BASIC_CLUSTER,
        SMART_ENERGY_PROFILE,
        1,
        ack_request=True,
    )
    esme.send_nwk(codec.COORDINATOR, codec.NWK_DATA, codec.aps_encode(aps))  # NWK-secured only
    bench.run(0.5)
    [ack] = _acks(bench.hub_radio.sent[mark:])
    assert not ack[0] & APS_SECURITY_BIT
    assert codec.aps_decode(ack).counter == 0x33
    assert not refusals(bench.hub.events) and not refusals(esme.events)


def _forge_ack(bench: SecuredBench, esme: Device, secure_under: bytes | None) -> None:
    """The ESME's ack to the hub's last block, APS-unsecured or secured under ``secure_under``
    (whatever key), NWK-secured as it should be, put on the air by the ESME's radio."""
    [*_, block] = [
        f
        for f in _aps_frames(bench.hub_radio.sent)
        if codec.aps_decode(f).frame_type == codec.APS_DATA
    ]
    head = codec.aps_decode(block)
    assert block[0] & APS_SECURITY_BIT  # the block went APS-secured
    ack = codec.aps_encode(
        codec.ApsFrame(
            codec.APS_ACK,
            head.counter,
            b"",
            head.src_endpoint,
            head.cluster,
            head.profile,
            head.dst_endpoint,
        )
    )
    if secure_under is not None:
        ack = secure_aps(ack, secure_under, 1_000_000, int.from_bytes(ESME, "big"), KeyId.DATA)
    esme.send_nwk(codec.COORDINATOR, codec.NWK_DATA, ack)


def _deaf(bench: SecuredBench, esme: Device) -> AirRadio:
    """The ESME hears nothing (so it acks nothing itself) until its radio's ``node`` is set
    again."""
    radio = bench.radio_of(esme)
    radio.node = None
    return radio


def _hub_sends_one_block(bench: SecuredBench, esme: Device) -> int:
    events = len(bench.hub.events)
    bench.hub.send_transfer_data(ESME, b"\x42" * 20)
    bench.run(0.2)
    return events


@pytest.mark.parametrize(
    ("forged", "reason"),
    [
        ("unsecured", "APS: unsecured ack to a secured frame"),
        ("random key", "APS: mic"),
        ("install-code key", "APS: key: secured under the replaced link key, not the current one"),
    ],
)
def test_an_ack_not_under_the_frame_s_key_is_refused_and_the_block_sent_again(
    configs: Configs, forged: str, reason: str
) -> None:
    bench, esme = _linked(configs)
    radio = _deaf(bench, esme)
    events = _hub_sends_one_block(bench, esme)
    key = {"unsecured": None, "random key": bytes(16), "install-code key": link_key(ICODE)}
    _forge_ack(bench, esme, key[forged])
    bench.run(0.2)
    [refused] = refusals(bench.hub.events[events:])
    assert refused.startswith(reason)
    assert "aps-retry" not in kinds(bench.hub.events[events:])
    bench.run(1.6)  # the ack wait ends: the block goes again, as for a lost ack
    assert "aps-retry" in kinds(bench.hub.events[events:], ESME)
    radio.node = esme  # the ESME hears the retry and acks it under the key
    bench.run(2.0)
    assert [e.data for e in esme.events if e.kind == "transfer-data"] == [b"\x42" * 20]
    assert not bench.hub._waiting.get(esme.short)  # type: ignore[attr-defined]
    assert "aps-failed" not in kinds(bench.hub.events)


def test_an_ack_under_a_staged_key_to_a_frame_under_the_current_one_is_refused(
    configs: Configs,
) -> None:
    """The one ack ``open`` takes under another key than its frame's: one under a key the hub
    has staged (Key Establishment agreed it, frames still go under the current one). The ack
    makes the staged key current, as any frame under it does, but acknowledges nothing."""
    bench, esme = _linked(configs)
    _deaf(bench, esme)
    staged = bytes(range(0xA0, 0xB0))
    bench.hub.aps_security.stage_link_key(ESME, staged)
    events = _hub_sends_one_block(bench, esme)
    _forge_ack(bench, esme, staged)
    bench.run(0.2)
    assert refusals(bench.hub.events[events:]) == [
        "APS: ack under another link key than the frame it acknowledges"
    ]
    bench.run(1.6)
    assert "aps-retry" in kinds(bench.hub.events[events:], ESME)


def test_a_staged_key_made_current_by_a_frame_keeps_its_counters_when_installed() -> None:
    """The responder's staged key becomes current when a frame opens under it; installing it
    when its Confirm Key Data Response is acknowledged must not take its outgoing counter
    back (the acks it sent meanwhile went under it: a counter used twice is a replay)."""
    hub, meter = SecuredAps(HUB), SecuredAps(ESME)
    agreed = bytes(range(0x30, 0x40))
    hub.install_link_key(ESME, link_key(ICODE))
    hub.stage_link_key(ESME, agreed)
    meter.install_link_key(HUB, agreed, established=True)
    ack = codec.aps_encode(codec.ApsFrame(codec.APS_ACK, 1, b"", 1, 0x0800, 0x0109, 1))
    assert not isinstance(hub.open(meter.secure(ack, peer=HUB), peer=ESME, required=False), Refusal)
    assert hub.current_key(ESME) == agreed
    sent = [hub.secure(ack, peer=ESME) for _ in range(2)]
    hub.install_link_key(ESME, agreed, established=True)
    sent.append(hub.secure(ack, peer=ESME))
    counters = [AuxHeader.decode(f[aps_header_length(f) :])[0].counter for f in sent]
    assert counters == [0, 1, 2]
    assert all(not isinstance(meter.open(f, peer=HUB, required=True), Refusal) for f in sent)
