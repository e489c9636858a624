"""SE 1.2a Price and Calendar cluster commands (ZSE Price and Calendar chapters), each described
once; the tariff publish commands are :mod:`rig.gbcs.gsme_tariff`'s, reused here.
"""

from __future__ import annotations

from typing import Any

from rig.gbcs import gsme_tariff as tariff
from rig.gbcs.zcl import (
    STRING,
    U8,
    U16,
    U24,
    U32,
    UTC,
    Opt,
    struct,
)
from rig.gbcs.zcl_clusters.common import (
    CALENDAR,
    ISSUER,
    PRICE,
    PROVIDER_EVENT,
)

# Price (client to server, then server to client)
GetCurrentPrice = struct("GetCurrentPrice", "Price 0x00.", ("command_options", U8))
GetScheduledPrices = struct(
    "GetScheduledPrices", "Price 0x01.", ("start_time", UTC), ("number_of_events", U8)
)
GetTariffInformation = struct(
    "GetTariffInformation",
    "Price 0x06.",
    ("earliest_start_time", UTC),
    ("min_issuer_event_id", U32),
    ("number_of_commands", U8),
    ("tariff_type", U8),
)
_BY_TARIFF = (("issuer_tariff_id", U32),)
GetPriceMatrix = struct("GetPriceMatrix", "Price 0x07.", *_BY_TARIFF)
GetBlockThresholds = struct("GetBlockThresholds", "Price 0x08.", *_BY_TARIFF)
GetTierLabels = struct("GetTierLabels", "Price 0x0A.", *_BY_TARIFF)
GetBillingPeriod = struct(
    "GetBillingPeriod",
    "Price 0x0B.",
    ("earliest_start_time", UTC),
    ("min_issuer_event_id", U32),
    ("number_of_commands", U8),
    ("tariff_type", U8),
)
PublishPrice = struct(
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
PublishBlockPeriod = struct(
    "PublishBlockPeriod",
    "Price 0x01.",
    *PROVIDER_EVENT,
    ("block_period_start_time", UTC),
    ("block_period_duration", U24),
    ("block_period_control", U8),
    ("block_period_duration_type", U8),
    ("tariff_type", U8),
    ("tariff_resolution_period", U8),
)
PublishConversionFactor = struct(
    "PublishConversionFactor",
    "Price 0x02.",
    *ISSUER,
    ("conversion_factor", U32),
    ("conversion_factor_trailing_digit", U8),
)
PublishCalorificValue = struct(
    "PublishCalorificValue",
    "Price 0x03.",
    *ISSUER,
    ("calorific_value", U32),
    ("calorific_value_unit", U8),
    ("calorific_value_trailing_digit", U8),
)
PublishBillingPeriod = struct(
    "PublishBillingPeriod",
    "Price 0x09.",
    *PROVIDER_EVENT,
    ("billing_period_start_time", UTC),
    ("billing_period_duration", U24),
    ("billing_period_duration_type", U8),
    ("tariff_type", U8),
)
CancelTariff = struct(
    "CancelTariff",
    "Price 0x0E.",
    ("provider_id", U32),
    ("issuer_tariff_id", U32),
    ("tariff_type", U8),
)

# Calendar (client to server)
_CALENDAR_ID = (("provider_id", U32), ("issuer_calendar_id", U32))
GetCalendar = struct(
    "GetCalendar",
    "Calendar 0x00.",
    ("earliest_start_time", UTC),
    ("min_issuer_event_id", U32),
    ("number_of_calendars", U8),
    ("calendar_type", U8),
    ("provider_id", U32),
)
GetDayProfiles = struct(
    "GetDayProfiles", "Calendar 0x01.", *_CALENDAR_ID, ("start_day_id", U8), ("number_of_days", U8)
)
GetWeekProfiles = struct(
    "GetWeekProfiles",
    "Calendar 0x02.",
    *_CALENDAR_ID,
    ("start_week_id", U8),
    ("number_of_weeks", U8),
)
GetSeasons = struct("GetSeasons", "Calendar 0x03.", *_CALENDAR_ID)
GetSpecialDays = struct(
    "GetSpecialDays",
    "Calendar 0x04.",
    ("start_time", UTC),
    ("number_of_events", U8),
    ("calendar_type", U8),
    *_CALENDAR_ID,
)
CancelCalendar = struct(
    "CancelCalendar", "Calendar 0x05 (server).", *_CALENDAR_ID, ("calendar_type", U8)
)


#: Client-to-server (False) and server-to-client (True) command layouts of these clusters.
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
}
