"""The GSME stub: valve, battery, 6.7 gas flow with SMETS2 scaling, top-ups and reads."""

from __future__ import annotations

from decimal import Decimal

import pytest
from firmware_parties import GSME, SUPPLIER, Supplier
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_stubs.gsme import Gsme, GsmeAlerts, GsmeSettings, Valve
from rig.gbcs import gbz_usecases as gbz_uc
from rig.gbcs.frame import Cra
from rig.gbcs.gbz import decode_attribute_records
from rig.keys.keystore import KeyStore

EPOCH_2023 = 1_672_531_200.0


def gas_meter(keys: KeyStore, **changes: object) -> Gsme:
    options: dict[str, object] = {"alert_recipient": SUPPLIER}
    options.update(changes)
    settings = GsmeSettings(**options)  # type: ignore[arg-type]
    return Gsme.from_keys(GSME, keys, settings, wall_clock_offset=EPOCH_2023)  # GBZ: from 2000


def test_the_valve_closes_arms_and_reads_back(pki: KeyStore, supplier: Supplier) -> None:
    gsme = gas_meter(pki)
    for target, valve in (
        (gbz_uc.GasSupplyState.OFF, Valve.OFF),
        (gbz_uc.GasSupplyState.ARMED, Valve.ARMED),
    ):
        change = gbz_uc.ChangeSupplyGsme(target, issuer_event_id=77)
        frame = supplier.command(GSME, change, change.message_code, critical=True)
        [(_, out)] = gsme.handle(frame, 1.0)
        signing, reply = supplier.open(out)
        assert signing.signature is not None  # critical: signed by the meter
        assert reply == gbz_uc.SupplyStatusResponse(77, int(target))
        assert gsme.state.valve is valve
    gsme.press_button(2.0)
    assert gsme.state.valve is Valve.ON
    [reply] = supplier.bodies(
        gsme.handle(supplier.command(GSME, gbz_uc.ReadSupplyStatusGsme(), 0x0082), 3.0)
    )
    assert isinstance(reply, gbz_uc.GbzResponse)
    battery, status = reply.records(0)
    assert status.value == Valve.ON and battery.value == int(gsme.battery_days_left)


@pytest.mark.parametrize(("rate", "decimal"), [(Decimal("0.0123"), True), (Decimal(6), False)])
def test_gas_flow_thresholds_keep_their_scaling(
    pki: KeyStore, supplier: Supplier, rate: Decimal, decimal: bool
) -> None:
    """GCS24a carries rate x 10^4 with divisor 10000; GCS24 an integer (seed 002, SRV 6.7)."""
    gsme = gas_meter(pki)
    body = gbz_uc.SetUncontrolledGasFlow(rate, 5, 30, 60, decimal=decimal)
    frame = supplier.command(GSME, body, body.message_code, critical=True)
    [reply] = supplier.bodies(gsme.handle(frame, 1.0))
    assert isinstance(reply, gbz_uc.GbzResponse)
    assert [reply.default_response(i).status for i in (0, 1)] == [0, 0]  # type: ignore[union-attr]
    assert gsme.state.flow is not None and gsme.state.flow.rate == rate
    assert gsme.gas_flow(rate, 2.0) == []  # at the threshold: fine
    [alert] = supplier.bodies(gsme.gas_flow(rate * 2, 3.0))
    assert alert.alert_code == GsmeAlerts().uncontrolled_flow  # type: ignore[attr-defined]
    assert gsme.state.valve is Valve.OFF


def test_low_battery_is_alerted_once(pki: KeyStore, supplier: Supplier) -> None:
    gsme = gas_meter(pki, battery_days=200.0, low_battery_days=180.0)
    gsme.tick(0.0)
    assert gsme.tick(10 * 86_400.0) == []
    [alert] = supplier.bodies(gsme.tick(30 * 86_400.0))
    assert alert.alert_code == GsmeAlerts().low_battery  # type: ignore[attr-defined]
    assert gsme.tick(31 * 86_400.0) == []


def test_a_top_up_answers_in_milli_pence_and_reads_encrypted(
    pki: KeyStore, supplier: Supplier
) -> None:
    gsme = gas_meter(pki, prepayment=True)
    [reply] = supplier.bodies(gsme.handle(supplier.top_up(GSME, 1_250, gas=True), 0.0))
    assert reply == gbz_uc.TopUpGsmeResponse(0, 1_250_000, 0, 1_250_000)
    gsme.tick(3_600.0)
    [(_, frame)] = gsme.handle(supplier.command(GSME, gbz_uc.ReadGsmeConsumption(), 0x0074), 3_600)
    message = supplier.message(frame)
    reply = gbz_uc.GbzResponse.decode(message.signing.payload)
    component = reply.gbz.components[0]
    assert component.encrypted and message.signing.cra is Cra.RESPONSE
    records = decode_attribute_records(
        supplier.codec.decrypt_part(message, component.frame.payload)
    )
    litres = {r.attribute: r.value for r in records}[0x0000]
    assert litres == round(gsme.state.volume_m3 * 1000) > 0
    assert gsme.state.ledger.credit < 1_250_000


def test_a_bad_top_up_gets_a_gbz_alert_then_the_rtds_error_response(
    pki: KeyStore, supplier: Supplier
) -> None:
    gsme = gas_meter(pki)
    bad = supplier.command(GSME, gbz_uc.TopUpGsme("12345678910121314156"), 0x0097)
    alert, reply = supplier.bodies(gsme.handle(bad, 0.0))
    assert alert.alert_code == 0x8F63  # type: ignore[attr-defined]
    assert reply == gbz_uc.TopUpGsmeResponse(1, -1, 0, -1)


@settings(max_examples=50, deadline=None)
@given(
    after=st.floats(0, 1e6),
    interval=st.floats(0.5, 3_600),
    jitter=st.floats(0, 0.99),
    window=st.floats(0, 0.99),
    seed=st.integers(0, 1_000),
)
def test_wake_windows_are_the_next_after(
    pki: KeyStore, after: float, interval: float, jitter: float, window: float, seed: int
) -> None:
    gsme = gas_meter(
        pki,
        wake_interval=interval,
        wake_jitter=jitter * interval / 2,
        wake_window=window * interval / 2,
        seed=seed,
    )
    wake = gsme.next_wake(after)
    assert after <= wake <= after + 2 * interval
    # Awake at ``wake``: still awake a moment later unless the window just closed.
    assert gsme.next_wake(wake) == wake
    assert gsme.next_wake(wake) == wake
