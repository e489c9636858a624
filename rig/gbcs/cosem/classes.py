"""COSEM interface classes GBCS uses: names, attributes and methods with their data schemas.

Class ids, attribute and method names and their data types follow the DLMS UA Blue Book
(IEC 62056-6-2); the classes are those the GBCS use cases address (reference/gbcs.md §1.6-1.7,
every ACCESS-Request of the RTDS 4.5.0 vectors). Class 9000 is GBCS's own (0-0:94.44.x objects);
its members keep their numbers. OBIS names follow the value groups of IEC 62056-6-1 and are given
only where the group fixes the object; any other logical name is shown as its code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rig.gbcs.cosem.schema import (
    ANY,
    BITS,
    BOOLEAN,
    DATE,
    DATE_TIME,
    DOUBLE_LONG,
    DOUBLE_LONG_UNSIGNED,
    ENUM,
    INTEGER,
    LONG,
    LONG_UNSIGNED,
    OBIS,
    OCTETS,
    TIME,
    UNSIGNED,
    ArrayOf,
    Obis,
    Schema,
    Struct,
)


@dataclass(frozen=True)
class CosemClass:
    """An interface class: its name, and (name, data schema) per attribute and per method."""

    name: str
    attributes: dict[int, tuple[str, Schema]] = field(default_factory=dict)
    methods: dict[int, tuple[str, Schema]] = field(default_factory=dict)


# Structures that recur across classes and use cases, described once (Blue Book).
SCALER_UNIT = Struct("ScalerUnit", scaler=INTEGER, unit=ENUM)
SCRIPT = Struct("ScriptReference", script_logical_name=OBIS, script_selector=LONG_UNSIGNED)
SEASON = Struct("Season", season_profile_name=OCTETS, season_start=DATE_TIME, week_name=OCTETS)
WEEK_PROFILE = Struct(
    "WeekProfile",
    week_profile_name=OCTETS,
    monday=UNSIGNED,
    tuesday=UNSIGNED,
    wednesday=UNSIGNED,
    thursday=UNSIGNED,
    friday=UNSIGNED,
    saturday=UNSIGNED,
    sunday=UNSIGNED,
)
DAY_ACTION = Struct(
    "DayProfileAction", start_time=TIME, script_logical_name=OBIS, script_selector=LONG_UNSIGNED
)
DAY_PROFILE = Struct("DayProfile", day_id=UNSIGNED, day_schedule=ArrayOf(DAY_ACTION))
SPECIAL_DAY = Struct("SpecialDay", index=LONG_UNSIGNED, specialday_date=DATE, day_id=UNSIGNED)
SCHEDULE_ENTRY = Struct(
    "ScheduleEntry",
    index=LONG_UNSIGNED,
    enable=BOOLEAN,
    script_logical_name=OBIS,
    script_selector=LONG_UNSIGNED,
    switch_time=TIME,
    validity_window=LONG_UNSIGNED,
    exec_weekdays=BITS,
    exec_specdays=BITS,
    begin_date=DATE,
    end_date=DATE,
)
EXECUTION_TIME = Struct("ExecutionTime", time=TIME, date=DATE)
CAPTURE_OBJECT = Struct(
    "CaptureObject",
    class_id=LONG_UNSIGNED,
    logical_name=OBIS,
    attribute_index=INTEGER,
    data_index=LONG_UNSIGNED,
)
UNIT_CHARGE = Struct(
    "UnitCharge",
    charge_per_unit_scaling=Struct("ChargeScaling", commodity_scale=INTEGER, price_scale=INTEGER),
    commodity=Struct(
        "CommodityReference", class_id=LONG_UNSIGNED, logical_name=OBIS, attribute_index=INTEGER
    ),
    charge_tables=ArrayOf(Struct("ChargeTableElement", index=OCTETS, charge_per_unit=LONG)),
)
CREDIT_CHARGE = Struct(
    "CreditChargeConfiguration",
    credit_reference=OBIS,
    charge_reference=OBIS,
    collection_configuration=BITS,
)
ACCOUNT_MODE = Struct("AccountModeAndStatus", account_mode=ENUM, account_status=ENUM)
PROTECTION_PARAMETER = Struct(
    "ProtectionParameter",
    protection_type=ENUM,
    protection_options=Struct(
        "ProtectionOptions",
        transaction_id=OCTETS,
        originator_system_title=OCTETS,
        recipient_system_title=OCTETS,
        other_information=OCTETS,
        key_info=ANY,
    ),
)
PROTECTED_ATTRIBUTES = Struct(
    "GetProtectedAttributes",
    object_list=ArrayOf(
        Struct(
            "ProtectedObject",
            class_id=LONG_UNSIGNED,
            logical_name=OBIS,
            attribute_index=INTEGER,
            data_index=LONG_UNSIGNED,
            restriction=ANY,
        )
    ),
    protection_parameters=ArrayOf(PROTECTION_PARAMETER),
)
HAN_DEVICE = Struct(
    "HanDeviceEntry", mac_address=OCTETS, device_type=ENUM, install_code=OCTETS, option=ENUM
)
_LN: tuple[str, Schema] = ("logical_name", OBIS)
_VALUE = ("value", ANY)
_RESET: dict[int, tuple[str, Schema]] = {1: ("reset", INTEGER)}


def _attributes(*names: tuple[str, Schema]) -> dict[int, tuple[str, Schema]]:
    """Attribute 1 logical_name, then ``names`` from attribute 2."""
    return {i: name for i, name in enumerate((_LN, *names), start=1)}


CLASSES: dict[int, CosemClass] = {
    1: CosemClass("Data", _attributes(_VALUE)),
    3: CosemClass("Register", _attributes(_VALUE, ("scaler_unit", SCALER_UNIT)), _RESET),
    4: CosemClass(
        "Extended register",
        _attributes(
            _VALUE, ("scaler_unit", SCALER_UNIT), ("status", ANY), ("capture_time", DATE_TIME)
        ),
        _RESET,
    ),
    7: CosemClass(
        "Profile generic",
        _attributes(
            ("buffer", ANY),
            ("capture_objects", ArrayOf(CAPTURE_OBJECT)),
            ("capture_period", DOUBLE_LONG_UNSIGNED),
            ("sort_method", ENUM),
            ("sort_object", CAPTURE_OBJECT),
            ("entries_in_use", DOUBLE_LONG_UNSIGNED),
            ("profile_entries", DOUBLE_LONG_UNSIGNED),
        ),
        {1: ("reset", INTEGER), 2: ("capture", INTEGER)},
    ),
    8: CosemClass(
        "Clock",
        _attributes(
            ("time", DATE_TIME),
            ("time_zone", LONG),
            ("status", UNSIGNED),
            ("daylight_savings_begin", DATE_TIME),
            ("daylight_savings_end", DATE_TIME),
            ("daylight_savings_deviation", INTEGER),
            ("daylight_savings_enabled", BOOLEAN),
            ("clock_base", ENUM),
        ),
    ),
    9: CosemClass("Script table", _attributes(("scripts", ANY)), {1: ("execute", LONG_UNSIGNED)}),
    10: CosemClass("Schedule", _attributes(("entries", ArrayOf(SCHEDULE_ENTRY)))),
    11: CosemClass("Special days table", _attributes(("entries", ArrayOf(SPECIAL_DAY)))),
    20: CosemClass(
        "Activity calendar",
        _attributes(
            ("calendar_name_active", OCTETS),
            ("season_profile_active", ArrayOf(SEASON)),
            ("week_profile_table_active", ArrayOf(WEEK_PROFILE)),
            ("day_profile_table_active", ArrayOf(DAY_PROFILE)),
            ("calendar_name_passive", OCTETS),
            ("season_profile_passive", ArrayOf(SEASON)),
            ("week_profile_table_passive", ArrayOf(WEEK_PROFILE)),
            ("day_profile_table_passive", ArrayOf(DAY_PROFILE)),
            ("activate_passive_calendar_time", DATE_TIME),
        ),
        {1: ("activate_passive_calendar", INTEGER)},
    ),
    21: CosemClass(
        "Register monitor",
        _attributes(("thresholds", ArrayOf(ANY)), ("monitored_value", ANY), ("actions", ANY)),
    ),
    22: CosemClass(
        "Single action schedule",
        _attributes(
            ("executed_script", SCRIPT), ("type", ENUM), ("execution_time", ArrayOf(EXECUTION_TIME))
        ),
    ),
    30: CosemClass(
        "Data protection",
        _attributes(
            ("protection_buffer", ANY),
            ("protection_object_list", ANY),
            ("protection_parameters_get", ArrayOf(PROTECTION_PARAMETER)),
            ("protection_parameters_set", ArrayOf(PROTECTION_PARAMETER)),
            ("required_protection", ENUM),
        ),
        {
            1: ("get_protected_attributes", PROTECTED_ATTRIBUTES),
            2: ("set_protected_attributes", ANY),
            3: ("invoke_protected_method", ANY),
        },
    ),
    63: CosemClass("Status mapping", _attributes(("status_word", ANY), ("mapping_table", ANY))),
    64: CosemClass(
        "Security setup",
        _attributes(
            ("security_policy", ENUM),
            ("security_suite", ENUM),
            ("client_system_title", OCTETS),
            ("server_system_title", OCTETS),
            ("certificates", ANY),
        ),
    ),
    70: CosemClass(
        "Disconnect control",
        _attributes(("output_state", BOOLEAN), ("control_state", ENUM), ("control_mode", ENUM)),
        {1: ("remote_disconnect", INTEGER), 2: ("remote_reconnect", INTEGER)},
    ),
    71: CosemClass(
        "Limiter",
        _attributes(
            ("monitored_value", ANY),
            ("threshold_active", ANY),
            ("threshold_normal", ANY),
            ("threshold_emergency", ANY),
            ("min_over_threshold_duration", DOUBLE_LONG_UNSIGNED),
            ("min_under_threshold_duration", DOUBLE_LONG_UNSIGNED),
            ("emergency_profile", ANY),
            ("emergency_profile_group_id_list", ANY),
            ("emergency_profile_active", BOOLEAN),
            ("actions", ANY),
        ),
    ),
    104: CosemClass(
        "ZigBee network control",
        _attributes(
            ("enable_disable_joining", BOOLEAN),
            ("join_timeout", LONG_UNSIGNED),
            ("active_devices", ANY),
        ),
        {1: ("register_device", HAN_DEVICE), 2: ("unregister_device", OCTETS)},
    ),
    111: CosemClass(
        "Account",
        _attributes(
            ("account_mode_and_status", ACCOUNT_MODE),
            ("current_credit_in_use", UNSIGNED),
            ("current_credit_status", BITS),
            ("available_credit", DOUBLE_LONG),
            ("amount_to_clear", DOUBLE_LONG),
            ("clearance_threshold", DOUBLE_LONG),
            ("aggregated_debt", DOUBLE_LONG),
            ("credit_reference_list", ArrayOf(OBIS)),
            ("charge_reference_list", ArrayOf(OBIS)),
            ("credit_charge_configuration", ArrayOf(CREDIT_CHARGE)),
            ("token_gateway_configuration", ANY),
            ("account_activation_time", DATE_TIME),
            ("account_closure_time", DATE_TIME),
            ("currency", ANY),
            ("low_credit_threshold", DOUBLE_LONG),
            ("next_credit_available_threshold", DOUBLE_LONG),
            ("max_provision", LONG_UNSIGNED),
            ("max_provision_period", DOUBLE_LONG_UNSIGNED),
        ),
        {
            1: ("activate_account", INTEGER),
            2: ("close_account", INTEGER),
            3: ("reset_account", INTEGER),
        },
    ),
    112: CosemClass(
        "Credit",
        _attributes(
            ("current_credit_amount", DOUBLE_LONG),
            ("type", ENUM),
            ("priority", UNSIGNED),
            ("warning_threshold", DOUBLE_LONG),
            ("limit", DOUBLE_LONG),
            ("credit_configuration", BITS),
            ("status", ENUM),
            ("preset_credit_amount", DOUBLE_LONG),
            ("credit_available_threshold", DOUBLE_LONG),
            ("period", DATE_TIME),
        ),
        {
            1: ("update_amount", DOUBLE_LONG),
            2: ("set_amount_to_value", DOUBLE_LONG),
            3: ("invoke_credit", ENUM),
        },
    ),
    113: CosemClass(
        "Charge",
        _attributes(
            ("total_amount_paid", DOUBLE_LONG),
            ("charge_type", ENUM),
            ("priority", UNSIGNED),
            ("unit_charge_active", UNIT_CHARGE),
            ("unit_charge_passive", UNIT_CHARGE),
            ("unit_charge_activation_time", DATE_TIME),
            ("period", DOUBLE_LONG_UNSIGNED),
            ("charge_configuration", BITS),
            ("last_collection_time", DATE_TIME),
            ("last_collection_amount", DOUBLE_LONG),
            ("total_amount_remaining", DOUBLE_LONG),
            ("proportion", LONG_UNSIGNED),
        ),
        {
            1: ("update_unit_charge", ANY),
            2: ("activate_passive_unit_charge", INTEGER),
            3: ("collect", INTEGER),
            4: ("update_total_amount_remaining", DOUBLE_LONG),
            5: ("set_total_amount_remaining", DOUBLE_LONG),
        },
    ),
    115: CosemClass(
        "Token gateway",
        _attributes(
            ("token", OCTETS),
            ("token_time", DATE_TIME),
            ("token_description", ANY),
            ("token_delivery_method", ENUM),
            ("token_status", ANY),
        ),
        {1: ("enter", OCTETS)},
    ),
}

#: Logical names fixed by their OBIS value groups (IEC 62056-6-1), by C.D; the code shown beside
#: the name gives the channel (B) and instance (E).
_BY_CD: dict[tuple[int, int], str] = {
    (11, 0): "special days table",
    (12, 0): "schedule",
    (13, 0): "activity calendar",
    (15, 0): "single action schedule",
    (16, 1): "register monitor",
    (17, 0): "limiter",
    (19, 0): "account",
    (19, 10): "credit",
    (19, 20): "charge",
    (19, 40): "token gateway",
    (30, 3): "ZigBee network control",
    (43, 2): "data protection",
    (96, 1): "device ID",
    (99, 98): "event log",
}
#: Logical names fixed by C.D.E.
_BY_CDE: dict[tuple[int, int, int], str] = {
    (10, 0, 100): "tariffication script table",
    (10, 0, 106): "disconnector script table",
    (96, 3, 10): "disconnect control",
}
_ENERGY = {
    (1, 8): "active energy import (+A)",
    (2, 8): "active energy export (-A)",
    (1, 6): "maximum demand active import (+A)",
    (2, 6): "maximum demand active export (-A)",
}
_ABSTRACT, _ELECTRICITY = 0, 1


def object_name(obis: bytes) -> str | None:
    """The COSEM object name of a logical name where its OBIS groups fix it, else None."""
    if len(obis) != 6:
        return None
    a, _, c, d, e, _ = obis
    if a == _ABSTRACT:
        return _BY_CDE.get((c, d, e), _BY_CD.get((c, d)))
    if a == _ELECTRICITY and (c, d) in _ENERGY:
        return _ENERGY[c, d] + (f" rate {e}" if e else "")
    return None


def describe(obis: bytes) -> str:
    """``name (A-B:C.D.E.F)`` or the bare code."""
    code = str(Obis(obis)) if len(obis) == 6 else obis.hex()
    name = object_name(obis)
    return code if name is None else f"{name} ({code})"


def class_name(class_id: int) -> str:
    """The interface class name, or ``class <id>``."""
    known = CLASSES.get(class_id)
    return f"class {class_id}" if known is None else known.name


def member(class_id: int, index: int, method: bool) -> tuple[str, Schema]:
    """(name, data schema) of an attribute or method; unknown ones are ``attribute_<n>`` /
    ``method_<n>`` with data of any type."""
    known = CLASSES.get(class_id)
    table = {} if known is None else known.methods if method else known.attributes
    return table.get(index, (f"{'method' if method else 'attribute'}_{index}", ANY))


#: Data-Access-Result and Action-Result names (IEC 62056-5-3); the two share these values.
RESULTS: dict[int, str] = {
    0: "success",
    1: "hardware-fault",
    2: "temporary-failure",
    3: "read-write-denied",
    4: "object-undefined",
    9: "object-class-inconsistent",
    11: "object-unavailable",
    12: "type-unmatched",
    13: "scope-of-access-violated",
    14: "data-block-unavailable",
    15: "long-operation-aborted",
    16: "no-long-operation-in-progress",
    250: "other-reason",
}
