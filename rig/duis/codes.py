"""Response codes: the DUIS ones in the reference, and the rig's own (reference/domain.md §7.4).

:class:`ResponseCode` holds only the codes whose meaning the reference confirms. Where the
reference names no code for a refusal (malformed XML, schema violation, bad signature, replayed
counter, the seed-002 rules, ...), the rig answers with a :class:`RigCode`: every value starts
with ``RIG-`` so it can never be taken for a real DUIS code, and it never appears in a DUIS
``ResponseCode`` element.
"""

from __future__ import annotations

from enum import StrEnum


class ResponseCode(StrEnum):
    """DUIS response codes confirmed in domain.md §7.4 (all are in the DUIS 5.4 schema but E30)."""

    SUCCESS = "I0"
    ACKNOWLEDGEMENT = "I99"
    INVALID_USER = "E1"
    INVALID_ROLE_FOR_SRV = "E2"
    INVALID_USER_STATUS = "E3"
    INVALID_USER_FOR_DEVICE = "E4"
    INVALID_DEVICE_STATUS = "E5"
    INVALID_SRV_DEVICE_TYPE = "E11"
    INVALID_COMMAND_VARIANT = "E12"
    INVALID_REQUEST_TYPE_FOR_URL = "E13"
    NOT_AVAILABLE_FOR_LOCAL_COMMAND = "E17"
    DEVICE_UNKNOWN = "E19"
    UNABLE_TO_COMMUNICATE = "E20"
    NO_RESPONSE_FROM_DEVICE = "E21"
    FUTURE_DATED_TIMEOUT = "E30"

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    ResponseCode.SUCCESS: "Success",
    ResponseCode.ACKNOWLEDGEMENT: "Acknowledgement: accepted for sending to the Device",
    ResponseCode.INVALID_USER: "Failed Authorisation - Invalid User / User Role",
    ResponseCode.INVALID_ROLE_FOR_SRV: "Invalid User Role / Service Reference",
    ResponseCode.INVALID_USER_STATUS: "Invalid User Status",
    ResponseCode.INVALID_USER_FOR_DEVICE: "Invalid User / User Role for Device",
    ResponseCode.INVALID_DEVICE_STATUS: "Invalid Device Status (SMI status incompatible)",
    ResponseCode.INVALID_SRV_DEVICE_TYPE: "Failed Validation - Invalid SR / device type",
    ResponseCode.INVALID_COMMAND_VARIANT: "Invalid Request / Command Variant combination",
    ResponseCode.INVALID_REQUEST_TYPE_FOR_URL: "Invalid Request Type for URL",
    ResponseCode.NOT_AVAILABLE_FOR_LOCAL_COMMAND: "Not available for Local Command Services",
    ResponseCode.DEVICE_UNKNOWN: "Device doesn't exist",
    ResponseCode.UNABLE_TO_COMMUNICATE: "Communications Failure - Unable to Communicate",
    ResponseCode.NO_RESPONSE_FROM_DEVICE: "Communications Failure - No Response from Device",
    ResponseCode.FUTURE_DATED_TIMEOUT: "Time-out - Future Dated Command",
}


class RigCode(StrEnum):
    """Rig-specific refusals: the reference names no DUIS code for these (domain.md §7.4)."""

    MALFORMED_XML = "RIG-MALFORMED-XML"
    SCHEMA_VIOLATION = "RIG-SCHEMA-VIOLATION"
    BAD_SIGNATURE = "RIG-BAD-SIGNATURE"
    UNSUPPORTED_SRV = "RIG-UNSUPPORTED-SRV"
    HEADER_MISMATCH = "RIG-HEADER-MISMATCH"
    COUNTER_NOT_INCREASING = "RIG-COUNTER-NOT-INCREASING"
    INSTALL_CODE_LENGTH = "RIG-INSTALL-CODE-LENGTH"
    GAS_THRESHOLD_RANGE = "RIG-GAS-THRESHOLD-RANGE"
    GAS_FLOW_SCALING = "RIG-GAS-FLOW-SCALING"

    @property
    def meaning(self) -> str:
        return _RIG_MEANINGS[self]


_RIG_MEANINGS = {
    RigCode.MALFORMED_XML: "not well-formed XML",
    RigCode.SCHEMA_VIOLATION: "not valid against the DUIS 5.4 schema",
    RigCode.BAD_SIGNATURE: "XML signature missing, malformed, by an unknown key, or not valid",
    RigCode.UNSUPPORTED_SRV: "a DUIS SRV the rig does not model",
    RigCode.HEADER_MISMATCH: "ServiceReference / ServiceReferenceVariant / body disagree",
    RigCode.COUNTER_NOT_INCREASING: "RequestID counter not above the last one accepted (replay)",
    RigCode.INSTALL_CODE_LENGTH: "SRV 8.11 install code under 16 bytes for a SMETS2 device",
    RigCode.GAS_THRESHOLD_RANGE: "GasThresholdType above 2^48-1 (SRV 1.1.1, GCS01a)",
    RigCode.GAS_FLOW_SCALING: "SRV 6.7 to a SMETS1 GSME without UncontrolledGasFlowRateDecimal",
}

Code = ResponseCode | RigCode


class DuisError(ValueError):
    """A request refused with ``code``; ``element`` names the offending element if known."""

    def __init__(self, code: Code, reason: str, element: str | None = None) -> None:
        self.code = code
        self.reason = reason
        self.element = element
        where = f" at {element}" if element else ""
        super().__init__(f"{code}{where}: {reason}")
