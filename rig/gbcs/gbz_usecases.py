"""Typed GSME use cases carried as GBZ (reference/gbcs.md §1.6, §1.7, §1.10; domain.md §5).

CS01b top-up, GCS32/GCS39 change supply, GCS33/GCS13a/GCS14/GCS60 attribute reads,
GCS24/GCS24a uncontrolled gas flow (with the SMETS2 decimal scaling) and the GBZ responses
(GCS01a's too; its command is :mod:`rig.gbcs.gsme_tariff`). Decoders are strict:
a payload decodes only if the typed object re-encodes to the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import ClassVar, Self

from rig.gbcs.errors import DecodeError
from rig.gbcs.gbz import (
    CLUSTER_SPECIFIC,
    PROFILE_WIDE,
    READ_ATTRIBUTES,
    SERVER_TO_CLIENT,
    Gbz,
    GbzComponent,
    ZclFrame,
    decode_gbz,
    encode_read_attributes,
    le,
)
from rig.gbcs.gbz_message import GbzResponse
from rig.gbcs.wire import Reader, require_canonical

__all__ = ["GbzResponse"]

METERING = 0x0702
PREPAYMENT = 0x0705
PRICE = 0x0700
#: Client-to-server cluster command; server-to-client response (frame control).
_COMMAND_FC = CLUSTER_SPECIFIC
_RESPONSE_FC = CLUSTER_SPECIFIC | SERVER_TO_CLIENT
#: GCS24a's decimal flow rate is sent as value x 10^4 with divisor 10000 (domain.md §5, RTDS).
GAS_FLOW_DECIMAL_DIVISOR = 10_000
_UINT16 = 0xFFFF


def _strict(cls: type, payload: bytes, obj: object) -> None:
    """Raise DecodeError unless ``obj`` re-encodes to ``payload`` (canonical decoding)."""
    encode = obj.encode  # type: ignore[attr-defined]
    require_canonical(cls.__name__, payload, lambda: encode(0))


def _one(payload: bytes, cluster: int, command: int, what: str) -> ZclFrame:
    """The single component's ZCL frame, which must be ``command`` on ``cluster``."""
    (component, *rest) = decode_gbz(payload).components
    frame = component.frame
    if rest or component.cluster != cluster or frame.command != command or component.encrypted:
        raise DecodeError(0, f"{what}: expected one cluster 0x{cluster:04X} command {command}")
    return frame


def _gbz(*frames: tuple[int, ZclFrame]) -> bytes:
    return Gbz(tuple(GbzComponent(cluster, frame) for cluster, frame in frames)).encode()


def _fields(payload: bytes, layout: tuple[tuple[int, bool], ...], what: str) -> list[int]:
    """Little-endian integers of the given (size, signed) layout, filling the payload exactly."""
    reader = Reader(payload)
    values = [
        int.from_bytes(reader.take(size, what), "little", signed=signed) for size, signed in layout
    ]
    reader.expect_end(what)
    return values


def _pack(layout: tuple[tuple[int, bool], ...], values: tuple[int, ...]) -> bytes:
    return b"".join(le(v, size, signed) for (size, signed), v in zip(layout, values, strict=True))


@dataclass(frozen=True)
class TopUpGsme:
    """CS01b Top Up GSME: ZCL Prepayment Consumer Top Up with the 20-digit UTRN (§1.6)."""

    MESSAGE_CODE: ClassVar[int] = 0x0097
    utrn: str
    originating_device: int = 0

    def encode(self, invoke_counter: int) -> bytes:
        """One component, cluster 0x0705 command 0x04 (no invoke id in GBZ)."""
        code = self.utrn.encode("ascii")
        body = bytes([self.originating_device, len(code)]) + code
        return _gbz((PREPAYMENT, ZclFrame(_COMMAND_FC, 0, 0x04, body)))

    @classmethod
    def decode(cls, payload: bytes) -> TopUpGsme:
        """Inverse of :meth:`encode`."""
        body = _one(payload, PREPAYMENT, 0x04, "CS01b").payload
        if len(body) < 2 or body[1] != len(body) - 2 or not body[2:].isascii():
            raise DecodeError(0, "CS01b: expected originating device and an ASCII UTRN")
        obj = cls(body[2:].decode("ascii"), body[0])
        _strict(cls, payload, obj)
        return obj


_TOP_UP_RESPONSE = ((1, False), (4, True), (1, False), (4, True))


@dataclass(frozen=True)
class TopUpGsmeResponse:
    """CS01b response: Consumer Top Up Response (values in the meter's currency units, signed)."""

    result_type: int
    top_up_value: int
    source: int
    credit_remaining: int

    def encode(self, invoke_counter: int) -> bytes:
        """One component, cluster 0x0705 response command 0x03."""
        values = (self.result_type, self.top_up_value, self.source, self.credit_remaining)
        frame = ZclFrame(_RESPONSE_FC, 0, 0x03, _pack(_TOP_UP_RESPONSE, values))
        return _gbz((PREPAYMENT, frame))

    @classmethod
    def decode(cls, payload: bytes) -> TopUpGsmeResponse:
        """Inverse of :meth:`encode`."""
        body = _one(payload, PREPAYMENT, 0x03, "CS01b response").payload
        obj = cls(*_fields(body, _TOP_UP_RESPONSE, "Consumer Top Up Response"))
        _strict(cls, payload, obj)
        return obj


class GasSupplyState(IntEnum):
    """ZSE Change Supply proposed status (§1.6: GCS32 off, GCS39 armed)."""

    OFF = 0
    ARMED = 1


_CHANGE_SUPPLY_CODES = {GasSupplyState.OFF: 0x0081, GasSupplyState.ARMED: 0x0085}
_CHANGE_SUPPLY = ((4, False), (4, False), (4, False), (4, False), (1, False), (1, False))


@dataclass(frozen=True)
class ChangeSupplyGsme:
    """GCS32 (valve off) / GCS39 (arm): ZSE Metering Change Supply; times are GBZ seconds."""

    target: GasSupplyState
    issuer_event_id: int
    request_date_time: int = 0
    implementation_date_time: int = 0
    provider_id: int = 0
    supply_control_bits: int = 1

    @property
    def message_code(self) -> int:
        """0x0081 or 0x0085, by target state."""
        return _CHANGE_SUPPLY_CODES[GasSupplyState(self.target)]

    def encode(self, invoke_counter: int) -> bytes:
        """One component, cluster 0x0702 command 0x0B."""
        values = (
            self.provider_id,
            self.issuer_event_id,
            self.request_date_time,
            self.implementation_date_time,
            int(self.target),
            self.supply_control_bits,
        )
        return _gbz((METERING, ZclFrame(_COMMAND_FC, 0, 0x0B, _pack(_CHANGE_SUPPLY, values))))

    @classmethod
    def decoder(cls, target: GasSupplyState) -> Callable[[bytes], ChangeSupplyGsme]:
        """A decoder for the message code of ``target``, checking the proposed status."""

        def decode(payload: bytes) -> ChangeSupplyGsme:
            body = _one(payload, METERING, 0x0B, "Change Supply").payload
            provider, issuer, requested, implemented, status, bits = _fields(
                body, _CHANGE_SUPPLY, "Change Supply"
            )
            if status != target:
                raise DecodeError(0, f"Change Supply: proposed status {status}, expected {target}")
            obj = cls(target, issuer, requested, implemented, provider, bits)
            _strict(cls, payload, obj)
            return obj

        return decode


_SUPPLY_STATUS = ((4, False), (4, False), (4, False), (1, False))


@dataclass(frozen=True)
class SupplyStatusResponse:
    """GCS32 / GCS39 success response: ZSE Supply Status Response (status 0 off, 1 armed)."""

    issuer_event_id: int
    supply_status: int
    implementation_date_time: int = 0
    provider_id: int = 0

    def encode(self, invoke_counter: int) -> bytes:
        """One component, cluster 0x0702 response command 0x0C."""
        values = (
            self.provider_id,
            self.issuer_event_id,
            self.implementation_date_time,
            self.supply_status,
        )
        return _gbz((METERING, ZclFrame(_RESPONSE_FC, 0, 0x0C, _pack(_SUPPLY_STATUS, values))))

    @classmethod
    def decode(cls, payload: bytes) -> SupplyStatusResponse:
        """Inverse of :meth:`encode`."""
        body = _one(payload, METERING, 0x0C, "Supply Status Response").payload
        provider, issuer, implemented, status = _fields(body, _SUPPLY_STATUS, "Supply Status")
        obj = cls(issuer, status, implemented, provider)
        _strict(cls, payload, obj)
        return obj


@dataclass(frozen=True)
class ReadGsmeAttributes:
    """Base of the GSME reads: one Read Attributes component per (cluster, attributes)."""

    MESSAGE_CODE: ClassVar[int]
    READS: ClassVar[tuple[tuple[int, tuple[int, ...]], ...]]

    def encode(self, invoke_counter: int) -> bytes:
        """Components numbered 0, 1, … in order."""
        frames = [
            (cluster, ZclFrame(PROFILE_WIDE, seq, READ_ATTRIBUTES, encode_read_attributes(attrs)))
            for seq, (cluster, attrs) in enumerate(self.READS)
        ]
        return _gbz(*frames)

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """The payload must be exactly this use case's reads."""
        obj = cls()
        if obj.encode(0) != payload:
            decode_gbz(payload)  # a structural error names its offset
            raise DecodeError(0, f"{cls.__name__}: not the attribute reads of this use case")
        return obj


@dataclass(frozen=True)
class ReadSupplyStatusGsme(ReadGsmeAttributes):
    """GCS33: Metering battery life in days (0x0205) and Supply Status (0x0014)."""

    MESSAGE_CODE: ClassVar[int] = 0x0082
    READS: ClassVar = ((METERING, (0x0205, 0x0014)),)


@dataclass(frozen=True)
class ReadGsmeConsumption(ReadGsmeAttributes):
    """GCS13a: divisor, multiplier, unit of measure and Current Summation Delivered."""

    MESSAGE_CODE: ClassVar[int] = 0x0074
    READS: ClassVar = ((METERING, (0x0302, 0x0301, 0x0300, 0x0000)),)


@dataclass(frozen=True)
class ReadGsmePrepaymentRegisters(ReadGsmeAttributes):
    """GCS14: price trailing digits and currency; debts, emergency credit and credit remaining."""

    MESSAGE_CODE: ClassVar[int] = 0x0075
    READS: ClassVar = (
        (PRICE, (0x0617, 0x0616)),
        (PREPAYMENT, (0x0005, 0x0002, 0x0001, 0x0231, 0x0211, 0x0221)),
    )


@dataclass(frozen=True)
class ReadGsmeBalance(ReadGsmeAttributes):
    """GCS60: Bill to Date Delivered (0x0A00) and Credit Remaining (0x0001)."""

    MESSAGE_CODE: ClassVar[int] = 0x008D
    READS: ClassVar = ((METERING, (0x0A00,)), (PREPAYMENT, (0x0001,)))


class SupplyStateChange(IntEnum):
    """Set Supply Status values for tamper / depletion state (RTDS "Unchanged" is 3)."""

    UNCHANGED = 3


_FLOW_THRESHOLD = ((4, False), (4, False), (2, False), (1, False))
_FLOW_TAIL = ((2, False), (2, False), (1, False), (2, False))
_SET_SUPPLY_STATUS = ((4, False), (1, False), (1, False), (1, False), (1, False))
_FLOW_CODES = {False: 0x007D, True: 0x00FC}


@dataclass(frozen=True)
class SetUncontrolledGasFlow:
    """GCS24 / GCS24a (SRV 6.7): Set Uncontrolled Flow Threshold + Set Supply Status.

    ``decimal`` selects GCS24a, whose rate (DUIS ``UncontrolledGasFlowRateDecimal``) travels as
    rate x 10^4 with divisor 10000; GCS24 sends an integer rate with divisor 1 (domain.md §5).
    The scaled threshold must be an integer of at most 65535.
    """

    rate: Decimal
    issuer_event_id: int
    stabilisation_period: int
    measurement_period: int
    decimal: bool = False
    supply_tamper_state: int = SupplyStateChange.UNCHANGED
    supply_depletion_state: int = SupplyStateChange.UNCHANGED
    uncontrolled_flow_state: int = 0
    load_limit_supply_state: int = SupplyStateChange.UNCHANGED
    unit_of_measure: int = 1
    provider_id: int = 0

    @property
    def message_code(self) -> int:
        """0x007D (GCS24) or 0x00FC (GCS24a)."""
        return _FLOW_CODES[self.decimal]

    @property
    def divisor(self) -> int:
        """The ZSE divisor of the threshold."""
        return GAS_FLOW_DECIMAL_DIVISOR if self.decimal else 1

    @property
    def threshold(self) -> int:
        """The uint16 uncontrolled-flow threshold on the wire."""
        scaled = Decimal(self.rate) * self.divisor
        if scaled != scaled.to_integral_value() or not 0 <= scaled <= _UINT16:
            raise ValueError(
                f"gas flow rate {self.rate} x {self.divisor} is not an integer in 0..{_UINT16}"
            )
        return int(scaled)

    def encode(self, invoke_counter: int) -> bytes:
        """Two Metering components: command 0x0E then 0x0D."""
        threshold = _pack(
            _FLOW_THRESHOLD,
            (self.provider_id, self.issuer_event_id, self.threshold, self.unit_of_measure),
        )
        tail = (1, self.divisor, self.stabilisation_period, self.measurement_period)
        status = (
            self.issuer_event_id,
            self.supply_tamper_state,
            self.supply_depletion_state,
            self.uncontrolled_flow_state,
            self.load_limit_supply_state,
        )
        return _gbz(
            (METERING, ZclFrame(_COMMAND_FC, 0, 0x0E, threshold + _pack(_FLOW_TAIL, tail))),
            (METERING, ZclFrame(_COMMAND_FC, 1, 0x0D, _pack(_SET_SUPPLY_STATUS, status))),
        )

    @classmethod
    def decoder(cls, decimal: bool) -> Callable[[bytes], SetUncontrolledGasFlow]:
        """A decoder for GCS24 (``decimal`` False) or GCS24a."""

        def decode(payload: bytes) -> SetUncontrolledGasFlow:
            components = decode_gbz(payload).components
            if len(components) != 2 or any(c.cluster != METERING for c in components):
                raise DecodeError(0, "gas flow: expected two Metering components")
            layout = _FLOW_THRESHOLD + _FLOW_TAIL
            fields = _fields(components[0].frame.payload, layout, "Set Uncontrolled Flow")
            provider, issuer, threshold, unit, multiplier, divisor, stab, period = fields
            _, tamper, depletion, flow, load_limit = _fields(
                components[1].frame.payload, _SET_SUPPLY_STATUS, "Set Supply Status"
            )
            if multiplier != 1 or divisor != (GAS_FLOW_DECIMAL_DIVISOR if decimal else 1):
                raise DecodeError(0, f"gas flow: multiplier {multiplier}, divisor {divisor}")
            obj = cls(
                Decimal(threshold) / divisor,
                issuer,
                stab,
                period,
                decimal,
                tamper,
                depletion,
                flow,
                load_limit,
                unit_of_measure=unit,
                provider_id=provider,
            )
            _strict(cls, payload, obj)
            return obj

        return decode
