"""The profile-wide (general) ZCL commands, ZCL rev 6 §2.5: Read/Write Attributes, Configure
Reporting, Report Attributes, Default Response, Discover Attributes, each described once.

:data:`GENERAL` maps their command ids to their structures. Read Reporting Configuration
Response is kept as bytes (a named opaque field).
"""

from __future__ import annotations

from dataclasses import dataclass

from rig.gbcs.gbz import AttributeRecord, ZclValue, encode_zcl_value, le, read_zcl_value
from rig.gbcs.wire import Reader
from rig.gbcs.zcl import (
    REST,
    U8,
    U16,
    Many,
    Struct,
    struct,
)


@dataclass(frozen=True)
class _Records:
    """Read Attributes Response records (attribute, status, and type and value on success)."""

    def read(self, reader: Reader) -> AttributeRecord:
        """One record."""
        attribute = int.from_bytes(reader.take(2, "attribute id"), "little")
        status = reader.byte("attribute status")
        if status:
            return AttributeRecord(attribute, status)
        data_type = reader.byte("attribute data type")
        return AttributeRecord(attribute, 0, data_type, read_zcl_value(reader, data_type))

    def write(self, value: AttributeRecord) -> bytes:
        """The record's bytes."""
        return value.encode()


@dataclass(frozen=True)
class TypedValue:
    """A ZCL data type and a value of it."""

    data_type: int
    value: ZclValue


@dataclass(frozen=True)
class _Typed:
    """A data-type byte and a value of that type."""

    def read(self, reader: Reader) -> TypedValue:
        """Type and value."""
        data_type = reader.byte("data type")
        return TypedValue(data_type, read_zcl_value(reader, data_type))

    def write(self, value: TypedValue) -> bytes:
        """Type and value."""
        return bytes([value.data_type]) + encode_zcl_value(value.data_type, value.value)


#: Data types whose reporting configuration carries a reportable change (analog types).
_ANALOG = frozenset(range(0x20, 0x30)) | {0x38, 0x39, 0x3A, 0xE0, 0xE1, 0xE2}


@dataclass(frozen=True)
class _Change:
    """A reportable change of the data type just read (analog types only)."""

    def read(self, reader: Reader, data_type: int) -> ZclValue | None:
        """The change, or None for a discrete type."""
        return read_zcl_value(reader, data_type) if data_type in _ANALOG else None

    def write(self, data_type: int, value: ZclValue | None) -> bytes:
        """Nothing for a discrete type."""
        if (value is None) != (data_type not in _ANALOG):
            raise ValueError(f"reportable change {value!r} for data type 0x{data_type:02X}")
        return b"" if value is None else encode_zcl_value(data_type, value)


@dataclass(frozen=True)
class ReportingRecord:
    """A Configure Reporting record: direction 0 (reported) or 1 (received, a timeout)."""

    direction: int
    attribute: int
    data_type: int | None = None
    minimum_interval: int | None = None
    maximum_interval: int | None = None
    reportable_change: ZclValue | None = None
    timeout: int | None = None


@dataclass(frozen=True)
class _Reporting:
    def read(self, reader: Reader) -> ReportingRecord:
        """One record."""
        direction = reader.byte("direction")
        attribute = U16.read(reader)
        if direction:
            return ReportingRecord(direction, attribute, timeout=U16.read(reader))
        data_type = reader.byte("data type")
        low, high = U16.read(reader), U16.read(reader)
        change = _Change().read(reader, data_type)
        return ReportingRecord(direction, attribute, data_type, low, high, change)

    def write(self, value: ReportingRecord) -> bytes:
        """The record's bytes."""
        head = bytes([value.direction]) + U16.write(value.attribute)
        if value.direction:
            if value.timeout is None:
                raise ValueError("a received attribute's record needs its timeout")
            return head + U16.write(value.timeout)
        low, high = value.minimum_interval, value.maximum_interval
        if value.data_type is None or low is None or high is None:
            raise ValueError("a reported attribute's record needs its data type and intervals")
        return (
            head
            + bytes([value.data_type])
            + U16.write(low)
            + U16.write(high)
            + _Change().write(value.data_type, value.reportable_change)
        )


@dataclass(frozen=True)
class StatusRecord:
    """A write / configure-reporting status: success alone, else with the attribute."""

    status: int
    direction: int | None = None
    attribute: int | None = None


@dataclass(frozen=True)
class _Status:
    with_direction: bool

    def read(self, reader: Reader) -> StatusRecord:
        """One status record."""
        status = reader.byte("status")
        if not status and not reader.remaining:
            return StatusRecord(0)
        direction = reader.byte("direction") if self.with_direction else None
        return StatusRecord(status, direction, U16.read(reader))

    def write(self, value: StatusRecord) -> bytes:
        """The record's bytes."""
        if value.attribute is None:
            return bytes([value.status])
        direction = b"" if value.direction is None else bytes([value.direction])
        return bytes([value.status]) + direction + le(value.attribute, 2)


_VALUE = struct(
    "AttributeValue", "An attribute id and a typed value.", ("attribute", U16), ("value", _Typed())
)
_ATTRIBUTE_TYPE = struct(
    "AttributeType", "An attribute id and its data type.", ("attribute", U16), ("data_type", U8)
)
ReadAttributes = struct("ReadAttributes", "ZCL 0x00.", ("attributes", Many(U16)))
ReadAttributesResponse = struct(
    "ReadAttributesResponse", "ZCL 0x01.", ("records", Many(_Records()))
)
WriteAttributes = struct("WriteAttributes", "ZCL 0x02 / 0x03 / 0x05.", ("records", Many(_VALUE)))
WriteAttributesResponse = struct(
    "WriteAttributesResponse", "ZCL 0x04.", ("records", Many(_Status(False)))
)
ConfigureReporting = struct("ConfigureReporting", "ZCL 0x06.", ("records", Many(_Reporting())))
ConfigureReportingResponse = struct(
    "ConfigureReportingResponse", "ZCL 0x07.", ("records", Many(_Status(True)))
)
_DIRECTION_ATTRIBUTE = struct(
    "DirectionAttribute", "A direction and an attribute id.", ("direction", U8), ("attribute", U16)
)
ReadReportingConfiguration = struct(
    "ReadReportingConfiguration", "ZCL 0x08.", ("records", Many(_DIRECTION_ATTRIBUTE))
)
ReadReportingConfigurationResponse = struct(
    "ReadReportingConfigurationResponse", "ZCL 0x09 (kept as bytes).", ("records", REST)
)
ReportAttributes = struct("ReportAttributes", "ZCL 0x0A.", ("records", Many(_VALUE)))
DefaultResponse = struct("DefaultResponse", "ZCL 0x0B.", ("command", U8), ("status", U8))
DiscoverAttributes = struct(
    "DiscoverAttributes", "ZCL 0x0C.", ("start_attribute", U16), ("maximum", U8)
)
DiscoverAttributesResponse = struct(
    "DiscoverAttributesResponse",
    "ZCL 0x0D.",
    ("complete", U8),
    ("attributes", Many(_ATTRIBUTE_TYPE)),
)
GENERAL: dict[int, type[Struct]] = {
    0x00: ReadAttributes,
    0x01: ReadAttributesResponse,
    0x02: WriteAttributes,
    0x03: WriteAttributes,
    0x04: WriteAttributesResponse,
    0x05: WriteAttributes,
    0x06: ConfigureReporting,
    0x07: ConfigureReportingResponse,
    0x08: ReadReportingConfiguration,
    0x09: ReadReportingConfigurationResponse,
    0x0A: ReportAttributes,
    0x0B: DefaultResponse,
    0x0C: DiscoverAttributes,
    0x0D: DiscoverAttributesResponse,
}
GENERAL_NAMES = {k: v.__name__ for k, v in GENERAL.items()} | {
    0x03: "WriteAttributesUndivided",
    0x05: "WriteAttributesNoResponse",
}
