"""The SRV matrix for the bench rig: criticality, future-dating, eligible User roles, use cases.

Provenance:

* rows: reference/domain.md §7.3 "SRV matrix for the bench rig" [CONFIRMED there from
  duis-parser ``src/duis-request-matrix.json`` and duis-templates ``src/gbcs-mapping-table.json``];
  the Non-Device rows 8.2 and 12.2 (listed as non-device in §7.3, their roles not given there)
  read from that same duis-parser file;
* allowed command variants: derived from criticality (critical 4-7, non-critical device 1-3,
  non-device 8), which is what the DUIS 5.4 schema's comments on each ServiceReferenceVariant
  value say for every row here (checked by tests/duis/test_srv_matrix.py);
* :data:`DEVICE_USE_CASES`: the §7.3 GBCS use-case column, split by the device type each use case
  addresses (ECS = ESME, GCS = GSME, CCS = Comms Hub Function; GCS13a/GCS14 also via the GPF, as
  the RTDS vectors in shared/gbcs-rtds address them), for the SRVs the rig transforms.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rig.duis import request as rq
from rig.duis.codes import DuisError, ResponseCode
from rig.duis.request import CommandVariant


class Role(StrEnum):
    """DCC User roles (domain.md §7.3 role key)."""

    IMPORT_SUPPLIER = "IS"
    GAS_SUPPLIER = "GS"
    EXPORT_SUPPLIER = "ES"
    ELECTRICITY_DISTRIBUTOR = "ED"
    GAS_TRANSPORTER = "GT"
    REGISTERED_SUPPLIER_AGENT = "RSA"
    OTHER_USER = "OU"


class FutureDated(StrEnum):
    """Who holds a future-dated request (domain.md §7.3 "Future-dated pattern")."""

    NO = "No"
    DEVICE = "Device"
    DSP = "DSP"
    DSP_AND_DEVICE = "DSP & Device"


class DeviceType(StrEnum):
    """Smart metering device types (domain.md §0)."""

    ESME = "ESME"
    GSME = "GSME"
    CHF = "CHF"
    GPF = "GPF"
    PPMID = "PPMID"
    HCALCS = "HCALCS"


_CRITICAL_CVS = frozenset(CommandVariant(v) for v in (4, 5, 6, 7))
_NON_CRITICAL_CVS = frozenset(CommandVariant(v) for v in (1, 2, 3))
_NON_DEVICE_CVS = frozenset({CommandVariant.NON_DEVICE})


@dataclass(frozen=True)
class SrvInfo:
    """One row of the matrix."""

    srv: str
    name: str
    critical: bool
    on_demand: bool
    future_dated: FutureDated
    non_device: bool
    roles: frozenset[Role]

    @property
    def command_variants(self) -> frozenset[CommandVariant]:
        """The command variants DUIS allows for this SRV."""
        if self.non_device:
            return _NON_DEVICE_CVS
        return _CRITICAL_CVS if self.critical else _NON_CRITICAL_CVS


def _row(
    srv: str, name: str, critical: bool, on_demand: bool, fd: str, non_device: bool, roles: str
) -> SrvInfo:
    return SrvInfo(
        srv,
        name,
        critical,
        on_demand,
        FutureDated(fd),
        non_device,
        frozenset(Role(r) for r in roles.split(",")),
    )


_Y, _N = True, False
_ALL_ROLES = "IS,ES,GS,RSA,ED,GT,OU"
#: domain.md §7.3, in its order (SRV, name, critical, on demand, future-dated, non-device, roles).
SRV_MATRIX: dict[str, SrvInfo] = {
    row.srv: row
    for row in (
        _row("1.1.1", "Update Import Tariff (Primary Element)", _Y, _Y, "Device", _N, "IS,GS"),
        _row("1.5", "Update Meter Balance", _Y, _Y, "No", _N, "IS,GS"),
        _row("1.6", "Update Payment Mode", _Y, _Y, "Device", _N, "IS,GS"),
        _row("2.1", "Update Prepay Configuration", _Y, _Y, "Device", _N, "IS,GS"),
        _row("2.2", "Top Up Device", _N, _Y, "No", _N, "IS,GS"),
        _row("2.3", "Update Debt", _Y, _Y, "No", _N, "IS,GS"),
        _row("2.5", "Activate Emergency Credit", _Y, _Y, "No", _N, "IS,GS"),
        _row("3.1", "Display Message", _N, _Y, "DSP", _N, "IS,GS"),
        _row("3.2", "Restrict Access For Change Of Tenancy", _N, _Y, "DSP", _N, "IS,GS"),
        _row("3.3", "Clear Event Log", _N, _Y, "No", _N, "IS,GS"),
        _row("3.4", "Update Supplier Name", _N, _Y, "DSP", _N, "IS,GS"),
        _row("3.5", "Disable Privacy PIN", _N, _Y, "No", _N, "IS,GS"),
        _row("4.1.1", "Read Instantaneous Import Registers", _N, _Y, "DSP", _N, "IS,GS,ED,GT"),
        _row("4.3", "Read Instantaneous Prepay Values", _N, _Y, "DSP", _N, "IS,GS"),
        _row("4.13", "Read Prepayment Configuration", _N, _Y, "DSP", _N, "IS,GS"),
        _row("4.18", "Read Meter Balance", _N, _Y, "DSP", _N, "IS,GS"),
        _row("6.7", "Update Device Configuration (Gas Flow)", _Y, _Y, "No", _N, "GS"),
        _row("6.11", "Synchronise Clock", _Y, _Y, "No", _N, "IS,GS"),
        _row("6.15.1", "Update Security Credentials (KRP)", _Y, _Y, "Device", _N, "IS,GS,ED,GT"),
        _row("6.15.2", "Update Security Credentials (Device)", _Y, _Y, "No", _N, "IS,GS"),
        _row("6.23", "Update Security Credentials (CoS)", _N, _Y, "DSP & Device", _N, "IS,GS"),
        _row("7.1", "Enable Supply", _Y, _Y, "No", _N, "IS"),
        _row("7.2", "Disable Supply", _Y, _Y, "No", _N, "IS,GS"),
        _row("7.3", "Arm Supply", _Y, _Y, "No", _N, "IS,GS"),
        _row("7.4", "Read Supply Status", _N, _Y, "No", _N, "IS,ES,GS,RSA,ED,GT"),
        _row("8.2", "Read Inventory", _N, _N, "No", _Y, _ALL_ROLES),
        _row("8.11", "Update HAN Device Log", _N, _Y, "DSP", _N, "IS,GS,OU"),
        _row("11.1", "Update Firmware", _N, _N, "No", _Y, "IS,GS"),
        _row("11.2", "Read Firmware Version", _N, _Y, "DSP", _N, "IS,ES,GS,RSA,ED,GT,OU"),
        _row("11.3", "Activate Firmware", _Y, _Y, "Device", _N, "IS,GS"),
        _row("12.2", "Device Pre-notification", _N, _N, "No", _Y, _ALL_ROLES),
    )
}
#: The Non-Device SRVs the rig's DSP answers (:mod:`rig.duis.nondevice`).
NON_DEVICE_SRVS = frozenset({"8.2", "12.2"})

_E, _G, _C, _P = DeviceType.ESME, DeviceType.GSME, DeviceType.CHF, DeviceType.GPF
#: GBCS use case per (SRV, target device type) for the SRVs the rig transforms; a device type
#: missing for an SRV is the DUIS E11 "invalid SR / device type combination". SRV 6.7 and 8.11
#: pick between two use cases by body (:mod:`rig.duis.transform`); both are listed.
DEVICE_USE_CASES: dict[str, dict[DeviceType, tuple[str, ...]]] = {
    "1.1.1": {_E: ("ECS01a",), _G: ("GCS01a",)},
    "2.2": {_E: ("CS01a",), _G: ("CS01b",)},
    "4.1.1": {_E: ("ECS17b",), _G: ("GCS13a",), _P: ("GCS13a",)},
    "4.3": {_E: ("ECS19",), _G: ("GCS14",), _P: ("GCS14",)},
    "4.18": {_E: ("ECS82",), _G: ("GCS60",)},
    "6.7": {_G: ("GCS24", "GCS24a")},
    "7.1": {_E: ("ECS42",)},
    "7.2": {_E: ("ECS43",), _G: ("GCS32",)},
    "7.3": {_E: ("ECS44",), _G: ("GCS39",)},
    "7.4": {_E: ("ECS45",), _G: ("GCS33",)},
    "8.11": {_C: ("CCS01", "CCS02")},
}


def use_case(request: rq.ServiceRequest, device_type: DeviceType) -> str:
    """The GBCS use case for ``request`` to a ``device_type``; E11 if the type does not fit."""
    names = DEVICE_USE_CASES.get(request.srv, {}).get(device_type)
    if not names:
        raise DuisError(
            ResponseCode.INVALID_SRV_DEVICE_TYPE,
            f"SRV {request.srv} does not apply to a {device_type}",
            "sr:RequestID",
        )
    body = request.body
    if isinstance(body, rq.UpdateDeviceConfigurationGasFlow):
        return names[body.rate is None]  # GCS24 integer rate, GCS24a decimal (RTDS 6.7)
    if isinstance(body, rq.UpdateHanDeviceLog):
        return names[body.request_type is rq.HanLogRequestType.REMOVE]  # CCS01 add, CCS02 remove
    return names[0]
