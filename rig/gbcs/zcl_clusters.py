"""ZCL / ZigBee SE 1.2a clusters, attributes and command layouts, each described once with
:mod:`rig.gbcs.zcl` (reference/gbcs.md §1.6-1.7; ZCL rev 6 §2.5 general commands; ZSE 1.2a
(SE 1.4 numbering) cluster chapters for Price, Metering, Messaging, Prepayment, Calendar,
Device Management and Events).

:data:`COMMANDS` maps ``(cluster, server_to_client, command id)`` to the structure of its
payload; :data:`GENERAL` maps profile-wide command ids to theirs. The Calendar and Price publish
commands of the tariff use cases are :mod:`rig.gbcs.gsme_tariff`'s, reused here.

Named opaque fields (:class:`~rig.gbcs.zcl.Rest`), where the layout depends on something this
table does not model: the snapshot payload of Publish (Prepay) Snapshot (its layout depends on
the snapshot payload type) and Read Reporting Configuration Response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rig.gbcs import gsme_tariff as tariff
from rig.gbcs.gbz import AttributeRecord, ZclValue, encode_zcl_value, le, read_zcl_value
from rig.gbcs.wire import Reader
from rig.gbcs.zcl import (
    REST,
    S32,
    STRING,
    U8,
    U16,
    U24,
    U32,
    UTC,
    Codec,
    Many,
    Opt,
    Struct,
    Switch,
    struct,
)

BASIC, TIME, OTA = 0x0000, 0x000A, 0x0019
PRICE, METERING, MESSAGING, TUNNELING, PREPAYMENT = 0x0700, 0x0702, 0x0703, 0x0704, 0x0705
CALENDAR, DEVICE_MANAGEMENT, EVENTS = 0x0707, 0x0708, 0x0709
KEY_ESTABLISHMENT, MDU_PAIRING, SUB_GHZ = 0x0800, 0x0706, 0x070B

CLUSTER_NAMES: dict[int, str] = {
    BASIC: "Basic",
    0x0003: "Identify",
    TIME: "Time",
    OTA: "OTA Upgrade",
    PRICE: "Price",
    0x0701: "Demand Response and Load Control",
    METERING: "Metering",
    MESSAGING: "Messaging",
    TUNNELING: "Tunneling",
    PREPAYMENT: "Prepayment",
    MDU_PAIRING: "Energy Management",
    CALENDAR: "Calendar",
    DEVICE_MANAGEMENT: "Device Management",
    EVENTS: "Events",
    0x070A: "MDU Pairing",
    SUB_GHZ: "Sub-GHz",
    KEY_ESTABLISHMENT: "Key Establishment",
}

#: Attribute names by cluster, where the use cases read them (ZSE attribute tables).
ATTRIBUTE_NAMES: dict[int, dict[int, str]] = {
    BASIC: {0x0000: "ZCLVersion", 0x0004: "ManufacturerName", 0x0005: "ModelIdentifier"},
    TIME: {0x0000: "Time", 0x0001: "TimeStatus", 0x0007: "LocalTime"},
    METERING: {
        0x0000: "CurrentSummationDelivered",
        0x0014: "SupplyStatus",
        0x0100: "CurrentTier1SummationDelivered",
        0x0200: "Status",
        0x0205: "RemainingBatteryLifeInDays",
        0x0207: "ProfileIntervalPeriod",
        0x0300: "UnitOfMeasure",
        0x0301: "Multiplier",
        0x0302: "Divisor",
        0x0303: "SummationFormatting",
        0x0306: "MeteringDeviceType",
        0x0400: "InstantaneousDemand",
        0x0401: "CurrentDayConsumptionDelivered",
        0x0403: "PreviousDayConsumptionDelivered",
        0x0A00: "BillToDateDelivered",
        0x0A01: "BillToDateTimeStampDelivered",
    },
    PRICE: {
        0x0000: "Tier1PriceLabel",
        0x0100: "Block1Threshold",
        0x0200: "StartOfBlockPeriod",
        0x0300: "CommodityType",
        0x0301: "StandingCharge",
        0x0302: "ConversionFactor",
        0x0400: "PriceTier1Block1",
        0x0615: "CurrentBillingPeriodStart",
        0x0616: "CurrentBillingPeriodDuration",
        0x0617: "LastBillingPeriodStart",
    },
    PREPAYMENT: {
        0x0000: "PaymentControlConfiguration",
        0x0001: "CreditRemaining",
        0x0002: "EmergencyCreditRemaining",
        0x0003: "CreditStatus",
        0x0005: "AccumulatedDebt",
        0x0006: "OverallDebtCap",
        0x0010: "EmergencyCreditLimitAllowance",
        0x0011: "EmergencyCreditThreshold",
        0x0021: "LowCreditWarningLevel",
        0x0211: "DebtAmount1",
        0x0221: "DebtAmount2",
        0x0231: "DebtAmount3",
    },
}

# --- profile-wide (general) commands, ZCL §2.5 -------------------------------------------------


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
            return head + U16.write(value.timeout)
        if value.data_type is None:
            raise ValueError("a reported attribute's record needs its data type")
        return (
            head
            + bytes([value.data_type])
            + U16.write(value.minimum_interval)
            + U16.write(value.maximum_interval)
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

# --- cluster-specific commands (SE 1.2a) -------------------------------------------------------


def _cmd(name: str, doc: str, *layout: tuple[str, Codec]) -> type[Struct]:
    return struct(name, doc, *layout)


_PROVIDER_EVENT = (("provider_id", U32), ("issuer_event_id", U32))
_ISSUER = (("issuer_event_id", U32), ("start_time", UTC))
_IMPLEMENTATION = (*_PROVIDER_EVENT, ("implementation_date_time", UTC))

# Price (client to server, then server to client)
GetCurrentPrice = _cmd("GetCurrentPrice", "Price 0x00.", ("command_options", U8))
GetScheduledPrices = _cmd(
    "GetScheduledPrices", "Price 0x01.", ("start_time", UTC), ("number_of_events", U8)
)
GetTariffInformation = _cmd(
    "GetTariffInformation",
    "Price 0x06.",
    ("earliest_start_time", UTC),
    ("min_issuer_event_id", U32),
    ("number_of_commands", U8),
    ("tariff_type", U8),
)
_BY_TARIFF = (("issuer_tariff_id", U32),)
GetPriceMatrix = _cmd("GetPriceMatrix", "Price 0x07.", *_BY_TARIFF)
GetBlockThresholds = _cmd("GetBlockThresholds", "Price 0x08.", *_BY_TARIFF)
GetTierLabels = _cmd("GetTierLabels", "Price 0x0A.", *_BY_TARIFF)
GetBillingPeriod = _cmd(
    "GetBillingPeriod",
    "Price 0x0B.",
    ("earliest_start_time", UTC),
    ("min_issuer_event_id", U32),
    ("number_of_commands", U8),
    ("tariff_type", U8),
)
PublishPrice = _cmd(
    "PublishPrice",
    "Price 0x00 (the SE 1.1+ fields after the price are optional).",
    ("provider_id", U32),
    ("rate_label", STRING),
    ("issuer_event_id", U32),
    ("current_time", UTC),
    ("unit_of_measure", U8),
    ("currency", U16),
    ("price_trailing_digit_and_tier", U8),
    ("number_of_tiers_and_register_tier", U8),
    ("start_time", UTC),
    ("duration_in_minutes", U16),
    ("price", U32),
    ("price_ratio", Opt(U8)),
    ("generation_price", Opt(U32)),
    ("generation_price_ratio", Opt(U8)),
    ("alternate_cost_delivered", Opt(U32)),
    ("alternate_cost_unit", Opt(U8)),
    ("alternate_cost_trailing_digit", Opt(U8)),
    ("number_of_block_thresholds", Opt(U8)),
    ("price_control", Opt(U8)),
    ("number_of_generation_tiers", Opt(U8)),
    ("generation_tier", Opt(U8)),
    ("extended_number_of_price_tiers", Opt(U8)),
    ("extended_price_tier", Opt(U8)),
    ("extended_register_tier", Opt(U8)),
)
PublishBlockPeriod = _cmd(
    "PublishBlockPeriod",
    "Price 0x01.",
    *_PROVIDER_EVENT,
    ("block_period_start_time", UTC),
    ("block_period_duration", U24),
    ("block_period_control", U8),
    ("block_period_duration_type", U8),
    ("tariff_type", U8),
    ("tariff_resolution_period", U8),
)
PublishConversionFactor = _cmd(
    "PublishConversionFactor",
    "Price 0x02.",
    *_ISSUER,
    ("conversion_factor", U32),
    ("conversion_factor_trailing_digit", U8),
)
PublishCalorificValue = _cmd(
    "PublishCalorificValue",
    "Price 0x03.",
    *_ISSUER,
    ("calorific_value", U32),
    ("calorific_value_unit", U8),
    ("calorific_value_trailing_digit", U8),
)
PublishBillingPeriod = _cmd(
    "PublishBillingPeriod",
    "Price 0x09.",
    *_PROVIDER_EVENT,
    ("billing_period_start_time", UTC),
    ("billing_period_duration", U24),
    ("billing_period_duration_type", U8),
    ("tariff_type", U8),
)
CancelTariff = _cmd(
    "CancelTariff",
    "Price 0x0E.",
    ("provider_id", U32),
    ("issuer_tariff_id", U32),
    ("tariff_type", U8),
)

# Metering
GetProfile = _cmd(
    "GetProfile",
    "Metering 0x00.",
    ("interval_channel", U8),
    ("end_time", UTC),
    ("number_of_periods", U8),
)
GetSnapshot = _cmd(
    "GetSnapshot",
    "Metering 0x06.",
    ("earliest_start_time", UTC),
    ("latest_end_time", UTC),
    ("snapshot_offset", U8),
    ("snapshot_cause", U32),
)
GetSampledData = _cmd(
    "GetSampledData",
    "Metering 0x08.",
    ("sample_id", U16),
    ("earliest_sample_time", UTC),
    ("sample_type", U8),
    ("number_of_samples", U16),
)
ChangeSupply = _cmd(
    "ChangeSupply",
    "Metering 0x0B.",
    *_PROVIDER_EVENT,
    ("request_date_time", UTC),
    ("implementation_date_time", UTC),
    ("proposed_supply_status", U8),
    ("supply_control_bits", U8),
)
SetSupplyStatus = _cmd(
    "SetSupplyStatus",
    "Metering 0x0D.",
    ("issuer_event_id", U32),
    ("supply_tamper_state", U8),
    ("supply_depletion_state", U8),
    ("supply_uncontrolled_flow_state", U8),
    ("load_limit_supply_state", U8),
)
SetUncontrolledFlowThreshold = _cmd(
    "SetUncontrolledFlowThreshold",
    "Metering 0x0E.",
    *_PROVIDER_EVENT,
    ("uncontrolled_flow_threshold", U16),
    ("unit_of_measure", U8),
    ("multiplier", U16),
    ("divisor", U16),
    ("stabilisation_period", U8),
    ("measurement_period", U16),
)
GetProfileResponse = _cmd(
    "GetProfileResponse",
    "Metering 0x00.",
    ("end_time", UTC),
    ("status", U8),
    ("profile_interval_period", U8),
    ("number_of_periods_delivered", U8),
    ("intervals", Many(U24)),
)
PublishSnapshot = _cmd(
    "PublishSnapshot",
    "Metering 0x06 (snapshot payload kept as bytes).",
    ("snapshot_id", U32),
    ("snapshot_time", UTC),
    ("total_snapshots_found", U8),
    ("command_index", U8),
    ("total_commands", U8),
    ("snapshot_cause", U32),
    ("snapshot_payload_type", U8),
    ("snapshot_payload", REST),
)
GetSampledDataResponse = _cmd(
    "GetSampledDataResponse",
    "Metering 0x07.",
    ("sample_id", U16),
    ("sample_start_time", UTC),
    ("sample_type", U8),
    ("sample_request_interval", U16),
    ("number_of_samples", U16),
    ("samples", Many(U24)),
)
SupplyStatusResponse = _cmd(
    "SupplyStatusResponse",
    "Metering 0x0C.",
    *_PROVIDER_EVENT,
    ("implementation_date_time", UTC),
    ("supply_status", U8),
)

# Messaging
DisplayMessage = _cmd(
    "DisplayMessage",
    "Messaging 0x00.",
    ("message_id", U32),
    ("message_control", U8),
    ("start_time", UTC),
    ("duration_in_minutes", U16),
    ("message", STRING),
    ("extended_message_control", Opt(U8)),
)
CancelMessage = _cmd(
    "CancelMessage", "Messaging 0x01.", ("message_id", U32), ("message_control", U8)
)

# Prepayment
SelectAvailableEmergencyCredit = _cmd(
    "SelectAvailableEmergencyCredit",
    "Prepayment 0x00.",
    ("command_issue_date_time", UTC),
    ("originating_device", U8),
)
ChangeDebt = _cmd(
    "ChangeDebt",
    "Prepayment 0x02.",
    ("issuer_event_id", U32),
    ("debt_label", STRING),
    ("debt_amount", S32),
    ("debt_recovery_method", U8),
    ("debt_amount_type", U8),
    ("debt_recovery_start_time", UTC),
    ("debt_recovery_collection_time", U16),
    ("debt_recovery_frequency", U8),
    ("debt_recovery_amount", S32),
    ("debt_recovery_balance_percentage", U16),
)
EmergencyCreditSetup = _cmd(
    "EmergencyCreditSetup",
    "Prepayment 0x03.",
    *_ISSUER,
    ("emergency_credit_limit", U32),
    ("emergency_credit_threshold", U32),
)
ConsumerTopUp = _cmd(
    "ConsumerTopUp", "Prepayment 0x04.", ("originating_device", U8), ("top_up_code", STRING)
)
CreditAdjustment = _cmd(
    "CreditAdjustment",
    "Prepayment 0x05.",
    *_ISSUER,
    ("credit_adjustment_type", U8),
    ("credit_adjustment_value", S32),
)
ChangePaymentMode = _cmd(
    "ChangePaymentMode",
    "Prepayment 0x06.",
    *_IMPLEMENTATION,
    ("proposed_payment_control_configuration", U16),
    ("cut_off_value", S32),
)
GetPrepaySnapshot = _cmd(
    "GetPrepaySnapshot",
    "Prepayment 0x07.",
    ("earliest_start_time", UTC),
    ("latest_end_time", UTC),
    ("snapshot_offset", U8),
    ("snapshot_cause", U32),
)
GetTopUpLog = _cmd(
    "GetTopUpLog", "Prepayment 0x08.", ("latest_end_time", UTC), ("number_of_records", U8)
)
SetLowCreditWarningLevel = _cmd(
    "SetLowCreditWarningLevel", "Prepayment 0x09.", ("low_credit_warning_level", U32)
)
GetDebtRepaymentLog = _cmd(
    "GetDebtRepaymentLog",
    "Prepayment 0x0A.",
    ("latest_end_time", UTC),
    ("number_of_debts", U8),
    ("debt_type", U8),
)
SetMaximumCreditLimit = _cmd(
    "SetMaximumCreditLimit",
    "Prepayment 0x0B.",
    *_IMPLEMENTATION,
    ("maximum_credit_level", U32),
    ("maximum_credit_per_top_up", U32),
)
SetOverallDebtCap = _cmd(
    "SetOverallDebtCap", "Prepayment 0x0C.", *_IMPLEMENTATION, ("overall_debt_cap", S32)
)
PublishPrepaySnapshot = _cmd(
    "PublishPrepaySnapshot",
    "Prepayment 0x01 (snapshot payload kept as bytes).",
    ("snapshot_id", U32),
    ("snapshot_time", UTC),
    ("total_snapshots_found", U8),
    ("command_index", U8),
    ("total_commands", U8),
    ("snapshot_cause", U32),
    ("snapshot_payload_type", U8),
    ("snapshot_payload", REST),
)
ChangePaymentModeResponse = _cmd(
    "ChangePaymentModeResponse",
    "Prepayment 0x02.",
    ("friendly_credit", U8),
    ("friendly_credit_calendar_id", U32),
    ("emergency_credit_limit", U32),
    ("emergency_credit_threshold", U32),
)
ConsumerTopUpResponse = _cmd(
    "ConsumerTopUpResponse",
    "Prepayment 0x03.",
    ("result_type", U8),
    ("top_up_value", S32),
    ("source_of_top_up", U8),
    ("credit_remaining", S32),
)
_TOP_UP = struct(
    "TopUpRecord",
    "A top-up log entry.",
    ("top_up_code", STRING),
    ("top_up_amount", S32),
    ("top_up_time", UTC),
)
PublishTopUpLog = _cmd(
    "PublishTopUpLog",
    "Prepayment 0x05.",
    ("command_index", U8),
    ("total_commands", U8),
    ("top_ups", Many(_TOP_UP)),
)
_DEBT = struct(
    "DebtRecord",
    "A debt repayment log entry.",
    ("collection_time", UTC),
    ("amount_collected", U32),
    ("debt_type", U8),
    ("outstanding_debt", U32),
)
PublishDebtLog = _cmd(
    "PublishDebtLog",
    "Prepayment 0x06.",
    ("command_index", U8),
    ("total_commands", U8),
    ("debts", Many(_DEBT)),
)

# Calendar (client to server)
_CALENDAR_ID = (("provider_id", U32), ("issuer_calendar_id", U32))
GetCalendar = _cmd(
    "GetCalendar",
    "Calendar 0x00.",
    ("earliest_start_time", UTC),
    ("min_issuer_event_id", U32),
    ("number_of_calendars", U8),
    ("calendar_type", U8),
    ("provider_id", U32),
)
GetDayProfiles = _cmd(
    "GetDayProfiles", "Calendar 0x01.", *_CALENDAR_ID, ("start_day_id", U8), ("number_of_days", U8)
)
GetWeekProfiles = _cmd(
    "GetWeekProfiles",
    "Calendar 0x02.",
    *_CALENDAR_ID,
    ("start_week_id", U8),
    ("number_of_weeks", U8),
)
GetSeasons = _cmd("GetSeasons", "Calendar 0x03.", *_CALENDAR_ID)
GetSpecialDays = _cmd(
    "GetSpecialDays",
    "Calendar 0x04.",
    ("start_time", UTC),
    ("number_of_events", U8),
    ("calendar_type", U8),
    *_CALENDAR_ID,
)
CancelCalendar = _cmd(
    "CancelCalendar", "Calendar 0x05 (server).", *_CALENDAR_ID, ("calendar_type", U8)
)

# Device Management (server to client)
PublishChangeOfTenancy = _cmd(
    "PublishChangeOfTenancy",
    "Device Management 0x00.",
    *_PROVIDER_EVENT,
    ("tariff_type", U8),
    ("implementation_date_time", UTC),
    ("proposed_tenancy_change_control", U32),
)
PublishChangeOfSupplier = _cmd(
    "PublishChangeOfSupplier",
    "Device Management 0x01.",
    ("current_provider_id", U32),
    ("issuer_event_id", U32),
    ("tariff_type", U8),
    ("proposed_provider_id", U32),
    ("provider_change_implementation_time", UTC),
    ("provider_change_control", U32),
    ("proposed_provider_name", STRING),
    ("proposed_provider_contact_details", STRING),
)
UpdateSiteId = _cmd(
    "UpdateSiteID",
    "Device Management 0x03.",
    ("issuer_event_id", U32),
    ("site_id_time", UTC),
    ("provider_id", U32),
    ("site_id", STRING),
)
_EVENT_PAYLOAD = {
    0: struct(
        "EventsByList",
        "Apply by list.",
        ("number_of_events", U8),
        ("event_ids", Many(U16, "number_of_events")),
    ),
    1: struct("EventsByGroup", "Apply by event group.", ("event_group_id", U16)),
    2: struct("EventsByLogType", "Apply by log type.", ("log_id", U8)),
    3: struct(
        "EventsByConfigurationMatch",
        "Apply by configuration match.",
        ("configuration_value_match", U8),
    ),
}
SetEventConfiguration = _cmd(
    "SetEventConfiguration",
    "Device Management 0x04.",
    ("issuer_event_id", U32),
    ("start_date_time", UTC),
    ("event_configuration", U8),
    ("configuration_control", U8),
    ("events", Switch("configuration_control", _EVENT_PAYLOAD)),  # type: ignore[arg-type]
)
GetEventConfiguration = _cmd(
    "GetEventConfiguration", "Device Management 0x05 (client).", ("event_id", U16)
)
UpdateCin = _cmd(
    "UpdateCIN",
    "Device Management 0x06.",
    ("issuer_event_id", U32),
    ("implementation_time", UTC),
    ("provider_id", U32),
    ("customer_id_number", STRING),
)

# Events
GetEventLog = _cmd(
    "GetEventLog",
    "Events 0x00.",
    ("event_control_log_id", U8),
    ("event_id", U16),
    ("start_time", UTC),
    ("end_time", UTC),
    ("number_of_events", U8),
    ("event_offset", U16),
)
ClearEventLogRequest = _cmd("ClearEventLogRequest", "Events 0x01 (client).", ("log_id", U8))
_EVENT = struct(
    "EventRecord",
    "A logged event.",
    ("log_id", U8),
    ("event_id", U16),
    ("event_time", UTC),
    ("event_data", STRING),
)
PublishEventLog = _cmd(
    "PublishEventLog",
    "Events 0x01.",
    ("total_matching_events", U16),
    ("command_index", U8),
    ("total_commands", U8),
    ("log_payload_control", U8),
    ("events", Many(_EVENT)),
)
ClearEventLogResponse = _cmd("ClearEventLogResponse", "Events 0x02.", ("cleared_logs", U8))

#: Client-to-server (False) and server-to-client (True) cluster-specific command layouts.
COMMANDS: dict[tuple[int, bool, int], Any] = {
    **{
        (PRICE, False, c): s
        for c, s in {
            0x00: GetCurrentPrice,
            0x01: GetScheduledPrices,
            0x06: GetTariffInformation,
            0x07: GetPriceMatrix,
            0x08: GetBlockThresholds,
            0x0A: GetTierLabels,
            0x0B: GetBillingPeriod,
        }.items()
    },
    **{
        (PRICE, True, c): s
        for c, s in {
            0x00: PublishPrice,
            0x01: PublishBlockPeriod,
            0x02: PublishConversionFactor,
            0x03: PublishCalorificValue,
            0x04: tariff.PublishTariffInformation,
            0x05: tariff.PublishPriceMatrix,
            0x06: tariff.PublishBlockThresholds,
            0x09: PublishBillingPeriod,
            0x0E: CancelTariff,
        }.items()
    },
    **{
        (METERING, False, c): s
        for c, s in {
            0x00: GetProfile,
            0x06: GetSnapshot,
            0x08: GetSampledData,
            0x0B: ChangeSupply,
            0x0D: SetSupplyStatus,
            0x0E: SetUncontrolledFlowThreshold,
        }.items()
    },
    **{
        (METERING, True, c): s
        for c, s in {
            0x00: GetProfileResponse,
            0x06: PublishSnapshot,
            0x07: GetSampledDataResponse,
            0x0C: SupplyStatusResponse,
        }.items()
    },
    (MESSAGING, True, 0x00): DisplayMessage,
    (MESSAGING, True, 0x01): CancelMessage,
    **{
        (PREPAYMENT, False, c): s
        for c, s in {
            0x00: SelectAvailableEmergencyCredit,
            0x02: ChangeDebt,
            0x03: EmergencyCreditSetup,
            0x04: ConsumerTopUp,
            0x05: CreditAdjustment,
            0x06: ChangePaymentMode,
            0x07: GetPrepaySnapshot,
            0x08: GetTopUpLog,
            0x09: SetLowCreditWarningLevel,
            0x0A: GetDebtRepaymentLog,
            0x0B: SetMaximumCreditLimit,
            0x0C: SetOverallDebtCap,
        }.items()
    },
    **{
        (PREPAYMENT, True, c): s
        for c, s in {
            0x01: PublishPrepaySnapshot,
            0x02: ChangePaymentModeResponse,
            0x03: ConsumerTopUpResponse,
            0x05: PublishTopUpLog,
            0x06: PublishDebtLog,
        }.items()
    },
    **{
        (CALENDAR, False, c): s
        for c, s in {
            0x00: GetCalendar,
            0x01: GetDayProfiles,
            0x02: GetWeekProfiles,
            0x03: GetSeasons,
            0x04: GetSpecialDays,
        }.items()
    },
    **{
        (CALENDAR, True, c): s
        for c, s in {
            0x00: tariff.PublishCalendar,
            0x01: tariff.PublishDayProfile,
            0x02: tariff.PublishWeekProfile,
            0x03: tariff.PublishSeasons,
            0x04: tariff.PublishSpecialDays,
            0x05: CancelCalendar,
        }.items()
    },
    **{
        (DEVICE_MANAGEMENT, True, c): s
        for c, s in {
            0x00: PublishChangeOfTenancy,
            0x01: PublishChangeOfSupplier,
            0x03: UpdateSiteId,
            0x04: SetEventConfiguration,
            0x06: UpdateCin,
        }.items()
    },
    (DEVICE_MANAGEMENT, False, 0x05): GetEventConfiguration,
    (EVENTS, False, 0x00): GetEventLog,
    (EVENTS, False, 0x01): ClearEventLogRequest,
    (EVENTS, True, 0x01): PublishEventLog,
    (EVENTS, True, 0x02): ClearEventLogResponse,
}


def cluster_name(cluster: int) -> str:
    """The cluster's ZCL name, or its id in hex."""
    return CLUSTER_NAMES.get(cluster, f"cluster 0x{cluster:04X}")


def attribute_name(cluster: int, attribute: int) -> str:
    """The attribute's ZSE name, or its id in hex."""
    return ATTRIBUTE_NAMES.get(cluster, {}).get(attribute, f"attribute 0x{attribute:04X}")


def cluster_id(name: str) -> int:
    """The id of the cluster named ``name`` (``"Metering"``); ValueError if none."""
    ids = [c for c, n in CLUSTER_NAMES.items() if n == name]
    if not ids:
        raise ValueError(f"no ZCL cluster named {name!r}")
    return ids[0]


def attribute_id(cluster: int, name: str) -> int:
    """The id of ``cluster``'s attribute named ``name``; ValueError if none."""
    ids = [a for a, n in ATTRIBUTE_NAMES.get(cluster, {}).items() if n == name]
    if not ids:
        raise ValueError(f"no attribute {name!r} in {cluster_name(cluster)}")
    return ids[0]
