"""SRV 1.1.1 tariffs typed end to end: ECS01a (21 COSEM SETs) and GCS01a (ZSE publish commands)
decode from the RTDS vectors into the typed model and re-encode byte for byte; hypothesis
round-trips; the GasThresholdType limit (seed 002: 2^48 - 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gbcs_testdata import VECTORS
from hypothesis import given
from hypothesis import strategies as st

from rig.gbcs.errors import DecodeError
from rig.gbcs.esme_tariff import (
    BLOCKS,
    CANCELLED,
    IMMEDIATE,
    THRESHOLD_ROWS,
    TIERS,
    TOU_PRICES,
    CosemDate,
    CosemDateTime,
    CosemTime,
    DayAction,
    DayProfile,
    Season,
    SpecialDay,
    UpdateTariffEsme,
    WeekProfile,
)
from rig.gbcs.frame import Cra, GeneralSigning, decode
from rig.gbcs.gbz import Gbz, GbzComponent, ZclFrame
from rig.gbcs.gsme_tariff import (
    GAS_THRESHOLD_MAX,
    PRICE,
    DaySchedule,
    GasThresholdError,
    PriceEntry,
    PublishBlockThresholds,
    PublishCalendar,
    PublishDayProfile,
    PublishPriceMatrix,
    PublishSeasons,
    PublishSpecialDays,
    PublishTariffInformation,
    PublishWeekProfile,
    SeasonEntry,
    SpecialDayEntry,
    UpdateTariffGsme,
    ZclDate,
)
from rig.gbcs.usecases import decode_payload

TARIFF_COMMANDS = [v for v in VECTORS if v.parent.name.startswith("1.1.1_") and "COMMAND" in v.name]


def _signing(path: Path) -> GeneralSigning:
    return decode(bytes.fromhex(path.read_text().strip())).signing


@pytest.mark.shared
@pytest.mark.parametrize("path", TARIFF_COMMANDS, ids=lambda p: p.name.removesuffix("_GBCS.HEX"))
def test_rtds_tariff_decodes_typed_and_reencodes(path: Path) -> None:
    s = _signing(path)
    typed = decode_payload(s.message_code, s.payload, s.cra)
    assert isinstance(typed, UpdateTariffEsme | UpdateTariffGsme)
    assert typed.encode(s.counter) == s.payload


@pytest.mark.shared
def test_rtds_ecs01a_fields(rtds: Path) -> None:
    folder = rtds / "vectors" / "1.1.1_ECS01a"
    tou = _signing(folder / "ECS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_COMMAND_GBCS.HEX")
    tariff = UpdateTariffEsme.decode(tou.payload)
    assert tariff.tou_prices[:4] == (2121, 3127, 4744, 0)
    assert (tariff.standing_charge, tariff.standing_charge_scale, tariff.price_scale) == (
        20000,
        -5,
        -5,
    )
    assert tariff.seasons[0] == Season(
        b"winter", CosemDateTime(CosemDate(2014, 10, 27), CosemTime(0)), 1
    )
    assert tariff.days[0].actions == (
        DayAction.tou(CosemTime(0), 2),
        DayAction.tou(CosemTime(7), 3),
    )
    assert tariff.special_days[1] == SpecialDay(2, CosemDate(None, 12, 25), 3)
    assert tariff.activation == IMMEDIATE
    block = UpdateTariffEsme.decode(
        _signing(folder / "ECS01a_1.1.1_IMMEDIATE_BLOCK_SUCCESS_COMMAND_GBCS.HEX").payload
    )
    assert [b[0] for b in block.block_prices] == [1361, 2289, 5566, 0]
    assert block.thresholds[0] == (10000, 20000, 4294967295)
    assert block.days[0].actions == (DayAction.block(CosemTime(0), 1),)
    cancel = _signing(folder / "ECS01a_1.1.1_CANCELLATION_TOU_BLOCK_SUCCESS_COMMAND_GBCS.HEX")
    assert UpdateTariffEsme.decode(cancel.payload).activation == CANCELLED


@pytest.mark.shared
def test_rtds_gcs01a_fields(rtds: Path) -> None:
    folder = rtds / "vectors" / "1.1.1_GCS01a"
    block = UpdateTariffGsme.decode(
        _signing(folder / "GCS01a_1.1.1_FUTURE_DATED_BLOCK_SUCCESS_COMMAND_GBCS.HEX").payload
    )
    thresholds = block.block_thresholds
    assert thresholds is not None and thresholds.thresholds == (1_000_000, 2_000_000, 3_000_000)
    assert [type(c).__name__ for c in block.commands] == [
        "PublishCalendar",
        "PublishDayProfile",
        "PublishWeekProfile",
        "PublishSeasons",
        "PublishSpecialDays",
        "PublishTariffInformation",
        "PublishBlockThresholds",
        "PublishPriceMatrix",
    ]
    info = block.commands[5]
    assert isinstance(info, PublishTariffInformation) and info.standing_charge == 54794
    prices = block.commands[7]
    assert isinstance(prices, PublishPriceMatrix)
    assert prices.entries == tuple(
        PriceEntry(i, p) for i, p in enumerate((9600, 10200, 10750, 11000))
    )


def test_gas_threshold_limit_is_a_consistent_error() -> None:
    ok = PublishBlockThresholds(1, 2, 3, (GAS_THRESHOLD_MAX,))
    assert UpdateTariffGsme.decode(UpdateTariffGsme((ok,)).encode(0)).block_thresholds == ok
    with pytest.raises(GasThresholdError) as caught:
        PublishBlockThresholds(1, 2, 3, (1, GAS_THRESHOLD_MAX + 1))
    assert caught.value.value == 281_474_976_710_656
    assert isinstance(caught.value, ValueError)


def test_malformed_tariffs_raise_decode_error() -> None:
    thresholds = PublishBlockThresholds(1, 2, 3, (4,)).payload()
    short = ZclFrame(0x09, 0, PublishBlockThresholds.COMMAND, thresholds[:-1])
    with pytest.raises(DecodeError, match=r"GCS01a component 0: .*threshold"):
        UpdateTariffGsme.decode(Gbz((GbzComponent(PRICE, short),)).encode())
    wrong_order = ZclFrame(0x09, 1, PublishBlockThresholds.COMMAND, thresholds)
    with pytest.raises(DecodeError, match="in order"):
        UpdateTariffGsme.decode(Gbz((GbzComponent(PRICE, wrong_order),)).encode())
    with pytest.raises(DecodeError, match="ECS01a"):
        UpdateTariffEsme.decode(bytes.fromhex("D920000001000000"))


# --- hypothesis ---------------------------------------------------------------------------------

_u8 = st.integers(0, 0xFE)
_opt8 = st.none() | _u8
_u32 = st.integers(0, 2**32 - 1)
_long = st.integers(-(2**15), 2**15 - 1)
_cosem_date = st.builds(CosemDate, st.none() | st.integers(0, 0xFFFE), _opt8, _opt8, _opt8)
_cosem_time = st.builds(CosemTime, _opt8, _opt8, _opt8, _opt8)
_cosem_dt = st.builds(
    CosemDateTime, _cosem_date, _cosem_time, st.none() | st.integers(-(2**15) + 1, 2**15 - 1), _opt8
)
_small = st.integers(0, 4)


@st.composite
def esme_tariffs(draw: st.DrawFn) -> UpdateTariffEsme:
    return UpdateTariffEsme(
        seasons=tuple(
            draw(st.lists(st.builds(Season, st.binary(max_size=8), _cosem_dt, _u8), max_size=3))
        ),
        weeks=tuple(
            draw(
                st.lists(
                    st.builds(WeekProfile, _u8, st.tuples(*[_u8] * 7)),
                    max_size=3,
                )
            )
        ),
        days=tuple(
            draw(
                st.lists(
                    st.builds(
                        DayProfile,
                        _u8,
                        st.lists(
                            st.builds(DayAction, _cosem_time, st.integers(0, 0xFFFF)), max_size=3
                        ).map(tuple),
                    ),
                    max_size=3,
                )
            )
        ),
        special_days=tuple(
            draw(
                st.lists(
                    st.builds(SpecialDay, st.integers(0, 0xFFFF), _cosem_date, _u8), max_size=3
                )
            )
        ),
        thresholds=tuple(tuple(draw(st.lists(_u32, max_size=3))) for _ in range(THRESHOLD_ROWS)),
        standing_charge=draw(_long),
        standing_charge_scale=draw(st.integers(-128, 127)),
        price_scale=draw(st.integers(-128, 127)),
        tou_prices=tuple(draw(st.lists(_long, min_size=TOU_PRICES, max_size=TOU_PRICES))),
        block_prices=tuple(
            tuple(draw(st.lists(_long, min_size=TIERS, max_size=TIERS))) for _ in range(BLOCKS)
        ),
        activation=draw(_cosem_dt),
        flag=draw(st.booleans()),
    )


@given(esme_tariffs(), st.integers(0, 2**64 - 1))
def test_esme_tariff_round_trips(tariff: UpdateTariffEsme, counter: int) -> None:
    payload = tariff.encode(counter)
    assert decode_payload(0x0019, payload, Cra.COMMAND) == tariff


_zcl_date = st.builds(ZclDate, st.none() | st.integers(1900, 2154), _opt8, _opt8, _opt8)
_id = _u32
_publish = st.one_of(
    st.builds(PublishCalendar, _id, _id, _id, _u8, _u8, _u8, _u8, _u8, st.binary(max_size=12), _id),
    st.builds(
        PublishDayProfile,
        _id,
        _id,
        _u8,
        st.lists(st.builds(DaySchedule, st.integers(0, 0xFFFF), _u8), max_size=4).map(tuple),
        st.none(),
        _u8,
        _u8,
        _u8,
        _id,
    ),
    st.builds(PublishWeekProfile, _id, _id, _u8, st.tuples(*[_u8] * 7), _id),
    st.builds(
        PublishSeasons,
        _id,
        _id,
        st.lists(st.builds(SeasonEntry, _zcl_date, _u8), max_size=4).map(tuple),
        _u8,
        _u8,
        _id,
    ),
    st.builds(
        PublishSpecialDays,
        _id,
        _id,
        _id,
        st.lists(st.builds(SpecialDayEntry, _zcl_date, _u8), max_size=4).map(tuple),
    ),
    st.builds(
        PublishTariffInformation,
        _id,
        _id,
        _id,
        _u8,
        _u8,
        _u8,
        _id,
        st.binary(max_size=24),
        _u8,
        st.integers(0, 0xFFFF),
        _u8,
        _u8,
        st.integers(0, 2**24 - 1),
        st.integers(0, 2**24 - 1),
    ),
    st.builds(
        PublishPriceMatrix,
        _id,
        _id,
        _id,
        _u8,
        st.lists(st.builds(PriceEntry, _u8, _u32), max_size=6).map(tuple),
    ),
    st.builds(
        PublishBlockThresholds,
        _id,
        _id,
        _id,
        st.lists(st.integers(0, GAS_THRESHOLD_MAX), max_size=15).map(tuple),
        st.integers(0, 15),
    ),
)


@given(st.lists(_publish, min_size=1, max_size=8))
def test_gsme_tariff_round_trips(commands: list) -> None:
    tariff = UpdateTariffGsme(tuple(commands))
    assert decode_payload(0x006B, tariff.encode(0), Cra.COMMAND) == tariff


@given(st.integers(GAS_THRESHOLD_MAX + 1, 2**64))
def test_any_threshold_above_the_maximum_is_refused(value: int) -> None:
    with pytest.raises(GasThresholdError, match=str(value)):
        PublishBlockThresholds(0, 0, 1, (value,))
