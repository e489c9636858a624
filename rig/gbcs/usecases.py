"""Typed GBCS use-case payloads, pure payload <-> object functions (reference/gbcs.md §1.6-1.7).

Every payload class has ``encode(invoke_counter) -> bytes``; the counter's low 24 bits become the
DLMS invoke-id (§1.2), and a response uses its command's counter. :func:`decode_payload` maps a
message code, payload and CRA to the typed object, or :class:`RawPayload` for anything not yet
modelled. A modelled use case whose payload has the wrong shape raises
:class:`~rig.gbcs.errors.DecodeError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import ClassVar, Protocol

from rig.gbcs.asn1 import ASN1_USE_CASES
from rig.gbcs.codes import CODE_BY_NAME, MESSAGE_CODE_TABLE
from rig.gbcs.cosem.payload import DLMS_TAGS, DLMS_USE_CASES, dlms_decoder
from rig.gbcs.dlms import (
    INVOKE_ID_FLAGS,
    AccessKind,
    AccessRequest,
    AccessResponse,
    AccessResult,
    AccessSpec,
    Apdu,
    Data,
    DataNotification,
    Tag,
    decode_apdu,
    invoke_id,
    with_invoke_id,
)
from rig.gbcs.dlms_usecases import (
    AccessResults,
    AddHanDevice,
    GetAttribute,
    MeterBalanceResponse,
    ProtectedReadResponse,
    ProtectionParameters,
    ReadImportRegistersEsme,
    ReadMeterBalanceEsme,
    ReadPrepaymentRegistersEsme,
    RemoveHanDevice,
)
from rig.gbcs.errors import DecodeError
from rig.gbcs.esme_tariff import UpdateTariffEsme
from rig.gbcs.frame import Cra
from rig.gbcs.gbz_message import GBZ_USE_CASES, GbzAlert
from rig.gbcs.gbz_usecases import (
    ChangeSupplyGsme,
    GasSupplyState,
    GbzResponse,
    ReadGsmeBalance,
    ReadGsmeConsumption,
    ReadGsmePrepaymentRegisters,
    ReadSupplyStatusGsme,
    SetUncontrolledGasFlow,
    SupplyStatusResponse,
    TopUpGsme,
    TopUpGsmeResponse,
)
from rig.gbcs.gsme_tariff import UpdateTariffGsme
from rig.gbcs.wire import require_canonical
from rig.util.memo import remember

GENERIC_CRITICAL_ALERT = 0x1000
GENERIC_NON_CRITICAL_ALERT = 0x1001


#: Use-case id -> message code, and back; the whole table with message types is rig.gbcs.codes.
MESSAGE_CODES: dict[str, int] = CODE_BY_NAME
MESSAGE_NAMES: dict[int, str] = {code: row.name for code, row in MESSAGE_CODE_TABLE.items()}

#: Alert codes (§1.6). 8F0A, 8F35 and 8F66 are described from their RTDS context, not quoted.
ALERT_CODES: dict[int, str] = {
    0x810E: "Credit Added Locally",
    0x81C4: "UTRN lock-out (81C4)",
    0x81C5: "UTRN lock-out (81C5)",
    0x8F0A: "Billing data log updated (ECS68)",
    0x8F30: "Source Does not have Authority for Command",
    0x8F35: "Supply Outage Restored",
    0x8F36: "Supply Outage Restored - Outage >= 3 minutes",
    0x8F51: "Duplicate UTRN entered",
    0x8F5B: "UTRN exceeds Maximum Credit Threshold",
    0x8F63: "UTRN not Authentic",
    0x8F64: "UTRN not for this Device",
    0x8F66: "Future-dated instruction executed",
}

#: Token Gateway (class 115) 0-0:19.40.0.255, method 1 "enter" (§1.6).
TOKEN_GATEWAY_ENTER = AccessSpec(AccessKind.ACTION, 115, bytes.fromhex("0000132800FF"), 1)
#: Disconnect control (class 70) 0-0:96.3.10.255, attribute 3 control_state (§1.6).
DISCONNECT_CONTROL_STATE = AccessSpec(AccessKind.GET, 70, bytes.fromhex("000060030AFF"), 3)
#: Script table (class 9) 0-0:10.0.106.255, method 1 execute (§1.6).
SCRIPT_TABLE_EXECUTE = AccessSpec(AccessKind.ACTION, 9, bytes.fromhex("00000A006AFF"), 1)
_UTRN_LENGTH = 20


class SupplyState(IntEnum):
    """DLMS disconnect-control ``control_state``."""

    DISCONNECTED = 0
    CONNECTED = 1
    ARMED = 2  # "ready_for_reconnection"


#: SupplyState members by value (a dict lookup, cheaper than calling the enum).
_SUPPLY_STATES: dict[int, SupplyState] = {s.value: s for s in SupplyState}
#: ECS42/43/44: (message code, script id) per target state (§1.6).
_SUPPLY_SCRIPTS = {
    SupplyState.CONNECTED: (0x004F, 51),
    SupplyState.DISCONNECTED: (0x0050, 52),
    SupplyState.ARMED: (0x0051, 54),
}


class Payload(Protocol):
    """What :func:`encode_payload` accepts."""

    def encode(self, invoke_counter: int) -> bytes: ...


def _plain(apdu: Apdu, what: str) -> None:
    """The invoke-id flags and date-time these classes encode (0x20, none): else the object
    would not re-encode to the payload."""
    if apdu.invoke_id >> 24 != INVOKE_ID_FLAGS or apdu.date_time:
        raise DecodeError(1, f"{what}: invoke-id flags not 0x20 or a date-time present")


def _request(payload: bytes, spec: AccessSpec, what: str) -> Data:
    """The single data item of an ACCESS-Request for exactly ``spec``."""
    apdu = decode_apdu(payload)
    if not isinstance(apdu, AccessRequest) or apdu.specs != (spec,) or len(apdu.data) != 1:
        raise DecodeError(0, f"{what}: expected an ACCESS-Request for {spec}")
    _plain(apdu, what)
    return apdu.data[0]


def _response(payload: bytes, kind: AccessKind, what: str) -> tuple[Data, int]:
    """The single data item and result of an ACCESS-Response."""
    apdu = decode_apdu(payload)
    if (
        not isinstance(apdu, AccessResponse)
        or len(apdu.data) != 1
        or len(apdu.results) != 1
        or apdu.results[0].kind is not kind
    ):
        raise DecodeError(0, f"{what}: expected an ACCESS-Response with one {kind.name} result")
    _plain(apdu, what)
    return apdu.data[0], apdu.results[0].result


#: ACCESS-Responses of one plain item and result, with invoke-id 0, by (data tag, data value,
#: kind, result): plain values, hashed and compared in C.
_RESPONSES: dict[tuple[int, object, int, int], bytes] = {}
#: [ASSUMED] bound: a few states times a few results.
_RESPONSES_SIZE = 64


def _respond(counter: int, data: Data, kind: AccessKind, result: int) -> bytes:
    """An ACCESS-Response, encoded once per (data, kind, result) when equal values surely
    encode alike (ints and null, not bools or floats that compare equal to ints)."""
    plain = type(result) is int and (data.value is None or type(data.value) is int)
    key = (data.tag, data.value, kind, result)
    apdu = _RESPONSES.get(key) if plain else None
    if apdu is not None:
        return with_invoke_id(apdu, counter)
    apdu = AccessResponse(invoke_id(0), (data,), (AccessResult(kind, result),)).encode()
    if plain and len(_RESPONSES) < _RESPONSES_SIZE:
        _RESPONSES[key] = apdu
    return with_invoke_id(apdu, counter)


@dataclass(frozen=True)
class TopUpEsme:
    """CS01a Top Up ESME: the 20-digit UTRN entered into the token gateway."""

    MESSAGE_CODE: ClassVar[int] = 0x0007
    utrn: str

    def encode(self, invoke_counter: int) -> bytes:
        """ACCESS-Request ACTION token gateway ``enter`` with the UTRN as ASCII."""
        data = (Data.octet_string(self.utrn.encode("ascii")),)
        return AccessRequest(invoke_id(invoke_counter), (TOKEN_GATEWAY_ENTER,), data).encode()

    @classmethod
    def decode(cls, payload: bytes) -> TopUpEsme:
        """Inverse of :meth:`encode`; the UTRN itself is checked by ``rig.gbcs.utrn``."""
        data = _request(payload, TOKEN_GATEWAY_ENTER, "CS01a")
        if data.tag is not Tag.OCTET_STRING or not isinstance(data.value, bytes):
            raise DecodeError(0, "CS01a: the UTRN is not an octet-string")
        if not data.value.isascii():
            raise DecodeError(0, "CS01a: the UTRN is not ASCII")
        return cls(data.value.decode("ascii"))


@dataclass(frozen=True)
class ActionResponse:
    """Response to a DLMS ACTION use case: the action-result (0 success, §1.6)."""

    result: int = 0

    def encode(self, invoke_counter: int) -> bytes:
        """ACCESS-Response: null data, one ACTION result."""
        return _respond(invoke_counter, Data.null(), AccessKind.ACTION, self.result)

    @classmethod
    def decode(cls, payload: bytes) -> ActionResponse:
        """Inverse of :meth:`encode`."""
        data, result = _response(payload, AccessKind.ACTION, cls.__name__)
        if data.tag is not Tag.NULL:
            raise DecodeError(0, f"{cls.__name__}: expected null data, got {data.tag.name}")
        return cls(result)


@dataclass(frozen=True)
class TopUpEsmeResponse(ActionResponse):
    """CS01a response (RTDS: result 00 success, 01 on error)."""


@dataclass(frozen=True)
class ChangeSupplyEsme:
    """ECS42 / ECS43 / ECS44 enable / disable / arm supply: execute script 51 / 52 / 54."""

    target: SupplyState

    @property
    def message_code(self) -> int:
        """0x004F, 0x0050 or 0x0051, by target state."""
        return _SUPPLY_SCRIPTS[self.target][0]

    def encode(self, invoke_counter: int) -> bytes:
        """ACCESS-Request ACTION script table ``execute`` with the script id."""
        data = (Data.long_unsigned(_SUPPLY_SCRIPTS[self.target][1]),)
        return AccessRequest(invoke_id(invoke_counter), (SCRIPT_TABLE_EXECUTE,), data).encode()

    @classmethod
    def decoder(cls, target: SupplyState) -> Callable[[bytes], ChangeSupplyEsme]:
        """A decoder for the message code of ``target``, checking its script id."""

        def decode(payload: bytes) -> ChangeSupplyEsme:
            data = _request(payload, SCRIPT_TABLE_EXECUTE, "supply control")
            script = _SUPPLY_SCRIPTS[target][1]
            if data != Data.long_unsigned(script):
                raise DecodeError(0, f"supply control: expected script {script}, got {data}")
            return cls(target)

        return decode


@dataclass(frozen=True)
class ChangeSupplyEsmeResponse(ActionResponse):
    """ECS42 / ECS43 / ECS44 response."""


@dataclass(frozen=True)
class ReadSupplyStatusEsme(GetAttribute):
    """ECS45 Read Supply Status: GET disconnect-control control_state."""

    MESSAGE_CODE: ClassVar[int] = 0x0052
    SPEC: ClassVar[AccessSpec] = DISCONNECT_CONTROL_STATE


@dataclass(frozen=True)
class ReadSupplyStatusEsmeResponse:
    """ECS45 response: the control_state enum (RTDS ``16 01``), or None with a failed result."""

    control_state: int | None = None
    result: int = 0

    def encode(self, invoke_counter: int) -> bytes:
        """ACCESS-Response: enum or null data, one GET result."""
        state = self.control_state
        data = Data.null() if state is None else Data.enum(int(state))
        return _respond(invoke_counter, data, AccessKind.GET, self.result)

    @classmethod
    def decode(cls, payload: bytes) -> ReadSupplyStatusEsmeResponse:
        """Inverse of :meth:`encode`; a known state decodes to :class:`SupplyState`."""
        data, result = _response(payload, AccessKind.GET, "ECS45 response")
        if data.tag is Tag.NULL:
            return cls(None, result)
        if data.tag is not Tag.ENUM or not isinstance(data.value, int):
            raise DecodeError(0, f"ECS45 response: control_state is {data.tag.name}, not ENUM")
        state = data.value
        return cls(_SUPPLY_STATES.get(state, state), result)


@dataclass(frozen=True)
class DlmsAlert:
    """A DLMS alert: Data-Notification of ``{alert code, date-time, extra...}`` (§1.6, §1.10.8)."""

    alert_code: int
    date_time: bytes
    extra: tuple[Data, ...] = ()

    def encode(self, invoke_counter: int) -> bytes:
        """``0F`` invoke-id ``00`` structure(long-unsigned code, octet-string date-time, ...)."""
        body = Data.structure(
            Data.long_unsigned(self.alert_code), Data.octet_string(self.date_time), *self.extra
        )
        return DataNotification(invoke_id(invoke_counter), body).encode()

    @classmethod
    def decode(cls, payload: bytes) -> DlmsAlert:
        """Inverse of :meth:`encode`."""
        apdu = decode_apdu(payload)
        body = apdu.body if isinstance(apdu, DataNotification) else None
        items = None if body is None else body.value
        if (
            body is None
            or not isinstance(items, tuple)
            or body.tag is not Tag.STRUCTURE
            or len(items) < 2
            or items[0].tag is not Tag.LONG_UNSIGNED
            or items[1].tag is not Tag.OCTET_STRING
            or not isinstance(items[0].value, int)
            or not isinstance(items[1].value, bytes)
        ):
            raise DecodeError(0, "DLMS alert: expected a Data-Notification {code, date-time, ...}")
        alert = cls(items[0].value, items[1].value, items[2:])
        require_canonical("DLMS alert", payload, lambda: alert.encode(apdu.invoke_id))
        return alert


@dataclass(frozen=True)
class SupplyRestoredAlert(DlmsAlert):
    """ECS80 (0x0067): supply outage restored (8F35 / 8F36) with the outage's start and end
    COSEM date-times after the alert's own (RTDS)."""

    @classmethod
    def build(
        cls, alert_code: int, date_time: bytes, outage_start: bytes, outage_end: bytes
    ) -> SupplyRestoredAlert:
        """The alert with its two outage date-times."""
        extra = (Data.octet_string(outage_start), Data.octet_string(outage_end))
        return cls(alert_code, date_time, extra)

    @property
    def outage_start(self) -> bytes:
        """COSEM date-time the outage began."""
        return self.extra[0].value  # type: ignore[return-value]

    @property
    def outage_end(self) -> bytes:
        """COSEM date-time supply was restored."""
        return self.extra[1].value  # type: ignore[return-value]

    @classmethod
    def decode(cls, payload: bytes) -> DlmsAlert:
        """A DLMS alert whose extra items are two 12-byte octet-strings."""
        alert = DlmsAlert.decode(payload)
        if len(alert.extra) != 2 or any(
            e.tag is not Tag.OCTET_STRING or not isinstance(e.value, bytes) or len(e.value) != 12
            for e in alert.extra
        ):
            raise DecodeError(0, "ECS80: expected outage start and end date-times")
        return cls(alert.alert_code, alert.date_time, alert.extra)


@dataclass(frozen=True)
class BillingDataLogAlert(DlmsAlert):
    """ECS68 (0x0061): critical sensitive alert; the billing data log travels as an encrypted
    part after its protection parameters (§1.4)."""

    @classmethod
    def build(
        cls, alert_code: int, date_time: bytes, protection: ProtectionParameters, encrypted: bytes
    ) -> BillingDataLogAlert:
        """The alert with its protection parameters and ``31 00000000 …`` block."""
        return cls(alert_code, date_time, (protection.to_data(), Data.octet_string(encrypted)))

    @property
    def protection(self) -> ProtectionParameters:
        """Counter and titles of the encrypted part."""
        return ProtectionParameters.from_data(self.extra[0])

    @property
    def encrypted(self) -> bytes:
        """The encrypted block (decrypt with ``RemotePartyCodec.decrypt_part``)."""
        return self.extra[1].value  # type: ignore[return-value]

    @classmethod
    def decode(cls, payload: bytes) -> DlmsAlert:
        """A DLMS alert with protection parameters and an octet-string."""
        alert = DlmsAlert.decode(payload)
        if len(alert.extra) != 2 or alert.extra[1].tag is not Tag.OCTET_STRING:
            raise DecodeError(0, "ECS68: expected protection parameters and an encrypted part")
        ProtectionParameters.from_data(alert.extra[0])
        return cls(alert.alert_code, alert.date_time, alert.extra)


@dataclass(frozen=True)
class RawPayload:
    """A payload of a use case not modelled yet."""

    message_code: int
    payload: bytes

    def encode(self, invoke_counter: int) -> bytes:
        """The payload unchanged."""
        return self.payload


def _alert(payload: bytes) -> DlmsAlert | GbzAlert:
    return GbzAlert.decode(payload) if payload[:1] == b"\x01" else DlmsAlert.decode(payload)


def _change_supply_gsme_response(payload: bytes) -> SupplyStatusResponse | GbzResponse:
    """Supply Status Response on success, else the Default Response as a :class:`GbzResponse`."""
    response = GbzResponse.decode(payload)
    (component,) = response.gbz.components[:1]
    if component.frame.cluster_specific and len(response.gbz.components) == 1:
        return SupplyStatusResponse.decode(payload)
    return response


_GBZ_READS = (
    ReadSupplyStatusGsme,
    ReadGsmeConsumption,
    ReadGsmePrepaymentRegisters,
    ReadGsmeBalance,
)
#: Decoders of the use cases whose payload is a DLMS APDU: its invoke-id (bytes 1-4) only
#: names the transaction, so the typed object never depends on it (see :func:`decode_payload`).
_DLMS_DECODERS: dict[tuple[int, Cra], Callable[[bytes], Payload]] = {
    **DLMS_USE_CASES,
    (TopUpEsme.MESSAGE_CODE, Cra.COMMAND): TopUpEsme.decode,
    (TopUpEsme.MESSAGE_CODE, Cra.RESPONSE): TopUpEsmeResponse.decode,
    (ReadSupplyStatusEsme.MESSAGE_CODE, Cra.COMMAND): ReadSupplyStatusEsme.decode,
    (ReadSupplyStatusEsme.MESSAGE_CODE, Cra.RESPONSE): ReadSupplyStatusEsmeResponse.decode,
    **{
        (code, Cra.COMMAND): ChangeSupplyEsme.decoder(s) for s, (code, _) in _SUPPLY_SCRIPTS.items()
    },
    **{
        (code, Cra.RESPONSE): ChangeSupplyEsmeResponse.decode
        for code, _ in _SUPPLY_SCRIPTS.values()
    },
    **{
        (read.MESSAGE_CODE, Cra.COMMAND): read.decode
        for read in (ReadImportRegistersEsme, ReadPrepaymentRegistersEsme)
    },
    **{
        (read.MESSAGE_CODE, Cra.RESPONSE): ProtectedReadResponse.decode
        for read in (ReadImportRegistersEsme, ReadPrepaymentRegistersEsme)
    },
    (ReadMeterBalanceEsme.MESSAGE_CODE, Cra.COMMAND): ReadMeterBalanceEsme.decode,
    (ReadMeterBalanceEsme.MESSAGE_CODE, Cra.RESPONSE): MeterBalanceResponse.decode,
    (UpdateTariffEsme.MESSAGE_CODE, Cra.COMMAND): UpdateTariffEsme.decode,
    (UpdateTariffEsme.MESSAGE_CODE, Cra.RESPONSE): AccessResults.decode,
    (AddHanDevice.MESSAGE_CODE, Cra.COMMAND): AddHanDevice.decode,
    (AddHanDevice.MESSAGE_CODE, Cra.RESPONSE): AccessResults.decode,
    (RemoveHanDevice.MESSAGE_CODE, Cra.COMMAND): RemoveHanDevice.decode,
    (RemoveHanDevice.MESSAGE_CODE, Cra.RESPONSE): ChangeSupplyEsmeResponse.decode,
}
_DECODERS: dict[tuple[int, Cra], Callable[[bytes], Payload]] = {
    **_DLMS_DECODERS,
    (TopUpGsme.MESSAGE_CODE, Cra.COMMAND): TopUpGsme.decode,
    (TopUpGsme.MESSAGE_CODE, Cra.RESPONSE): TopUpGsmeResponse.decode,
    **{
        (ChangeSupplyGsme(state, 0).message_code, Cra.COMMAND): ChangeSupplyGsme.decoder(state)
        for state in GasSupplyState
    },
    **{
        (ChangeSupplyGsme(state, 0).message_code, Cra.RESPONSE): _change_supply_gsme_response
        for state in GasSupplyState
    },
    **{(read.MESSAGE_CODE, Cra.COMMAND): read.decode for read in _GBZ_READS},
    **{(read.MESSAGE_CODE, Cra.RESPONSE): GbzResponse.decode for read in _GBZ_READS},
    (UpdateTariffGsme.MESSAGE_CODE, Cra.COMMAND): UpdateTariffGsme.decode,
    (UpdateTariffGsme.MESSAGE_CODE, Cra.RESPONSE): GbzResponse.decode,
    **{
        (SetUncontrolledGasFlow(Decimal(0), 0, 0, 0, decimal).message_code, Cra.COMMAND): (
            SetUncontrolledGasFlow.decoder(decimal)
        )
        for decimal in (False, True)
    },
    **{(code, Cra.RESPONSE): GbzResponse.decode for code in (0x007D, 0x00FC)},
    # Alerts are DLMS or GBZ by their first byte; rare enough to decode every time.
    **{
        (code, Cra.ALERT): _alert
        for code in (GENERIC_CRITICAL_ALERT, GENERIC_NON_CRITICAL_ALERT, 0x00CC)
    },
    (0x0061, Cra.ALERT): BillingDataLogAlert.decode,
    (0x0067, Cra.ALERT): SupplyRestoredAlert.decode,
}
#: The (message code, CRA) pairs with a typed decoder. Besides these, every DLMS payload (D9, DA
#: or 0F) of any message code decodes to a typed :mod:`rig.gbcs.cosem.payload` object; only a
#: payload of neither is RawPayload.
TYPED_USE_CASES: frozenset[tuple[int, Cra]] = frozenset(_DLMS_DECODERS) | frozenset(_DECODERS)
# GBZ and ASN.1 use cases with no class of their own: the generic typed layers.
_DECODERS = {**GBZ_USE_CASES, **ASN1_USE_CASES, **_DECODERS}
TYPED_USE_CASES |= frozenset(GBZ_USE_CASES) | frozenset(ASN1_USE_CASES)
#: Typed objects of DLMS payloads decoded lately, by message code, CRA and the payload without
#: the low 24 bits of its invoke-id (issue 6: every ECS45 command of a load run is the same
#: bytes but for its invoke-id). Bounded: emptied when full. [ASSUMED] size: far more distinct
#: payloads than a bench's steady traffic has, small enough to stay in cache.
_DECODED: dict[tuple[int, int, bytes], Payload] = {}
DECODE_MEMO_SIZE = 1024
_CRAS: dict[int, Cra] = dict(Cra._value2member_map_)


def decoded_memo() -> dict[tuple[int, int, bytes], Payload]:
    """The typed-payload memo itself, for the C accelerator's one-call open
    (``RemotePartyCodec.open_typed``), which looks payloads up under the same keys."""
    return _DECODED


def encode_payload(obj: Payload, invoke_counter: int) -> bytes:
    """Payload bytes of a typed use-case object."""
    return obj.encode(invoke_counter)


def decode_payload(message_code: int, payload: bytes, cra: Cra | int) -> Payload:
    """The typed object for a payload, or :class:`RawPayload`; DecodeError if malformed.

    A DLMS use case's object does not depend on the invoke-id's low 24 bits (bytes 2-4 of the
    payload; the flags byte must be 0x20 for a canonical decoder and stays in the key), so a
    payload that differs from one decoded lately only there gets the same (immutable) object.
    Only successful decodes are remembered: a malformed payload raises every time.
    """
    obj = _DECODED.get((message_code, cra, payload[:2] + payload[5:]))
    if obj is not None:  # only DLMS decoders' results are kept, so a hit is one of theirs
        return obj
    kind = _CRAS.get(cra)
    key = (message_code, Cra(cra) if kind is None else kind)
    decoder = _DLMS_DECODERS.get(key)
    if decoder is None:
        decoder = _DECODERS.get(key)
        if decoder is not None:
            return decoder(payload)
        if payload[:1] and payload[0] in DLMS_TAGS:
            return dlms_decoder(message_code)(payload)
        return RawPayload(message_code, payload)
    masked = (*key, payload[:2] + payload[5:])
    return remember(_DECODED, masked, decoder(payload), DECODE_MEMO_SIZE)
