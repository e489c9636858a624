"""DUIS -> GBCS: the DSP's transform of a service request into a GBCS command (domain.md §7.3).

:func:`to_gbcs` picks the use case from the SRV and the target's device type
(:data:`~rig.duis.srv_matrix.DEVICE_USE_CASES`) and builds its payload with :mod:`rig.gbcs`.
Framing is the caller's: a non-critical command goes through
``RemotePartyCodec.build_command``, a critical one through ``build_critical_command`` (or, for a
CV 4 request, the unsigned pre-command is returned to the User). The GBCS originator and counter
are the request's, except for :data:`DCC_ORIGINATED` use cases, which the DCC originates under its
own counter (RTDS 8.11: CCS01/CCS02 come from the ACB's EUI with counter 1302 for the User's 1002).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, time
from decimal import Decimal
from typing import NamedTuple, TypeVar

from rig.duis import request as rq
from rig.duis.access import Device
from rig.duis.codes import DuisError, ResponseCode, RigCode
from rig.duis.messages import parse_tariff
from rig.duis.srv_matrix import SRV_MATRIX, use_case
from rig.gbcs import dlms_usecases as dlms
from rig.gbcs import esme_tariff as et
from rig.gbcs import gbz_usecases as gbz
from rig.gbcs import gsme_tariff as gt
from rig.gbcs import usecases
from rig.gbcs.codec import DEFAULT_ACB
from rig.gbcs.errors import DecodeError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning, decode
from rig.gbcs.gbz import gbz_time

#: Message codes of the use cases the DCC, not the User, originates (CCS01, CCS02).
DCC_ORIGINATED = frozenset({usecases.MESSAGE_CODES["CCS01"], usecases.MESSAGE_CODES["CCS02"]})


class GbcsCommand(NamedTuple):
    """What the DSP sends on: message code, payload bytes, and whether it must be signed."""

    message_code: int
    payload: bytes
    critical: bool


#: Issuer Event ID of the DSP's GBZ commands [ASSUMED: the DSP's choice; the value all RTDS GBZ
#: commands carry, 0x1C374A80].
RTDS_ISSUER_EVENT_ID = 0x1C374A80
_GAS_STATE = {rq.SupplyStateChange.UNCHANGED: gbz.SupplyStateChange.UNCHANGED}


_T = TypeVar("_T")


class _Context(NamedTuple):
    request: rq.ServiceRequest
    counter: int
    issuer_event_id: int


_Builder = Callable[[_Context], usecases.Payload]

_ESME_SUPPLY = {
    "7.1": usecases.SupplyState.CONNECTED,
    "7.2": usecases.SupplyState.DISCONNECTED,
    "7.3": usecases.SupplyState.ARMED,
}
_GSME_SUPPLY = {"7.2": gbz.GasSupplyState.OFF, "7.3": gbz.GasSupplyState.ARMED}


def _body(context: _Context, kind: type[_T]) -> _T:
    assert isinstance(context.request.body, kind)
    return context.request.body


def _protected(context: _Context) -> dlms.ProtectionParameters:
    rid = context.request.request_id
    return dlms.ProtectionParameters(context.counter, rid.originator, rid.target)


def _gas_state(value: rq.SupplyStateChange, element: str) -> int:
    if value not in _GAS_STATE:
        raise DuisError(
            RigCode.UNSUPPORTED_SRV, f"{value}: its GBCS value is not in the reference", element
        )
    return _GAS_STATE[value]


def _gas_flow(context: _Context) -> usecases.Payload:
    body = _body(context, rq.UpdateDeviceConfigurationGasFlow)
    decimal = body.rate_decimal is not None
    return gbz.SetUncontrolledGasFlow(
        body.rate_decimal if body.rate_decimal is not None else Decimal(body.rate or 0),
        context.issuer_event_id,
        body.stabilisation_period,
        body.measurement_period,
        decimal=decimal,
        supply_tamper_state=_gas_state(body.tamper_state, "sr:SupplyTamperState"),
        supply_depletion_state=_gas_state(body.depletion_state, "sr:SupplyDepletionState"),
    )


def _add_han_device(context: _Context) -> usecases.Payload:
    body = _body(context, rq.UpdateHanDeviceLog)
    assert body.add is not None  # the schema pairs RequestType Add with the whitelist entry
    return dlms.AddHanDevice(body.device_id, body.add.install_code, body.add.join_time_period)


#: Issuer Tariff ID of GCS01a [ASSUMED: the DSP's choice; 1 in every RTDS GCS01a].
RTDS_ISSUER_TARIFF_ID = 1
#: GBZ start times of a cancelled GCS01a: Publish Tariff Information carries 0xFFFFFFFF, the
#: other publish commands 0xFFFFFFFE (RTDS GCS01a CANCELLATION).
_GAS_CANCEL_TARIFF_START = 0xFFFFFFFF
_GAS_CANCEL_START = 0xFFFFFFFE
#: Publish Tariff Information tariff type: TOU 0x00, block 0x10 (RTDS GCS01a).
_GAS_TOU, _GAS_BLOCK = 0x00, 0x10


def _tariff(context: _Context, gas: bool) -> rq.Tariff:
    body = _body(context, rq.UpdateImportTariff)
    tariff = parse_tariff(body)
    if tariff.gas != gas:
        raise DuisError(
            ResponseCode.INVALID_SRV_DEVICE_TYPE,
            f"{'gas' if tariff.gas else 'electricity'} tariff elements for this device",
            "sr:UpdateImportTariffPrimaryElement",
        )
    return tariff


def _padded(values: tuple[int, ...], size: int, element: str) -> tuple[int, ...]:
    if len(values) > size:
        raise DuisError(RigCode.SCHEMA_VIOLATION, f"more than {size} values", element)
    return values + (0,) * (size - len(values))


def _cosem_date(date: rq.TariffDate) -> et.CosemDate:
    return et.CosemDate(date.year, date.month, date.day, date.day_of_week)


def _cosem_time(start: time | None) -> et.CosemTime:
    if start is None:
        return et.CosemTime(0)
    return et.CosemTime(start.hour, start.minute, start.second, start.microsecond // 10_000)


def _padded_rows(rows: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
    if len(rows) > et.THRESHOLD_ROWS:
        raise DuisError(
            RigCode.SCHEMA_VIOLATION, f"more than {et.THRESHOLD_ROWS} rows", "sr:Thresholds"
        )
    return rows


def _activation(moment: datetime | None) -> et.CosemDateTime:
    if moment is None:
        return et.IMMEDIATE
    return et.CANCELLED if moment == rq.TARIFF_CANCELLATION else et.CosemDateTime.at(moment)


def _ecs01a(context: _Context) -> usecases.Payload:
    """ECS01a from the ElecTariffElements (mapping as the DUIS templates / RTDS commands)."""
    tariff = _tariff(context, gas=False)
    days = tuple(
        et.DayProfile(
            day.day,
            tuple(
                (et.DayAction.block if a.block else et.DayAction.tou)(
                    _cosem_time(a.start),
                    (a.block_rate if a.block else a.tou_rate) or 0,
                )
                for a in day.actions
            ),
        )
        for day in tariff.days
    )
    if len(tariff.block_prices) > et.TIERS:
        raise DuisError(RigCode.SCHEMA_VIOLATION, f"more than {et.TIERS} tiers", "sr:BlockPrices")
    blocks = [[0] * et.TIERS for _ in range(et.BLOCKS)]
    for tier, row in enumerate(tariff.block_prices):
        for block, price in enumerate(_padded(row, et.BLOCKS, "sr:BlockPrice")):
            blocks[block][tier] = price
    rows = tariff.thresholds + ((),) * (et.THRESHOLD_ROWS - len(tariff.thresholds))
    return et.UpdateTariffEsme(
        seasons=tuple(
            et.Season(
                (s.name or "").encode(),
                et.CosemDateTime(_cosem_date(s.start), et.CosemTime(0)),
                s.week,
            )
            for s in tariff.seasons
        ),
        weeks=tuple(et.WeekProfile(w.week, w.days) for w in tariff.weeks),
        days=days,
        special_days=tuple(
            et.SpecialDay(i, _cosem_date(d.date), d.day)
            for i, d in enumerate(tariff.special_days, start=1)
        ),
        thresholds=_padded_rows(rows),
        standing_charge=tariff.standing_charge,
        standing_charge_scale=tariff.standing_charge_scale or 0,
        price_scale=tariff.price_scale or 0,
        tou_prices=_padded(tariff.tou_prices, et.TOU_PRICES, "sr:TOUPrice"),
        block_prices=tuple(tuple(b) for b in blocks),
        activation=_activation(context.request.execution_date_time),
    )


def _zcl_date(date: rq.TariffDate) -> gt.ZclDate:
    return gt.ZclDate(date.year, date.month, date.day, date.day_of_week)


def _gcs01a(context: _Context) -> usecases.Payload:
    """GCS01a from the GasTariffElements: the ZSE publish commands in RTDS order."""
    tariff = _tariff(context, gas=True)
    event = calendar = context.issuer_event_id
    tariff_id = RTDS_ISSUER_TARIFF_ID
    moment = context.request.execution_date_time
    if moment is None:
        start = info_start = 0
    elif moment == rq.TARIFF_CANCELLATION:
        start, info_start = _GAS_CANCEL_START, _GAS_CANCEL_TARIFF_START
    else:
        start = info_start = gbz_time(moment)
    block = not tariff.tou_prices
    thresholds = tariff.thresholds[0] if tariff.thresholds else ()
    commands: list[gt.PublishCommand] = [
        gt.PublishCalendar(
            event, calendar, start, len(tariff.seasons), len(tariff.weeks), len(tariff.days)
        ),
        *(
            gt.PublishDayProfile(
                event,
                calendar,
                day.day,
                tuple(gt.DaySchedule(0, a.tou_rate or 0) for a in day.actions),
            )
            for day in tariff.days
        ),
        *(gt.PublishWeekProfile(event, calendar, w.week, w.days) for w in tariff.weeks),
        gt.PublishSeasons(
            event,
            calendar,
            tuple(gt.SeasonEntry(_zcl_date(s.start), s.week) for s in tariff.seasons),
        ),
        gt.PublishSpecialDays(
            event,
            calendar,
            start,
            tuple(gt.SpecialDayEntry(_zcl_date(d.date), d.day) for d in tariff.special_days),
        ),
        gt.PublishTariffInformation(
            event,
            tariff_id,
            info_start,
            _GAS_BLOCK if block else _GAS_TOU,
            len(tariff.tou_prices),
            len(thresholds) if block else 0,
            tariff.standing_charge,
        ),
    ]
    if block:
        try:
            commands.append(gt.PublishBlockThresholds(event, start, tariff_id, thresholds))
        except gt.GasThresholdError as exc:
            raise DuisError(RigCode.GAS_THRESHOLD_RANGE, str(exc), "sr:BlockThreshold") from exc
    prices = tariff.block_prices[0] if block and tariff.block_prices else tariff.tou_prices
    commands.append(
        gt.PublishPriceMatrix(
            event,
            start,
            tariff_id,
            gt.BLOCK_BASED if block else gt.TOU_BASED,
            tuple(gt.PriceEntry(i if not block else i - 1, p) for i, p in enumerate(prices, 1)),
        )
    )
    return gt.UpdateTariffGsme(tuple(commands))


#: Payload builders by GBCS use case.
_BUILDERS: dict[str, _Builder] = {
    "ECS01a": _ecs01a,
    "GCS01a": _gcs01a,
    "CS01a": lambda c: usecases.TopUpEsme(_body(c, rq.TopUpDevice).utrn),
    "CS01b": lambda c: gbz.TopUpGsme(_body(c, rq.TopUpDevice).utrn),
    "ECS42": lambda c: usecases.ChangeSupplyEsme(_ESME_SUPPLY[c.request.srv]),
    "ECS43": lambda c: usecases.ChangeSupplyEsme(_ESME_SUPPLY[c.request.srv]),
    "ECS44": lambda c: usecases.ChangeSupplyEsme(_ESME_SUPPLY[c.request.srv]),
    "ECS45": lambda _c: usecases.ReadSupplyStatusEsme(),
    "GCS32": lambda c: gbz.ChangeSupplyGsme(_GSME_SUPPLY[c.request.srv], c.issuer_event_id),
    "GCS39": lambda c: gbz.ChangeSupplyGsme(_GSME_SUPPLY[c.request.srv], c.issuer_event_id),
    "GCS33": lambda _c: gbz.ReadSupplyStatusGsme(),
    "ECS17b": lambda c: dlms.ReadImportRegistersEsme(_protected(c)),
    "GCS13a": lambda _c: gbz.ReadGsmeConsumption(),
    "ECS19": lambda c: dlms.ReadPrepaymentRegistersEsme(_protected(c)),
    "GCS14": lambda _c: gbz.ReadGsmePrepaymentRegisters(),
    "ECS82": lambda _c: dlms.ReadMeterBalanceEsme(),
    "GCS60": lambda _c: gbz.ReadGsmeBalance(),
    "GCS24": _gas_flow,
    "GCS24a": _gas_flow,
    "CCS01": _add_han_device,
    "CCS02": lambda c: dlms.RemoveHanDevice(_body(c, rq.UpdateHanDeviceLog).device_id),
}


def to_gbcs(
    request: rq.ServiceRequest,
    devices: Mapping[Eui64, Device],
    *,
    counter: int | None = None,
    issuer_event_id: int = RTDS_ISSUER_EVENT_ID,
) -> GbcsCommand:
    """The GBCS command for an admitted request.

    ``devices`` is the inventory (:attr:`AccessControl.devices`); ``counter`` the GBCS
    originator counter when it is not the request's (a :data:`DCC_ORIGINATED` use case), and
    ``issuer_event_id`` the ZSE Issuer Event ID of GBZ commands. A CV
    5-7 SignedPreCommand carries its command already: its message code and payload are returned.
    Raises :class:`DuisError`: E19 unknown target, E11 wrong device type, ``RIG-UNSUPPORTED-SRV``
    when rig.gbcs has no payload for the use case.
    """
    info = SRV_MATRIX.get(request.srv)
    critical = info is not None and info.critical
    if isinstance(request.body, rq.SignedPreCommand):
        try:
            signing = decode(request.body.gbcs_payload).signing
        except DecodeError as exc:
            raise DuisError(RigCode.SCHEMA_VIOLATION, str(exc), "sr:GBCSPayload") from exc
        return GbcsCommand(signing.message_code, signing.payload, critical)
    target = request.request_id.target
    device = devices.get(target)
    if device is None:
        raise DuisError(ResponseCode.DEVICE_UNKNOWN, f"no device {target}", "sr:RequestID")
    name = use_case(request, device.type)
    builder = _BUILDERS.get(name)
    if builder is None:
        raise DuisError(RigCode.UNSUPPORTED_SRV, f"no GBCS payload for {name} in rig.gbcs yet")
    invoke = request.request_id.counter if counter is None else counter
    try:
        payload = usecases.encode_payload(
            builder(_Context(request, invoke, issuer_event_id)), invoke
        )
    except DuisError:
        raise
    except ValueError as exc:  # a value the GBCS field cannot carry
        raise DuisError(RigCode.SCHEMA_VIOLATION, f"{name}: {exc}", "sr:Body") from exc
    return GbcsCommand(usecases.MESSAGE_CODES[name], payload, critical)


def command_signing(
    request: rq.ServiceRequest,
    command: GbcsCommand,
    *,
    dcc: Eui64 = DEFAULT_ACB,
    dcc_counter: int | None = None,
) -> GeneralSigning:
    """The unsigned General-Signing APDU of ``command`` (§1.2), ready for the codec.

    The request's originator and counter head it, except for a :data:`DCC_ORIGINATED` use case:
    then ``dcc`` (the ACB) with ``dcc_counter`` (which :func:`to_gbcs` must also have been given)
    originates it, naming the User and its counter as supplementary remote party (RTDS CCS01).
    Seal it with ``RemotePartyCodec.seal_command``, or sign it first when ``command.critical``.
    """
    rid = request.request_id
    code, payload = command.message_code, command.payload
    if code not in DCC_ORIGINATED:
        return GeneralSigning(Cra.COMMAND, rid.counter, rid.originator, rid.target, code, payload)
    if dcc_counter is None:
        raise ValueError(f"message code {code:#06x} is DCC-originated: give dcc_counter")
    return GeneralSigning(
        Cra.COMMAND,
        dcc_counter,
        dcc,
        rid.target,
        code,
        payload,
        supplementary_remote_party_id=rid.originator,
        supplementary_remote_party_counter=rid.counter,
    )
