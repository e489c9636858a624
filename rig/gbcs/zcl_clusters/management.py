"""SE 1.2a Messaging, Device Management and Events cluster commands (ZSE chapters of those
clusters), each described once.
"""

from __future__ import annotations

from typing import Any

from rig.gbcs.zcl import (
    STRING,
    U8,
    U16,
    U32,
    UTC,
    Many,
    Opt,
    Switch,
    struct,
)
from rig.gbcs.zcl_clusters.common import (
    DEVICE_MANAGEMENT,
    EVENTS,
    MESSAGING,
    PROVIDER_EVENT,
)

# Messaging
DisplayMessage = struct(
    "DisplayMessage",
    "Messaging 0x00.",
    ("message_id", U32),
    ("message_control", U8),
    ("start_time", UTC),
    ("duration_in_minutes", U16),
    ("message", STRING),
    ("extended_message_control", Opt(U8)),
)
CancelMessage = struct(
    "CancelMessage", "Messaging 0x01.", ("message_id", U32), ("message_control", U8)
)

# Device Management (server to client)
PublishChangeOfTenancy = struct(
    "PublishChangeOfTenancy",
    "Device Management 0x00.",
    *PROVIDER_EVENT,
    ("tariff_type", U8),
    ("implementation_date_time", UTC),
    ("proposed_tenancy_change_control", U32),
)
PublishChangeOfSupplier = struct(
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
UpdateSiteId = struct(
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
SetEventConfiguration = struct(
    "SetEventConfiguration",
    "Device Management 0x04.",
    ("issuer_event_id", U32),
    ("start_date_time", UTC),
    ("event_configuration", U8),
    ("configuration_control", U8),
    ("events", Switch("configuration_control", _EVENT_PAYLOAD)),  # type: ignore[arg-type]
)
GetEventConfiguration = struct(
    "GetEventConfiguration", "Device Management 0x05 (client).", ("event_id", U16)
)
UpdateCin = struct(
    "UpdateCIN",
    "Device Management 0x06.",
    ("issuer_event_id", U32),
    ("implementation_time", UTC),
    ("provider_id", U32),
    ("customer_id_number", STRING),
)

# Events
GetEventLog = struct(
    "GetEventLog",
    "Events 0x00.",
    ("event_control_log_id", U8),
    ("event_id", U16),
    ("start_time", UTC),
    ("end_time", UTC),
    ("number_of_events", U8),
    ("event_offset", U16),
)
ClearEventLogRequest = struct("ClearEventLogRequest", "Events 0x01 (client).", ("log_id", U8))
_EVENT = struct(
    "EventRecord",
    "A logged event.",
    ("log_id", U8),
    ("event_id", U16),
    ("event_time", UTC),
    ("event_data", STRING),
)
PublishEventLog = struct(
    "PublishEventLog",
    "Events 0x01.",
    ("total_matching_events", U16),
    ("command_index", U8),
    ("total_commands", U8),
    ("log_payload_control", U8),
    ("events", Many(_EVENT)),
)
ClearEventLogResponse = struct("ClearEventLogResponse", "Events 0x02.", ("cleared_logs", U8))


#: Client-to-server (False) and server-to-client (True) command layouts of these clusters.
COMMANDS: dict[tuple[int, bool, int], Any] = {
    **{
        (MESSAGING, True, c): s
        for c, s in {
            0x00: DisplayMessage,
            0x01: CancelMessage,
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
    **{
        (DEVICE_MANAGEMENT, False, c): s
        for c, s in {
            0x05: GetEventConfiguration,
        }.items()
    },
    **{
        (EVENTS, False, c): s
        for c, s in {
            0x00: GetEventLog,
            0x01: ClearEventLogRequest,
        }.items()
    },
    **{
        (EVENTS, True, c): s
        for c, s in {
            0x01: PublishEventLog,
            0x02: ClearEventLogResponse,
        }.items()
    },
}
