"""Shared DUIS data for the tests: templates, XML-signing keys, the RTDS Users and devices
(reference/gbcs.md §1.5, shared/duis/README.md)."""

from __future__ import annotations

from shared_dir import SHARED_DIR

from rig.duis.access import AccessControl, Device, User
from rig.duis.dsig import CertificateStore
from rig.duis.srv_matrix import DeviceType, Role
from rig.gbcs.eui import Eui64

DUIS_DIR = SHARED_DIR / "duis"
TEMPLATES = sorted((DUIS_DIR / "templates").glob("*_REQUEST_DUIS.XML"))
SIGN_KEYS = DUIS_DIR / "xml-sign-keys"
RTDS_DIR = SHARED_DIR / "gbcs-rtds"

SUPPLIER = Eui64.parse("90-B3-D5-1F-30-01-00-00")
NETWORK_OPERATOR = Eui64.parse("90-B3-D5-1F-30-02-00-00")
ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
GSME = Eui64.parse("00-DB-12-34-56-78-90-A1")
CHF = Eui64.parse("00-DB-12-34-56-78-90-A2")
GPF = Eui64.parse("00-DB-12-34-56-78-90-A3")

USERS = (
    User(SUPPLIER, frozenset({Role.IMPORT_SUPPLIER, Role.GAS_SUPPLIER})),
    User(NETWORK_OPERATOR, frozenset({Role.ELECTRICITY_DISTRIBUTOR, Role.GAS_TRANSPORTER})),
)
_ELEC = {Role.IMPORT_SUPPLIER: SUPPLIER, Role.ELECTRICITY_DISTRIBUTOR: NETWORK_OPERATOR}
_GAS = {Role.GAS_SUPPLIER: SUPPLIER, Role.GAS_TRANSPORTER: NETWORK_OPERATOR}
DEVICES = (
    Device(ESME, DeviceType.ESME, responsible=_ELEC),
    Device(GSME, DeviceType.GSME, responsible=_GAS),
    Device(
        CHF,
        DeviceType.CHF,
        responsible={Role.IMPORT_SUPPLIER: SUPPLIER, Role.GAS_SUPPLIER: SUPPLIER},
    ),
    Device(GPF, DeviceType.GPF, responsible=_GAS),
)


def rtds_access(certificates: CertificateStore | None = None) -> AccessControl:
    """Access control over the RTDS Users and devices."""
    return AccessControl(USERS, DEVICES, certificates)
