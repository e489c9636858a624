"""The Comms Hub composite: routing, HAN device log, in-flight limit, GBT, the GPF's holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from firmware_parties import ACB, CHF, ESME, GPF, GSME, OTHER, PPMID, SAPC, SUPPLIER, Supplier
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from firmware_stubs.comms_hub import LOG_FULL
from firmware_stubs.future_dated import FUTURE_DATED_GBZ
from firmware_stubs.premises import Premises, PremisesSpec
from rig.gbcs import dlms_usecases as dlms
from rig.gbcs import gbt, protect, usecases
from rig.gbcs import gbz_usecases as gbz_uc
from rig.gbcs.cosem.payload import CosemAccess, DlmsRequest
from rig.gbcs.cosem.schema import Obis
from rig.gbcs.dlms import AccessKind, AccessSpec
from rig.gbcs.frame import Cra
from rig.gbcs.gbz import Gbz, GbzComponent, ZclFrame, decode_attribute_records, gbz_time
from rig.gbcs.usecases import RawPayload
from rig.keys.keystore import KeyStore

HAN = 0.01
WAKE = 5.0


def premises(keys: KeyStore, **hub: object) -> Premises:
    description = {
        "chf": str(CHF),
        "gpf": str(GPF),
        "keys": [str(d) for d in keys.dirs],
        "seed": 3,
        "hub": {"han_latency": HAN, **hub},
        "esme": {"eui": str(ESME), "alert_recipient": str(SUPPLIER)},
        "gsme": {"eui": str(GSME), "wake_interval": WAKE, "alert_recipient": str(SUPPLIER)},
        "ppmid": {"eui": str(PPMID)},
        "sapc": {"eui": str(SAPC)},
    }
    return Premises(PremisesSpec.parse(description, "test"), wall_clock_offset=1.7e9)


def read_esme(supplier: Supplier) -> bytes:
    return supplier.command(ESME, usecases.ReadSupplyStatusEsme(), 0x0052)


def read_gsme(supplier: Supplier) -> bytes:
    return supplier.command(GSME, gbz_uc.ReadSupplyStatusGsme(), 0x0082)


def test_frames_are_routed_by_recipient(pki: KeyStore, supplier: Supplier) -> None:
    site = premises(pki)
    [(delay, frame)] = site.handle(read_esme(supplier), 100.0)
    signing, body = supplier.open(frame)
    assert signing.originator == ESME
    assert body == usecases.ReadSupplyStatusEsmeResponse(usecases.SupplyState.CONNECTED)
    assert delay >= 2 * HAN
    unknown = supplier.command(OTHER, usecases.ReadSupplyStatusEsme(), 0x0052)
    assert site.handle(unknown, 101.0) == []
    assert site.hub.stats.discarded == 1


def test_a_gsme_command_waits_for_the_wake_window(pki: KeyStore, supplier: Supplier) -> None:
    site = premises(pki)
    assert site.gsme is not None
    wake = site.gsme.next_wake(100.0 + HAN)
    [(delay, frame)] = site.handle(read_gsme(supplier), 100.0)
    assert supplier.open(frame)[0].originator == GSME
    assert delay >= wake - 100.0 + HAN
    assert delay <= WAKE + 2 * HAN + site.gsme.settings.processing_time


def test_commands_beyond_the_in_flight_limit_are_discarded(
    pki: KeyStore, supplier: Supplier
) -> None:
    site = premises(pki, max_in_flight=2)
    answered = [site.handle(read_gsme(supplier), 100.0) for _ in range(3)]
    assert [len(a) for a in answered] == [1, 1, 0]
    assert site.hub.stats.over_limit == 1
    assert len(site.handle(read_gsme(supplier), 100.0 + 2 * WAKE)) == 1  # answers have left


def test_the_han_device_log_gates_routing(pki: KeyStore, supplier: Supplier) -> None:
    site = premises(pki)
    remove = supplier.command(CHF, dlms.RemoveHanDevice(ESME), 0x0002, originator=ACB)
    [reply] = supplier.bodies(site.handle(remove, 1.0))
    assert reply == usecases.ChangeSupplyEsmeResponse(result=0)
    assert site.handle(read_esme(supplier), 2.0) == []
    short = dlms.AddHanDevice(ESME, bytes(8))
    [reply] = supplier.bodies(site.handle(supplier.command(CHF, short, 1, originator=ACB), 3.0))
    assert reply == dlms.INSTALL_CODE_REJECTED  # SMETS2: 16 bytes or the known error
    good = dlms.AddHanDevice(ESME, bytes(range(16)))
    [reply] = supplier.bodies(site.handle(supplier.command(CHF, good, 1, originator=ACB), 4.0))
    assert isinstance(reply, dlms.AccessResults) and reply.ok
    assert len(site.handle(read_esme(supplier), 5.0)) == 1


def test_a_full_log_refuses_another_device(pki: KeyStore, supplier: Supplier) -> None:
    site = premises(pki, max_log_entries=4)
    add = dlms.AddHanDevice(OTHER, bytes(16))
    [reply] = supplier.bodies(site.handle(supplier.command(CHF, add, 1, originator=ACB), 1.0))
    assert reply == LOG_FULL


def test_large_frames_cross_the_han_as_gbt_blocks(pki: KeyStore, supplier: Supplier) -> None:
    small = premises(pki)
    big = premises(pki, segment_above=40, block_size=32)
    frame = read_esme(supplier)
    [(quick, _)] = small.handle(frame, 1.0)
    [(slow, reply)] = big.handle(frame, 1.0)
    assert big.hub.stats.han_blocks > 2
    assert slow > quick
    assert supplier.open(reply)[0].cra is Cra.RESPONSE


def test_gbt_blocks_from_the_wan_are_reassembled(pki: KeyStore, supplier: Supplier) -> None:
    site = premises(pki)
    blocks = gbt.segment(read_esme(supplier), 50)
    outputs = [site.handle(block, 1.0) for block in reversed(blocks)]
    assert [len(o) for o in outputs] == [0] * (len(blocks) - 1) + [1]


def test_ticks_carry_gsme_alerts_at_its_next_wake(pki: KeyStore, supplier: Supplier) -> None:
    site = premises(pki)
    assert site.gsme is not None
    site.tick(0.0)
    site.gsme.state.battery_used_days = site.gsme.settings.battery_days  # flat battery
    [(delay, frame)] = site.tick(1.0)
    assert supplier.open(frame)[0].cra is Cra.ALERT
    assert delay >= site.gsme.next_wake(1.0) - 1.0


def test_bad_descriptions_name_the_key(pki: KeyStore) -> None:
    with pytest.raises(ValueError, match=r"site\.esme\.prepayment: expected bool"):
        PremisesSpec.parse(
            {"chf": str(CHF), "keys": ["k"], "esme": {"eui": str(ESME), "prepayment": "yes"}},
            "site",
        )
    with pytest.raises(ValueError, match=r"site: unknown keys \['gas'\]"):
        PremisesSpec.parse({"chf": str(CHF), "keys": ["k"], "gas": {}}, "site")


class HubTraffic(RuleBasedStateMachine):
    """Whatever arrives, in whatever order: outputs never leave before one HAN transit each
    way, nothing is answered for a device off the log, and no device has more answers pending
    than the limit."""

    keys: KeyStore
    LIMIT = 3

    def __init__(self) -> None:
        super().__init__()
        self.supplier = Supplier(self.keys)
        self.site = premises(self.keys, max_in_flight=self.LIMIT)
        self.now = 0.0
        self.due: dict[object, list[float]] = {ESME: [], GSME: []}

    @rule(seconds=st.floats(0.0, 12.0))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        for outputs in self.site.tick(self.now):
            assert outputs[0] >= HAN

    @rule(gas=st.booleans())
    def read(self, gas: bool) -> None:
        device = GSME if gas else ESME
        frame = read_gsme(self.supplier) if gas else read_esme(self.supplier)
        pending = [t for t in self.due[device] if t > self.now]
        outputs = self.site.handle(frame, self.now)
        if len(pending) >= self.LIMIT:
            assert outputs == []
            return
        [(delay, _)] = outputs
        assert delay >= 2 * HAN
        self.due[device] = [*pending, self.now + delay]

    @rule()
    def garbage(self) -> None:
        assert self.site.handle(b"\xdd\x00\x01", self.now) == []

    @invariant()
    def within_limit(self) -> None:
        for device, due in self.due.items():
            assert len([t for t in due if t > self.now]) <= self.LIMIT, device


def test_hub_state_machine(pki: KeyStore) -> None:
    HubTraffic.keys = pki
    run = HubTraffic.TestCase
    run.settings = settings(max_examples=10, stateful_step_count=20, deadline=None)
    run().runTest()


def test_one_wake_window_serves_every_command_waiting(pki: KeyStore, supplier: Supplier) -> None:
    site = premises(pki)
    assert site.gsme is not None
    [(first, _)] = site.handle(read_gsme(supplier), 100.0)
    [(second, _)] = site.handle(read_gsme(supplier), 100.0)
    assert second - first == pytest.approx(site.gsme.settings.processing_time)


def test_the_bench_sees_the_esme_contactor_and_the_gsme_valve(pki: KeyStore) -> None:
    assert premises(pki).observe() == {"device": str(ESME), "supply": "connected", "valve": "on"}


def _active_devices(site: Premises, supplier: Supplier, now: float) -> list[bytes]:
    """CCS06 (read the CHF device log) as the bench's CHF answers it: the EUIs listed."""
    spec = AccessSpec(AccessKind.GET, 104, Obis.parse("0-0:30.3.0.255").raw, 4)
    read = DlmsRequest(0x010F, (CosemAccess(spec),))
    [(_, frame)] = site.handle(supplier.command(CHF, read, 0x010F, originator=ACB), now)
    signing, body = supplier.open(frame)
    assert signing.originator == CHF
    return [entry.value[0].value for entry in body.results[0].to_data().value]  # type: ignore[attr-defined]


def test_ccs06_reads_the_device_log_ccs01_and_ccs02_change(
    pki: KeyStore, supplier: Supplier
) -> None:
    """The CHF's log is one: CCS02 removes the ESME, CCS01 adds a device, CCS06 lists them."""
    site = premises(pki)
    assert _active_devices(site, supplier, 1.0) == [e.raw for e in (ESME, GSME, PPMID, SAPC)]
    remove = supplier.command(CHF, dlms.RemoveHanDevice(ESME), 0x0002, originator=ACB)
    site.handle(remove, 2.0)
    add = dlms.AddHanDevice(OTHER, bytes(range(16)), 1)
    site.handle(supplier.command(CHF, add, 0x0001, originator=ACB), 3.0)
    assert _active_devices(site, supplier, 4.0) == [e.raw for e in (GSME, PPMID, SAPC, OTHER)]


def test_the_gpf_answers_for_the_gsme_from_its_mirror(pki: KeyStore, supplier: Supplier) -> None:
    """GCS13a to the GPF: answered at once (no wake wait) under the GPF's own keys, with the
    GSME's current summation (the mirror of its live state)."""
    site = premises(pki)
    assert site.gsme is not None
    site.gsme.state.volume_m3 = 12.345
    [(delay, frame)] = site.handle(supplier.command(GPF, gbz_uc.ReadGsmeConsumption(), 0x74), 1)
    assert delay < WAKE / 2
    signing = supplier.message(frame).signing
    assert signing.originator == GPF
    [part] = protect.decrypt_parts(signing, pki)
    assert part.verdict == protect.VALID and part.plaintext is not None
    records = {r.attribute: r.value for r in decode_attribute_records(part.plaintext)}
    assert records[0x0000] == 12345


def test_the_hub_ticks_its_gpf_so_a_future_dated_command_executes(
    pki: KeyStore, supplier: Supplier
) -> None:
    """A Write Attributes dated 2030 to the GPF (its ZCL model): answered at once; on the
    hub's virtual clock nothing is applied before the date, and the hub's tick after it applies
    the value and sends the GPF's signed 0x00CD alert to the originator (§1.6)."""
    site = premises(pki)
    assert site.gpf is not None
    due = datetime(2030, 1, 15, 9, tzinfo=UTC)
    now_due = due.timestamp() - 1.7e9  # premises(): wall clock = virtual time + 1.7e9
    write = ZclFrame(0x00, 0, 0x02, bytes.fromhex("0103") + b"\x22" + (77).to_bytes(3, "little"))
    dated = Gbz((GbzComponent(0x0702, write, from_date_time=gbz_time(due)),))
    [_] = site.handle(supplier.command(GPF, RawPayload(0, dated.encode()), 0x7B), 1.0)
    held = (0x0702, 0x0301)
    assert site.gpf.zcl.provenance(held) != "set by GCS21a"
    assert site.tick(now_due - 1) == []
    [(delay, frame)] = site.tick(now_due + 1)
    assert delay < WAKE / 2  # the GPF is the hub's own: no HAN crossing, no wake wait
    signing = supplier.message(frame).signing  # verifies the GPF's signature
    assert (signing.cra, signing.originator, signing.recipient) == (Cra.ALERT, GPF, SUPPLIER)
    assert signing.message_code == FUTURE_DATED_GBZ and signing.signature is not None
    assert site.gpf.zcl.provenance(held) == "set by GCS21a"
    assert site.tick(now_due + 2) == []  # once
