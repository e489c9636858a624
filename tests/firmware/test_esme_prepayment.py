"""The ESME's prepayment, supply rules, registers, alerts and identity (issue 5)."""

from __future__ import annotations

import pytest
from firmware_parties import ESME, SUPPLIER, Supplier
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from firmware_stubs.esme import (
    ALERT_UTRN_LOCKOUT,
    ALERT_UTRN_NOT_FOR_DEVICE,
    Esme,
    EsmeIdentity,
    EsmeSettings,
    EsmeVariant,
)
from firmware_stubs.load_profile import LoadProfile
from firmware_stubs.meter import ALERT_CREDIT_ADDED_LOCALLY, PrepaymentAlerts
from firmware_stubs.prepayment import UNITS_PER_PENNY, PrepaymentSettings
from firmware_stubs.utrn_gate import UtrnSettings
from rig.gbcs import dlms_usecases as dlms
from rig.gbcs import usecases
from rig.gbcs.dlms import Tag
from rig.gbcs.frame import Cra
from rig.gbcs.usecases import SupplyState
from rig.keys.keystore import KeyStore

ALERTS = PrepaymentAlerts()
#: A flat 3.6 kW load: exactly 1 kWh per 1,000 s.
FLAT = LoadProfile(mean_w=3_600.0, swing=0.0, noise=0.0)
#: 36 p/kWh and no standing charge: 36 p per 1,000 s connected.
TARIFF = PrepaymentSettings(
    unit_rate_pence_per_kwh=36.0,
    standing_charge_pence_per_day=0.0,
    emergency_credit_limit_pence=100,
    emergency_credit_threshold_pence=50,
    low_credit_threshold_pence=40,
)


def meter(keys: KeyStore, **changes: object) -> Esme:
    options: dict[str, object] = {
        "prepayment": True,
        "tariff": TARIFF,
        "load": FLAT,
        "alert_recipient": SUPPLIER,
    }
    options.update(changes)
    return Esme.from_keys(ESME, keys, EsmeSettings(**options))  # type: ignore[arg-type]


def alert_codes(supplier: Supplier, outputs: list[tuple[float, bytes]]) -> list[int]:
    codes = []
    for _, frame in outputs:
        signing, body = supplier.open(frame)
        assert signing.cra is Cra.ALERT
        codes.append(body.alert_code)  # type: ignore[attr-defined]
    return codes


def test_consumption_runs_credit_down_then_disconnects_with_alerts(
    pki: KeyStore, supplier: Supplier
) -> None:
    esme = meter(pki)
    esme.state.credit_pence = 100
    assert esme.tick(0.0) == []
    # 1,000 s: 36 p spent, 64 p left.
    assert esme.tick(1_000.0) == []
    assert esme.state.credit_pence == pytest.approx(64)
    # Below 40 p: low credit.
    assert alert_codes(supplier, esme.tick(1_800.0)) == [ALERTS.low_credit]
    # Credit gone: the contactor opens.
    codes = alert_codes(supplier, esme.tick(3_000.0))
    assert codes == [ALERTS.supply_interrupted]
    assert esme.state.supply is SupplyState.DISCONNECTED
    assert esme.state.credit_pence == 0
    assert esme.state.active_wh == pytest.approx(100 / 36 * 1000)


def test_a_top_up_arms_and_the_button_reconnects(pki: KeyStore, supplier: Supplier) -> None:
    esme = meter(pki)
    esme.tick(0.0)
    esme.tick(10.0)
    assert esme.state.supply is SupplyState.DISCONNECTED  # no credit at all
    enable = supplier.command(
        ESME, usecases.ChangeSupplyEsme(SupplyState.CONNECTED), 0x004F, critical=True
    )
    [reply] = supplier.bodies(esme.handle(enable, 11.0))
    assert reply == usecases.ChangeSupplyEsmeResponse(result=dlms.OTHER_REASON)
    [reply] = supplier.bodies(esme.handle(supplier.top_up(ESME, 500), 12.0))
    assert reply == usecases.TopUpEsmeResponse(result=0)
    assert esme.state.supply is SupplyState.ARMED
    esme.press_button(13.0)
    assert esme.state.supply is SupplyState.CONNECTED


def test_emergency_credit_is_granted_below_its_threshold_and_repaid_by_a_top_up(
    pki: KeyStore, supplier: Supplier
) -> None:
    esme = meter(pki)
    esme.state.credit_pence = 60
    esme.tick(0.0)
    esme.activate_emergency_credit(1.0)
    assert esme.state.ledger.emergency is None  # 60 p is not below the 50 p threshold
    esme.tick(500.0)  # 18 p spent: 42 p left
    esme.activate_emergency_credit(500.0)
    assert esme.state.ledger.emergency == 100 * UNITS_PER_PENNY
    codes = alert_codes(supplier, esme.tick(2_000.0))  # 54 p more: 12 p from emergency credit
    assert ALERTS.emergency_credit_in_use in codes
    assert esme.state.supply is SupplyState.CONNECTED
    assert esme.state.ledger.balance == pytest.approx(-12 * UNITS_PER_PENNY, abs=2)
    esme.handle(supplier.top_up(ESME, 100), 2_001.0)
    assert esme.state.ledger.emergency is None
    assert esme.state.credit_pence == pytest.approx(88, abs=0.05)  # less 1 s of use


def test_debt_is_recovered_at_its_daily_rate(pki: KeyStore) -> None:
    tariff = PrepaymentSettings(
        unit_rate_pence_per_kwh=0.0,
        standing_charge_pence_per_day=0.0,
        debt_recovery_rate_pence_per_day=100,
    )
    esme = meter(pki, tariff=tariff)
    esme.state.credit_pence = 1_000
    esme.state.ledger.debt = 500 * UNITS_PER_PENNY
    esme.tick(0.0)
    for hour in range(1, 49):
        esme.tick(hour * 3_600.0)
    assert esme.state.ledger.debt == pytest.approx(300 * UNITS_PER_PENNY, abs=50)
    assert esme.state.credit_pence == pytest.approx(800, abs=0.1)


def test_registers_and_balance_are_read_back_encrypted(pki: KeyStore, supplier: Supplier) -> None:
    esme = meter(pki, prepayment=False)
    esme.tick(0.0)
    esme.tick(2_000.0)  # 2 kWh
    code = dlms.ReadImportRegistersEsme.MESSAGE_CODE
    counter = supplier.next_counter()
    read = dlms.ReadImportRegistersEsme(dlms.ProtectionParameters(counter, SUPPLIER, ESME))
    [(_, frame)] = esme.handle(supplier.command(ESME, read, code, counter=counter), 2_000.0)
    message = supplier.message(frame)
    body = usecases.decode_payload(code, message.signing.payload, Cra.RESPONSE)
    assert isinstance(body, dlms.ProtectedReadResponse) and body.encrypted
    registers = body.registers(supplier.codec.decrypt_part(message, body.encrypted))
    active = registers.value[0].value[0]  # type: ignore[index,union-attr]
    assert (active.tag, active.value) == (Tag.DOUBLE_LONG_UNSIGNED, 2_000)
    balance = supplier.command(ESME, dlms.ReadMeterBalanceEsme(), 0x0069)
    esme.state.credit_pence = 250
    [reply] = supplier.bodies(esme.handle(balance, 2_001.0))
    assert reply == dlms.MeterBalanceResponse(250 * UNITS_PER_PENNY)


def test_a_keypad_utrn_infers_its_counter_and_raises_credit_added_locally(
    pki: KeyStore, supplier: Supplier
) -> None:
    esme = meter(pki, prepayment=False)
    esme.handle(supplier.top_up(ESME, 100), 0.0)  # counter 1 << 32 accepted
    utrn = supplier.utrn(ESME, 250, 5 << 32)  # the next UTRN the supplier issued, not sent
    assert alert_codes(supplier, esme.enter_utrn(utrn, 1.0)) == [ALERT_CREDIT_ADDED_LOCALLY]
    assert esme.state.credit_pence == 350
    # More than 1,024 counter steps ahead, the ten bits alias a nearer counter: refused.
    far = supplier.utrn(ESME, 100, (5 + 1_024 + 3) << 32)
    assert alert_codes(supplier, esme.enter_utrn(far, 2.0)) == [ALERT_UTRN_NOT_FOR_DEVICE]
    assert esme.state.credit_pence == 350


def test_repeated_keypad_failures_lock_the_keypad(pki: KeyStore, supplier: Supplier) -> None:
    esme = meter(pki, prepayment=False, utrn=UtrnSettings(lockout_failures=3, lockout_period=60))
    esme.handle(supplier.top_up(ESME, 100), 0.0)
    bad = "12345678910121314156"
    codes = [alert_codes(supplier, esme.enter_utrn(bad, t)) for t in (1.0, 2.0, 3.0)]
    assert codes[-1][-1] == ALERT_UTRN_LOCKOUT
    good = supplier.utrn(ESME, 100, 2 << 32)
    assert esme.enter_utrn(good, 30.0) == []  # ignored while locked out
    assert alert_codes(supplier, esme.enter_utrn(good, 64.0)) == [ALERT_CREDIT_ADDED_LOCALLY]


def test_an_outage_is_reported_by_a_signed_ecs80(pki: KeyStore, supplier: Supplier) -> None:
    esme = meter(pki, prepayment=False)
    esme.tick(0.0)
    [(_, frame)] = esme.power_outage(100.0, 400.0)
    signing, body = supplier.open(frame)
    assert signing.message_code == 0x0067 and signing.signature is not None
    assert isinstance(body, usecases.SupplyRestoredAlert) and body.alert_code == 0x8F36
    esme.tick(400.0)
    assert esme.state.active_wh == pytest.approx(100.0)  # only the 100 s before the outage


def test_the_n58_data_items_and_the_apc_come_with_the_variant(pki: KeyStore) -> None:
    plain = meter(pki)
    assert plain.apc is None
    assert plain.settings.identity.n58_data_items() == {
        "ESMEVariant": "A",
        "DeviceGBCSVersion": "4.0",
    }
    apc = meter(pki, identity=EsmeIdentity(EsmeVariant.ADE, "4.2"))
    assert apc.apc is not None
    assert apc.settings.identity.n58_data_items()["ESMEVariant"] == "ADE"


class PrepaymentEsme(RuleBasedStateMachine):
    """Any mix of time, top-ups, supply commands and the consumer's buttons keeps the rules:
    credit stays within 0 and the maximum, the contactor is closed only with credit, and the
    energy register never goes backwards."""

    keys: KeyStore

    def __init__(self) -> None:
        super().__init__()
        self.supplier = Supplier(self.keys)
        self.esme = meter(self.keys, max_credit_pence=2_000)
        self.esme.state.credit_pence = 500  # a meter is commissioned with some credit
        self.now = 0.0
        self.esme.tick(self.now)
        self.energy = 0.0

    @rule(seconds=st.floats(1.0, 5_000.0))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        self.esme.tick(self.now)

    @rule(pence=st.integers(1, 1_500))
    def top_up(self, pence: int) -> None:
        before = self.esme.state.ledger.credit
        [*_, (_, frame)] = self.esme.handle(self.supplier.top_up(ESME, pence), self.now)
        reply = self.supplier.open(frame)[1]
        assert isinstance(reply, usecases.TopUpEsmeResponse)
        if reply.result == 0:
            assert self.esme.state.ledger.credit >= before

    @rule(state=st.sampled_from(list(SupplyState)))
    def change_supply(self, state: SupplyState) -> None:
        code = usecases.ChangeSupplyEsme(state).message_code
        frame = self.supplier.command(ESME, usecases.ChangeSupplyEsme(state), code, critical=True)
        [reply] = self.supplier.bodies(self.esme.handle(frame, self.now))
        assert isinstance(reply, usecases.ChangeSupplyEsmeResponse)
        assert (reply.result == 0) == (self.esme.state.supply is state)

    @rule()
    def button(self) -> None:
        self.esme.press_button(self.now)

    @rule()
    def emergency_credit(self) -> None:
        self.esme.activate_emergency_credit(self.now)

    @invariant()
    def books_balance(self) -> None:
        ledger = self.esme.state.ledger
        assert 0 <= ledger.credit <= 2_000 * UNITS_PER_PENNY
        assert 0 <= (ledger.emergency or 0) <= TARIFF.emergency_credit_limit_pence * 1000
        if self.esme.state.supply is SupplyState.CONNECTED:
            assert ledger.available > 0
        assert self.esme.state.active_wh >= self.energy
        self.energy = self.esme.state.active_wh


def test_prepayment_state_machine(pki: KeyStore) -> None:
    PrepaymentEsme.keys = pki
    run = PrepaymentEsme.TestCase
    run.settings = settings(max_examples=15, stateful_step_count=15, deadline=None)
    run().runTest()
