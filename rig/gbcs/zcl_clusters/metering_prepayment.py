"""SE 1.2a Metering and Prepayment cluster commands (ZSE Metering and Prepayment chapters), each
described once. The snapshot payload of Publish (Prepay) Snapshot is kept as bytes (its layout
depends on the snapshot payload type).
"""

from __future__ import annotations

from typing import Any

from rig.gbcs.zcl import (
    REST,
    S32,
    STRING,
    U8,
    U16,
    U24,
    U32,
    UTC,
    Many,
    struct,
)
from rig.gbcs.zcl_clusters.common import (
    IMPLEMENTATION,
    ISSUER,
    METERING,
    PREPAYMENT,
    PROVIDER_EVENT,
)

# Metering
GetProfile = struct(
    "GetProfile",
    "Metering 0x00.",
    ("interval_channel", U8),
    ("end_time", UTC),
    ("number_of_periods", U8),
)
GetSnapshot = struct(
    "GetSnapshot",
    "Metering 0x06.",
    ("earliest_start_time", UTC),
    ("latest_end_time", UTC),
    ("snapshot_offset", U8),
    ("snapshot_cause", U32),
)
GetSampledData = struct(
    "GetSampledData",
    "Metering 0x08.",
    ("sample_id", U16),
    ("earliest_sample_time", UTC),
    ("sample_type", U8),
    ("number_of_samples", U16),
)
ChangeSupply = struct(
    "ChangeSupply",
    "Metering 0x0B.",
    *PROVIDER_EVENT,
    ("request_date_time", UTC),
    ("implementation_date_time", UTC),
    ("proposed_supply_status", U8),
    ("supply_control_bits", U8),
)
SetSupplyStatus = struct(
    "SetSupplyStatus",
    "Metering 0x0D.",
    ("issuer_event_id", U32),
    ("supply_tamper_state", U8),
    ("supply_depletion_state", U8),
    ("supply_uncontrolled_flow_state", U8),
    ("load_limit_supply_state", U8),
)
SetUncontrolledFlowThreshold = struct(
    "SetUncontrolledFlowThreshold",
    "Metering 0x0E.",
    *PROVIDER_EVENT,
    ("uncontrolled_flow_threshold", U16),
    ("unit_of_measure", U8),
    ("multiplier", U16),
    ("divisor", U16),
    ("stabilisation_period", U8),
    ("measurement_period", U16),
)
GetProfileResponse = struct(
    "GetProfileResponse",
    "Metering 0x00.",
    ("end_time", UTC),
    ("status", U8),
    ("profile_interval_period", U8),
    ("number_of_periods_delivered", U8),
    ("intervals", Many(U24)),
)
PublishSnapshot = struct(
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
GetSampledDataResponse = struct(
    "GetSampledDataResponse",
    "Metering 0x07.",
    ("sample_id", U16),
    ("sample_start_time", UTC),
    ("sample_type", U8),
    ("sample_request_interval", U16),
    ("number_of_samples", U16),
    ("samples", Many(U24)),
)
SupplyStatusResponse = struct(
    "SupplyStatusResponse",
    "Metering 0x0C.",
    *PROVIDER_EVENT,
    ("implementation_date_time", UTC),
    ("supply_status", U8),
)

# Prepayment
SelectAvailableEmergencyCredit = struct(
    "SelectAvailableEmergencyCredit",
    "Prepayment 0x00.",
    ("command_issue_date_time", UTC),
    ("originating_device", U8),
)
ChangeDebt = struct(
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
EmergencyCreditSetup = struct(
    "EmergencyCreditSetup",
    "Prepayment 0x03.",
    *ISSUER,
    ("emergency_credit_limit", U32),
    ("emergency_credit_threshold", U32),
)
ConsumerTopUp = struct(
    "ConsumerTopUp", "Prepayment 0x04.", ("originating_device", U8), ("top_up_code", STRING)
)
CreditAdjustment = struct(
    "CreditAdjustment",
    "Prepayment 0x05.",
    *ISSUER,
    ("credit_adjustment_type", U8),
    ("credit_adjustment_value", S32),
)
ChangePaymentMode = struct(
    "ChangePaymentMode",
    "Prepayment 0x06.",
    *IMPLEMENTATION,
    ("proposed_payment_control_configuration", U16),
    ("cut_off_value", S32),
)
GetPrepaySnapshot = struct(
    "GetPrepaySnapshot",
    "Prepayment 0x07.",
    ("earliest_start_time", UTC),
    ("latest_end_time", UTC),
    ("snapshot_offset", U8),
    ("snapshot_cause", U32),
)
GetTopUpLog = struct(
    "GetTopUpLog", "Prepayment 0x08.", ("latest_end_time", UTC), ("number_of_records", U8)
)
SetLowCreditWarningLevel = struct(
    "SetLowCreditWarningLevel", "Prepayment 0x09.", ("low_credit_warning_level", U32)
)
GetDebtRepaymentLog = struct(
    "GetDebtRepaymentLog",
    "Prepayment 0x0A.",
    ("latest_end_time", UTC),
    ("number_of_debts", U8),
    ("debt_type", U8),
)
SetMaximumCreditLimit = struct(
    "SetMaximumCreditLimit",
    "Prepayment 0x0B.",
    *IMPLEMENTATION,
    ("maximum_credit_level", U32),
    ("maximum_credit_per_top_up", U32),
)
SetOverallDebtCap = struct(
    "SetOverallDebtCap", "Prepayment 0x0C.", *IMPLEMENTATION, ("overall_debt_cap", S32)
)
PublishPrepaySnapshot = struct(
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
ChangePaymentModeResponse = struct(
    "ChangePaymentModeResponse",
    "Prepayment 0x02.",
    ("friendly_credit", U8),
    ("friendly_credit_calendar_id", U32),
    ("emergency_credit_limit", U32),
    ("emergency_credit_threshold", U32),
)
ConsumerTopUpResponse = struct(
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
PublishTopUpLog = struct(
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
PublishDebtLog = struct(
    "PublishDebtLog",
    "Prepayment 0x06.",
    ("command_index", U8),
    ("total_commands", U8),
    ("debts", Many(_DEBT)),
)


#: Client-to-server (False) and server-to-client (True) command layouts of these clusters.
COMMANDS: dict[tuple[int, bool, int], Any] = {
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
}
