"""The ESME firmware stub as a pure state machine: frames and times in, frames out."""

from __future__ import annotations

import logging
from datetime import timedelta

import firmware_parties
import pytest
from firmware_parties import ESME, GSME, SUPPLIER
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.emulated.host import device_clock_offset
from firmware_stubs.esme import (
    ALERT_NO_AUTHORITY,
    ALERT_UTRN_DUPLICATE,
    ALERT_UTRN_NOT_FOR_DEVICE,
    ALERT_UTRN_OVER_MAX_CREDIT,
    Esme,
    EsmeSettings,
)
from rig.gbcs import usecases
from rig.gbcs.dlms import parse_cosem_datetime
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, decode
from rig.keys.keystore import KeyStore

METER = ESME
OTHER = GSME  # a device whose UTRNs this meter must refuse


class Supplier(firmware_parties.Supplier):
    """The User's side, with the counters a test chooses (anti-replay is under test)."""

    def read(self, counter: int) -> bytes:
        return self.command(METER, usecases.ReadSupplyStatusEsme(), 0x0052, counter=counter)

    def top_up_at(self, counter: int, pence: int, *, utrn_for: Eui64 = METER) -> bytes:
        utrn = self.utrn(utrn_for, pence, counter)
        return self.command(METER, usecases.TopUpEsme(utrn), 0x0007, counter=counter)


def meter(keys: KeyStore, **settings: float) -> Esme:
    return Esme.from_keys(METER, keys, EsmeSettings(**settings))  # type: ignore[arg-type]


def replies(esme: Esme, supplier: Supplier, frame: bytes) -> list[tuple[Cra, object]]:
    opened = [supplier.open(out) for _, out in esme.handle(frame, now=100.0)]
    return [(signing.cra, body) for signing, body in opened]


def test_read_supply_status_answers_the_state(pki: KeyStore) -> None:
    esme, supplier = meter(pki), Supplier(pki)
    [(cra, body)] = replies(esme, supplier, supplier.read(1))
    assert cra is Cra.RESPONSE
    assert body == usecases.ReadSupplyStatusEsmeResponse(
        control_state=usecases.SupplyState.CONNECTED
    )


def test_the_processing_time_is_the_reply_delay(pki: KeyStore) -> None:
    esme, supplier = meter(pki, processing_time=0.25), Supplier(pki)
    [(delay, _)] = esme.handle(supplier.read(1), now=0.0)
    assert delay == 0.25


def test_a_top_up_on_a_disconnected_meter_arms_it(pki: KeyStore) -> None:
    esme, supplier = meter(pki), Supplier(pki)
    esme.state.supply = usecases.SupplyState.DISCONNECTED
    [(_, body)] = replies(esme, supplier, supplier.top_up_at(2**32, 500))
    assert body == usecases.TopUpEsmeResponse(result=0)
    assert esme.state.credit_pence == 500
    assert esme.state.supply is usecases.SupplyState.ARMED


@pytest.mark.parametrize(
    ("frames", "alert"),
    [
        (lambda s: [s.top_up_at(2**32, 100, utrn_for=OTHER)], ALERT_UTRN_NOT_FOR_DEVICE),
        (lambda s: [s.top_up_at(2**32, 8000)], ALERT_UTRN_OVER_MAX_CREDIT),
    ],
)
def test_utrn_rejections_answer_with_an_alert_then_a_failed_result(pki, frames, alert) -> None:
    esme, supplier = meter(pki, max_credit_pence=5000), Supplier(pki)
    out = replies(esme, supplier, frames(supplier)[0])
    assert [cra for cra, _ in out] == [Cra.ALERT, Cra.RESPONSE]
    assert out[0][1].alert_code == alert
    assert out[1][1].result != 0
    assert esme.state.credit_pence == 0


def test_a_used_utrn_is_a_duplicate(pki: KeyStore) -> None:
    esme, supplier = meter(pki), Supplier(pki)
    first = supplier.top_up_at(2**32, 100)
    assert replies(esme, supplier, first)[0][1] == usecases.TopUpEsmeResponse(result=0)
    # The same UTRN in a fresh command (new counter): the UTRN itself is refused.
    utrn = usecases.decode_payload(0x0007, decode(first).signing.payload, Cra.COMMAND).utrn
    payload = usecases.encode_payload(usecases.TopUpEsme(utrn), 2 * 2**32)
    again = supplier.codec.build_command(SUPPLIER, METER, 2 * 2**32, 0x0007, payload)
    out = replies(esme, supplier, again)
    assert out[0][1].alert_code == ALERT_UTRN_DUPLICATE
    assert esme.state.credit_pence == 100


def test_a_frame_for_another_meter_is_discarded_silently(pki: KeyStore) -> None:
    esme, supplier = meter(pki), Supplier(pki)
    payload = usecases.encode_payload(usecases.ReadSupplyStatusEsme(), 1)
    frame = supplier.codec.build_command(SUPPLIER, OTHER, 1, 0x0052, payload)
    assert esme.handle(frame, now=0.0) == []
    assert "discarded" in esme.events[-1]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["read", "top_up", "tamper", "replay", "garbage"]), st.integers(1, 300)
        ),
        max_size=12,
    )
)
def test_any_sequence_keeps_the_books(pki: KeyStore, steps: list[tuple[str, int]]) -> None:
    """Credit is the sum of accepted top-ups; only authentic, fresh commands change state;
    every refused command is answered by one critical 8F30 alert and nothing else."""
    esme, supplier = meter(pki), Supplier(pki)
    counter, expected_credit, sent = 2**32, 0, [supplier.read(1)]
    assert replies(esme, supplier, sent[0])[0][0] is Cra.RESPONSE
    for action, value in steps:
        counter += 2**32
        if action == "read":
            sent.append(supplier.read(counter))
            out = replies(esme, supplier, sent[-1])
            assert [c for c, _ in out] == [Cra.RESPONSE]
        elif action == "top_up":
            sent.append(supplier.top_up_at(counter, value))
            out = replies(esme, supplier, sent[-1])
            assert out[-1][1] == usecases.TopUpEsmeResponse(result=0)
            expected_credit += value
        elif action in ("tamper", "replay"):
            if action == "tamper":
                frame = supplier.read(counter)
                frame = frame[:-1] + bytes([frame[-1] ^ 0x80])
            else:
                frame = sent[value % len(sent)]
            out = replies(esme, supplier, frame)
            assert [(c, b.alert_code) for c, b in out] == [(Cra.ALERT, ALERT_NO_AUTHORITY)]
        else:
            assert esme.handle(bytes([value % 256]) * 3, now=0.0) == []
        assert esme.state.credit_pence == expected_credit


@pytest.mark.parametrize("skew_s", [-90.0, 3600.0])
def test_clock_skew_shifts_the_alert_date_time(
    pki: KeyStore, skew_s: float, caplog: pytest.LogCaptureFixture
) -> None:
    """The clock-skew fault (``--clock-skew`` of the emulator processes): the date-time of a
    UTRN-rejection alert moves by the skew, and the fault is logged with its value."""
    supplier = Supplier(pki)

    def alert_time(skew: float) -> object:
        offset = device_clock_offset(skew, host_offset=1.7e9)
        esme = Esme.from_keys(METER, pki, wall_clock_offset=offset)
        [(_, alert), _] = replies(esme, supplier, supplier.top_up_at(2**32, 100, utrn_for=OTHER))
        return parse_cosem_datetime(alert.date_time)  # type: ignore[attr-defined]

    with caplog.at_level(logging.WARNING, logger="devices.emulated.host"):
        assert alert_time(skew_s) - alert_time(0.0) == timedelta(seconds=skew_s)  # type: ignore[operator]
    assert [r.getMessage() for r in caplog.records] == [
        f"fault clock_skew: device clock {skew_s:+.3f} s from the host's"
    ]
