"""ZCL / ZigBee SE 1.2a cluster ids and names, the attribute names the use cases read (ZSE
attribute tables), and the field groups several clusters' commands share (reference/gbcs.md
§1.6-1.7; ZSE 1.2a (SE 1.4 numbering) cluster chapters)."""

from __future__ import annotations

from rig.gbcs.zcl import U32, UTC

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

#: The Price cluster's numbered attribute families (ZSE Price: Tier Label set 0x0000, Block
#: Threshold set 0x0100, Block Price Information set 0x0400: NoTierBlockNPrice then
#: TierTBlockNPrice at 0x0400 + 16 T + N - 1).
_PRICE_FAMILIES: dict[int, str] = {
    **{0x0000 + n: f"Tier{n + 1}PriceLabel" for n in range(15)},
    **{0x0100 + n: f"Block{n + 1}Threshold" for n in range(15)},
    **{
        0x0400 + 16 * tier + n: f"{f'Tier{tier}' if tier else 'NoTier'}Block{n + 1}Price"
        for tier in range(16)
        for n in range(16)
    },
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
        0x0607: "SupplyTamperState",
        0x0608: "SupplyDepletionState",
        0x0609: "SupplyUncontrolledFlowState",
        0x0A00: "BillToDateDelivered",
        0x0A01: "BillToDateTimeStampDelivered",
        0x0B10: "UncontrolledFlowThreshold",
        0x0B11: "UncontrolledFlowThresholdUnitOfMeasure",
        0x0B12: "UncontrolledFlowMultiplier",
        0x0B13: "UncontrolledFlowDivisor",
        0x0B14: "FlowStabilisationPeriod",
        0x0B15: "FlowMeasurementPeriod",
    },
    PRICE: {
        **_PRICE_FAMILIES,
        0x0200: "StartOfBlockPeriod",
        0x0201: "BlockPeriodDuration",
        0x0202: "ThresholdMultiplier",
        0x0203: "ThresholdDivisor",
        0x0300: "CommodityType",
        0x0301: "StandingCharge",
        0x0302: "ConversionFactor",
        0x0303: "ConversionFactorTrailingDigit",
        0x0304: "CalorificValue",
        0x0305: "CalorificValueUnit",
        0x0306: "CalorificValueTrailingDigit",
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

#: Field groups shared by the cluster commands of several families.
PROVIDER_EVENT = (("provider_id", U32), ("issuer_event_id", U32))
ISSUER = (("issuer_event_id", U32), ("start_time", UTC))
IMPLEMENTATION = (*PROVIDER_EVENT, ("implementation_date_time", UTC))


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
