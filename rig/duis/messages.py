"""DUIS 5.4 XML in and out: requests, acknowledgements, responses and alerts (domain.md §7.1).

Parsing is safe for untrusted input (no DTDs, entities or network) and checks the document
against the DUIS 5.4 schema first, so a parse either returns a typed object or raises
:class:`~rig.duis.codes.DuisError` naming the code and, where known, the element. Building gives
the compact XML (no whitespace between elements), the form that is signed (:mod:`rig.duis.dsig`).

Not modelled (schema-valid, but refused with ``RIG-UNSUPPORTED-SRV`` or ignored): request bodies
of SRVs outside the rig's scope; the optional request header elements FirstInSequence and
PrecedingServiceRequestID (dropped); response bodies other than GBCSPayload, PreCommand and
DSPInventory (:mod:`rig.duis.nondevice`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from rig.duis import nondevice as nd
from rig.duis import request as rq
from rig.duis.codes import DuisError, RigCode
from rig.duis.xmltext import (
    _PARSER,
    GBCS_VERSION,
    SCHEMA_VERSION,
    SR,
    canonical,
    format_datetime,
    parse_datetime,
    parse_xml,
    serialize,
)
from rig.duis.xmltext import add as _add
from rig.duis.xmltext import b64 as _b64
from rig.duis.xmltext import b64decode as _b64decode
from rig.duis.xmltext import q as _q
from rig.duis.xmltext import required as _required
from rig.duis.xmltext import text as _text
from rig.duis.xsd import validate
from rig.gbcs.eui import Eui64


def _execution(body: etree._Element) -> datetime | None:
    text = _text(body, "ExecutionDateTime")
    return None if text is None else parse_datetime(text, "sr:ExecutionDateTime")


def _add_execution(element: etree._Element, moment: datetime | None) -> None:
    if moment is not None:
        _add(element, "ExecutionDateTime", format_datetime(moment))


# --- request bodies --------------------------------------------------------------------------


def _empty(
    cls: type,
) -> tuple[Callable[[etree._Element], Any], Callable[[Any, etree._Element], None]]:
    return (lambda _element: cls()), (lambda _body, _element: None)


def _future_datable(
    cls: type,
) -> tuple[Callable[[etree._Element], Any], Callable[[Any, etree._Element], None]]:
    return (lambda element: cls(_execution(element))), (
        lambda body, element: _add_execution(element, body.execution_date_time)
    )


def _parse_top_up(element: etree._Element) -> rq.TopUpDevice:
    return rq.TopUpDevice(_required(element, "UTRN"))


def _build_top_up(body: rq.TopUpDevice, element: etree._Element) -> None:
    _add(element, "UTRN", body.utrn)


def _parse_tariff(element: etree._Element) -> rq.UpdateImportTariff:
    rest = [child for child in element if child.tag != _q("ExecutionDateTime")]
    return rq.UpdateImportTariff(
        b"".join(canonical(child, exclusive=True) for child in rest),
        _execution(element),
    )


def tariff_elements(body: rq.UpdateImportTariff) -> list[etree._Element]:
    """The tariff body's elements after ExecutionDateTime, parsed."""
    return list(parse_xml(f'<w xmlns:sr="{SR}">'.encode() + body.elements + b"</w>"))


def _int(parent: etree._Element, name: str) -> int:
    text = _required(parent, name)
    try:
        return int(text)
    except ValueError as exc:
        raise DuisError(
            RigCode.SCHEMA_VIOLATION, f"{text!r} is not an integer", f"sr:{name}"
        ) from exc


def _indexed(parent: etree._Element, name: str) -> list[etree._Element]:
    """Children ``name`` in ascending ``index`` order (document order without an index)."""
    children = parent.findall(_q(name))
    return sorted(children, key=lambda c: int(c.get("index", "0")))


def _tariff_date(element: etree._Element) -> rq.TariffDate:
    """A Date / GasDateWithWildcards; LastDayOfMonth and the like are not modelled."""
    for unmodelled in ("LastDayOfMonth", "SecondLastDayOfMonth"):
        if element.find(f".//sr:{unmodelled}", {"sr": SR}) is not None:
            raise DuisError(RigCode.UNSUPPORTED_SRV, "no GBCS value in the reference", unmodelled)
    values = []
    for name in ("SpecifiedYear", "SpecifiedMonth", "SpecifiedDayOfMonth", "SpecifiedDayOfWeek"):
        found = element.find(f".//sr:{name}", {"sr": SR})
        values.append(None if found is None else int((found.text or "").strip()))
    return rq.TariffDate(*values)


def _tariff_action(element: etree._Element) -> rq.TariffAction:
    start = _text(element, "StartTime")
    moment = None if start is None else parse_datetime(f"2000-01-01T{start}", "sr:StartTime")
    tou = _text(element, "TOUTariffAction")
    block = _text(element, "BlockTariffAction")
    return rq.TariffAction(
        None if moment is None else moment.time(),
        None if tou is None else int(tou),
        None if block is None else int(block),
    )


def parse_tariff(body: rq.UpdateImportTariff) -> rq.Tariff:
    """The typed tariff of an SRV 1.1.1 body (its schema-valid elements)."""
    children = {child.tag: child for child in tariff_elements(body)}
    gas = _q("GasTariffElements") in children
    elements = children.get(_q("GasTariffElements" if gas else "ElecTariffElements"))
    prices = children.get(_q("PriceElements"))
    if elements is None or prices is None:
        raise DuisError(RigCode.SCHEMA_VIOLATION, "missing tariff elements", "sr:PriceElements")
    price = prices[0]
    table = elements.find(_q("SwitchingTable"))
    if table is None:
        raise DuisError(RigCode.SCHEMA_VIOLATION, "missing element", "sr:SwitchingTable")
    days = tuple(
        rq.TariffDayProfile(
            _int(day, "DayName"),
            tuple(_tariff_action(a) for a in day.findall(_q("ProfileSchedule")))
            or (_tariff_action(day),),
        )
        for day in table.iterfind("sr:DayProfiles/sr:DayProfile", {"sr": SR})
    )
    weeks = tuple(
        rq.TariffWeekProfile(
            _int(week, "WeekName"),
            tuple(int((d.text or "").strip()) for d in _indexed(week, "ReferencedDayName")),
        )
        for week in table.iterfind("sr:WeekProfiles/sr:WeekProfile", {"sr": SR})
    )
    seasons = tuple(
        rq.TariffSeason(
            _text(season, "SeasonName"),
            _tariff_date(season.find(_q("SeasonStartDate"))),
            _int(season, "ReferencedWeekName"),
        )
        for season in table.iterfind("sr:Seasons/sr:Season", {"sr": SR})
    )
    special = tuple(
        rq.TariffSpecialDay(
            _tariff_date(day.find(_q("Date"))),
            _int(day, "ReferencedDayName"),
        )
        for day in elements.iterfind("sr:SpecialDays/sr:SpecialDay", {"sr": SR})
    )
    matrix = elements.find(_q("ThresholdMatrix"))
    rows = [] if matrix is None else ([matrix] if gas else _indexed(matrix, "Thresholds"))
    thresholds = tuple(
        tuple(int((t.text or "").strip()) for t in _indexed(row, "BlockThreshold")) for row in rows
    )
    tariff = next(
        (
            price.find(_q(n))
            for n in ("TOUTariff", "BlockTariff", "HybridTariff")
            if price.find(_q(n)) is not None
        ),
        None,
    )
    if tariff is None:
        raise DuisError(
            RigCode.SCHEMA_VIOLATION, "no TOU, block or hybrid tariff", "sr:PriceElements"
        )
    tou = tuple(int((p.text or "").strip()) for p in _indexed(tariff, "TOUPrice"))
    block_rows = [tariff] if gas else _indexed(tariff, "BlockPrices")
    blocks = tuple(
        tuple(int((p.text or "").strip()) for p in _indexed(row, "BlockPrice"))
        for row in block_rows
    )
    scale = _text(price, "StandingChargeScale")
    price_scale = _text(price, "PriceScale")
    return rq.Tariff(
        gas,
        days,
        weeks,
        seasons,
        special,
        thresholds,
        _int(price, "StandingCharge"),
        tou,
        tuple(row for row in blocks if row),
        None if scale is None else int(scale),
        None if price_scale is None else int(price_scale),
        _text(price, "CurrencyUnits") or _text(elements, "CurrencyUnits") or "GBP",
    )


def _build_tariff(body: rq.UpdateImportTariff, element: etree._Element) -> None:
    _add_execution(element, body.execution_date_time)
    element.extend(tariff_elements(body))


def _parse_gas_flow(element: etree._Element) -> rq.UpdateDeviceConfigurationGasFlow:
    rate = _text(element, "UncontrolledGasFlowRate")
    rate_decimal = _text(element, "UncontrolledGasFlowRateDecimal")
    return rq.UpdateDeviceConfigurationGasFlow(
        depletion_state=rq.SupplyStateChange(_required(element, "SupplyDepletionState")),
        tamper_state=rq.SupplyStateChange(_required(element, "SupplyTamperState")),
        stabilisation_period=int(_required(element, "StabilisationPeriod")),
        measurement_period=int(_required(element, "MeasurementPeriod")),
        rate=None if rate is None else int(rate),
        rate_decimal=None if rate_decimal is None else Decimal(rate_decimal),
    )


def _build_gas_flow(body: rq.UpdateDeviceConfigurationGasFlow, element: etree._Element) -> None:
    if body.rate is not None:
        _add(element, "UncontrolledGasFlowRate", str(body.rate))
    else:
        _add(element, "UncontrolledGasFlowRateDecimal", format(body.rate_decimal, "f"))
    _add(element, "SupplyDepletionState", body.depletion_state.value)
    _add(element, "SupplyTamperState", body.tamper_state.value)
    _add(element, "StabilisationPeriod", str(body.stabilisation_period))
    _add(element, "MeasurementPeriod", str(body.measurement_period))


_WHITELIST_OPTIONAL = (
    ("ImportMPxN", "import_mpxn"),
    ("SecondaryImportMPAN", "secondary_import_mpan"),
    ("ExportMPAN", "export_mpan"),
)


def _parse_han_log(element: etree._Element) -> rq.UpdateHanDeviceLog:
    add = element.find(_q("AddDeviceToCHFWhitelist"))
    whitelist = None
    if add is not None:
        whitelist = rq.AddDeviceToChfWhitelist(
            int(_required(add, "JoinTimePeriod")),
            bytes.fromhex(_required(add, "InstallCode")),
            **{field: _text(add, name) for name, field in _WHITELIST_OPTIONAL},
        )
    return rq.UpdateHanDeviceLog(
        Eui64.parse(_required(element, "DeviceID")),
        rq.HanLogRequestType(_required(element, "RequestType")),
        whitelist,
        _execution(element),
    )


def _build_han_log(body: rq.UpdateHanDeviceLog, element: etree._Element) -> None:
    _add_execution(element, body.execution_date_time)
    _add(element, "DeviceID", str(body.device_id))
    _add(element, "RequestType", body.request_type.value)
    if body.add is not None:
        add = _add(element, "AddDeviceToCHFWhitelist")
        _add(add, "JoinTimePeriod", str(body.add.join_time_period))
        _add(add, "InstallCode", body.add.install_code.hex().upper())
        for name, field in _WHITELIST_OPTIONAL:
            value = getattr(body.add, field)
            if value is not None:
                _add(add, name, value)


def _build_signed_pre_command(body: rq.SignedPreCommand, element: etree._Element) -> None:
    _add_execution(element, body.execution_date_time)
    _add(element, "GBCSPayload", _b64(body.gbcs_payload))


@dataclass(frozen=True)
class _BodyCodec:
    element: str
    parse: Callable[[etree._Element], Any]
    build: Callable[[Any, etree._Element], None]


_CODECS: dict[type, _BodyCodec] = {
    rq.TopUpDevice: _BodyCodec("TopUpDevice", _parse_top_up, _build_top_up),
    rq.ReadSupplyStatus: _BodyCodec("ReadSupplyStatus", *_empty(rq.ReadSupplyStatus)),
    rq.EnableSupply: _BodyCodec("EnableSupply", *_empty(rq.EnableSupply)),
    rq.DisableSupply: _BodyCodec("DisableSupply", *_empty(rq.DisableSupply)),
    rq.ArmSupply: _BodyCodec("ArmSupply", *_empty(rq.ArmSupply)),
    rq.ReadInstantaneousImportRegisters: _BodyCodec(
        "ReadInstantaneousImportRegisters",
        *_future_datable(rq.ReadInstantaneousImportRegisters),
    ),
    rq.ReadInstantaneousPrepayValues: _BodyCodec(
        "ReadInstantaneousPrepayValues", *_future_datable(rq.ReadInstantaneousPrepayValues)
    ),
    rq.ReadMeterBalance: _BodyCodec("ReadMeterBalance", *_future_datable(rq.ReadMeterBalance)),
    rq.UpdateImportTariff: _BodyCodec(
        "UpdateImportTariffPrimaryElement", _parse_tariff, _build_tariff
    ),
    rq.UpdateDeviceConfigurationGasFlow: _BodyCodec(
        "UpdateDeviceConfigurationGasFlow", _parse_gas_flow, _build_gas_flow
    ),
    rq.UpdateHanDeviceLog: _BodyCodec("UpdateHANDeviceLog", _parse_han_log, _build_han_log),
    nd.ReadInventory: _BodyCodec("ReadInventory", nd.parse_read_inventory, nd.build_read_inventory),
    nd.DevicePrenotification: _BodyCodec(
        "DevicePrenotification", nd.parse_prenotification, nd.build_prenotification
    ),
}
_BY_ELEMENT = {codec.element: codec for codec in _CODECS.values()}


# --- requests --------------------------------------------------------------------------------


def _request_id(header: etree._Element, name: str) -> rq.RequestId:
    """RequestID / ResponseID; the schema allows counter 0, DUGIS Annex 17 does not."""
    try:
        return rq.RequestId.parse(_required(header, name))
    except ValueError as exc:
        raise DuisError(RigCode.SCHEMA_VIOLATION, str(exc), f"sr:{name}") from exc


def parse_request(data: bytes | etree._Element) -> rq.ServiceRequest:
    """A typed request from DUIS XML, checked against the schema and the header's SRV."""
    root = parse_xml(data) if isinstance(data, bytes) else data
    validate(root)
    if root.tag != _q("Request"):
        raise DuisError(RigCode.SCHEMA_VIOLATION, "not a DUIS request", etree.QName(root).text)
    header = root.find(_q("Header"))
    body_element = root.find(_q("Body"))
    assert header is not None and body_element is not None  # the schema requires both
    request_id = _request_id(header, "RequestID")
    variant = rq.CommandVariant(int(_required(header, "CommandVariant")))
    reference = _required(header, "ServiceReference")
    srv = _required(header, "ServiceReferenceVariant")
    if rq.service_reference(srv) != reference:
        raise DuisError(
            RigCode.HEADER_MISMATCH,
            f"ServiceReference {reference} does not match ServiceReferenceVariant {srv}",
            "sr:ServiceReference",
        )
    element = body_element[0]
    name = etree.QName(element).localname
    if name == "SignedPreCommand":
        body: rq.Body = rq.SignedPreCommand(
            srv,
            _b64decode(_required(element, "GBCSPayload"), "sr:GBCSPayload"),
            _execution(element),
        )
    elif name in _BY_ELEMENT:
        body = _BY_ELEMENT[name].parse(element)
        if body.srv != srv:
            raise DuisError(
                RigCode.HEADER_MISMATCH, f"body is SRV {body.srv}, header says {srv}", f"sr:{name}"
            )
    else:
        raise DuisError(RigCode.UNSUPPORTED_SRV, f"SRV {srv} is not modelled", f"sr:{name}")
    return rq.ServiceRequest(request_id, body, variant)


def build_request(request: rq.ServiceRequest) -> bytes:
    """Compact, unsigned DUIS XML of ``request``."""
    root = etree.Element(_q("Request"), nsmap={"sr": SR}, schemaVersion=SCHEMA_VERSION)
    header = _add(root, "Header")
    _add(header, "RequestID", str(request.request_id))
    _add(header, "CommandVariant", str(int(request.command_variant)))
    _add(header, "ServiceReference", request.service_reference)
    _add(header, "ServiceReferenceVariant", request.srv)
    body = request.body
    if isinstance(body, rq.SignedPreCommand):
        _build_signed_pre_command(body, _add(_add(root, "Body"), "SignedPreCommand"))
    else:
        codec = _CODECS[type(body)]
        codec.build(body, _add(_add(root, "Body"), codec.element))
    return serialize(root)


# --- responses and alerts --------------------------------------------------------------------


@dataclass(frozen=True)
class PreCommand:
    """CV 4 result: the GBCS pre-command for the User to sign (domain.md §7.1)."""

    gbcs_payload: bytes
    gbcs_version: str = GBCS_VERSION


#: What a ResponseMessage may carry besides its SRV (the ones the rig models).
Content = bytes | PreCommand | nd.DspInventory | None


@dataclass(frozen=True)
class ResponseMessage:
    """A response to a request: its SRV and at most one of GBCS payload, pre-command or (a
    Non-Device request's) DSP inventory."""

    srv: str
    content: Content = None


@dataclass(frozen=True)
class DeviceAlert:
    """DeviceAlertMessage: a device's GBCS alert passed on by the DSP (domain.md §3)."""

    alert_code: int
    gbcs_payload: bytes
    throttled_sequence_id: int | None = None
    throttled_count: int | None = None


@dataclass(frozen=True)
class AlcsHcalcsConfigurationChange:
    """N58 event; ESMEVariant and DeviceGBCSVersion are optional since DUIS 4.0 (seed 002)."""

    esme: Eui64
    esme_variant: str | None = None
    device_gbcs_version: str | None = None


@dataclass(frozen=True)
class OtherDccAlert:
    """Any other DCCAlert event, kept as its compact XML (element name and content)."""

    xml: bytes


@dataclass(frozen=True)
class DccAlert:
    """DCCAlertMessage: a DSP-generated alert (code such as ``N58``) and its event."""

    code: str
    event: AlcsHcalcsConfigurationChange | OtherDccAlert
    throttled_sequence_id: int | None = None
    throttled_count: int | None = None


ResponseBody = ResponseMessage | DeviceAlert | DccAlert


@dataclass(frozen=True)
class Response:
    """A DUIS Response: acknowledgement (I99), result (I0 or an error code) or alert.

    ``code`` is the DUIS ResponseCode text, any value of the schema's enumeration.
    """

    code: str
    date_time: datetime
    body: ResponseBody
    request_id: rq.RequestId | None = None
    response_id: rq.RequestId | None = None


def acknowledgement(request: rq.ServiceRequest, at: datetime) -> Response:
    """The synchronous I99 for an accepted device request (domain.md §6)."""
    return response_to(request, "I99", at)


def response_to(
    request: rq.ServiceRequest, code: str, at: datetime, content: Content = None
) -> Response:
    """A response to ``request`` with ``code`` (I0, I99 or a DUIS error) and optional content."""
    return Response(code, at, ResponseMessage(request.srv, content), request.request_id)


def _throttle(parent: etree._Element) -> dict[str, int | None]:
    sequence = _text(parent, "ThrottledAlertSequenceId")
    count = _text(parent, "ThrottledAlertCount")
    return {
        "throttled_sequence_id": None if sequence is None else int(sequence),
        "throttled_count": None if count is None else int(count),
    }


def _add_throttle(element: etree._Element, alert: DeviceAlert | DccAlert) -> None:
    if alert.throttled_sequence_id is not None:
        _add(element, "ThrottledAlertSequenceId", str(alert.throttled_sequence_id))
    if alert.throttled_count is not None:
        _add(element, "ThrottledAlertCount", str(alert.throttled_count))


def _parse_response_message(element: etree._Element) -> ResponseMessage:
    payload = _text(element, "GBCSPayload")
    pre = element.find(_q("PreCommand"))
    inventory = element.find(_q("DSPInventory"))
    content: Content = None
    if inventory is not None:
        content = nd.parse_inventory(inventory)
    elif payload is not None:
        content = _b64decode(payload, "sr:GBCSPayload")
    elif pre is not None:
        content = PreCommand(
            _b64decode(_required(pre, "GBCSPayload"), "sr:GBCSPayload"),
            _required(pre, "GBCSVersion"),
        )
    return ResponseMessage(_required(element, "ServiceReferenceVariant"), content)


def _parse_dcc_alert(element: etree._Element) -> DccAlert:
    event_parent = element.find(_q("DCCAlert"))
    assert event_parent is not None  # required by the schema
    event_element = event_parent[0]
    event: AlcsHcalcsConfigurationChange | OtherDccAlert
    if event_element.tag == _q("ALCSHCALCSConfigurationChange"):
        event = AlcsHcalcsConfigurationChange(
            Eui64.parse(_required(event_element, "ESMEDeviceID")),
            _text(event_element, "ESMEVariant"),
            _text(event_element, "DeviceGBCSVersion"),
        )
    else:
        event = OtherDccAlert(etree.tostring(event_element))
    return DccAlert(_required(element, "DCCAlertCode"), event, **_throttle(element))


def parse_response(data: bytes | etree._Element) -> Response:
    """A typed Response (acknowledgement, response or alert) from DUIS XML."""
    root = parse_xml(data) if isinstance(data, bytes) else data
    validate(root)
    if root.tag != _q("Response"):
        raise DuisError(RigCode.SCHEMA_VIOLATION, "not a DUIS response", etree.QName(root).text)
    header = root.find(_q("Header"))
    body_parent = root.find(_q("Body"))
    assert header is not None and body_parent is not None  # required by the schema
    element = body_parent[0]
    body: ResponseBody
    if element.tag == _q("ResponseMessage"):
        body = _parse_response_message(element)
    elif element.tag == _q("DeviceAlertMessage"):
        body = DeviceAlert(
            int(_required(element, "AlertCode"), 16),
            _b64decode(_required(element, "GBCSPayload"), "sr:GBCSPayload"),
            **_throttle(element),
        )
    elif element.tag == _q("DCCAlertMessage"):
        body = _parse_dcc_alert(element)
    else:
        raise DuisError(RigCode.UNSUPPORTED_SRV, "response body not modelled", element.tag)
    return Response(
        _required(header, "ResponseCode"),
        parse_datetime(_required(header, "ResponseDateTime"), "sr:ResponseDateTime"),
        body,
        _request_id(header, "RequestID") if _text(header, "RequestID") else None,
        _request_id(header, "ResponseID") if _text(header, "ResponseID") else None,
    )


def _build_body(parent: etree._Element, body: ResponseBody) -> None:
    if isinstance(body, ResponseMessage):
        element = _add(parent, "ResponseMessage")
        _add(element, "ServiceReference", rq.service_reference(body.srv))
        _add(element, "ServiceReferenceVariant", body.srv)
        if isinstance(body.content, bytes):
            _add(element, "GBCSPayload", _b64(body.content))
        elif isinstance(body.content, PreCommand):
            pre = _add(element, "PreCommand")
            _add(pre, "GBCSVersion", body.content.gbcs_version)
            _add(pre, "GBCSPayload", _b64(body.content.gbcs_payload))
        elif isinstance(body.content, nd.DspInventory):
            nd.build_inventory(body.content, element)
    elif isinstance(body, DeviceAlert):
        element = _add(parent, "DeviceAlertMessage")
        _add(element, "AlertCode", f"{body.alert_code:04X}")
        _add_throttle(element, body)
        _add(element, "GBCSPayload", _b64(body.gbcs_payload))
    else:
        element = _add(parent, "DCCAlertMessage")
        _add(element, "DCCAlertCode", body.code)
        _add_throttle(element, body)
        holder = _add(element, "DCCAlert")
        event = body.event
        if isinstance(event, AlcsHcalcsConfigurationChange):
            change = _add(holder, "ALCSHCALCSConfigurationChange")
            _add(change, "ESMEDeviceID", str(event.esme))
            if event.esme_variant is not None:
                _add(change, "ESMEVariant", event.esme_variant)
            if event.device_gbcs_version is not None:
                _add(change, "DeviceGBCSVersion", event.device_gbcs_version)
        else:
            holder.append(etree.fromstring(event.xml, _PARSER))


def build_response(response: Response) -> bytes:
    """Compact, unsigned DUIS XML of ``response``."""
    root = etree.Element(_q("Response"), nsmap={"sr": SR}, schemaVersion=SCHEMA_VERSION)
    header = _add(root, "Header")
    if response.request_id is not None:
        _add(header, "RequestID", str(response.request_id))
    if response.response_id is not None:
        _add(header, "ResponseID", str(response.response_id))
    _add(header, "ResponseCode", response.code)
    _add(header, "ResponseDateTime", format_datetime(response.date_time))
    _build_body(_add(root, "Body"), response.body)
    return serialize(root)
