"""Non-Device service requests (CV 8) and their DSP answers in DUIS 5.4 XML (domain.md §7.1-7.3).

Modelled, by the DUIS 5.4 schema's element types (shared/duis/schema):

* SRV 8.2 Read Inventory (``ReadInventory``, by ``DeviceID``): answered at once with I0 and a
  ``DSPInventory`` of up to 17 ``Device`` entries (the schema's ``maxOccurs``).
* SRV 12.2 Device Pre-notification (``DevicePrenotification``): answered at once with I99, "a
  successful Non-Device SR with no XML data" (domain.md §7.4).

Read Inventory by ``UPRN``, ``MPxN`` or ``PropertyFilter`` is schema-valid but not modelled (the
bench's devices have no address): ``RIG-UNSUPPORTED-SRV``. Eligible roles are duis-parser's
``src/duis-request-matrix.json`` rows (:data:`rig.duis.srv_matrix.SRV_MATRIX`).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from rig.duis.codes import DuisError, RigCode
from rig.duis.request import DevicePrenotification, ReadInventory
from rig.duis.xmltext import add, q, required, text
from rig.gbcs.eui import Eui64

#: DSPInventory holds at most this many devices (DUIS 5.4 schema, ``maxOccurs="17"``).
MAX_INVENTORY = 17


@dataclass(frozen=True)
class InventoryDevice:
    """One ``Device`` of a ``DSPInventory`` (the schema's order; the optional ones the rig
    knows)."""

    device_id: Eui64
    device_type: str
    status: str
    manufacturer: str
    model: str
    smets_chts_version: str | None = None
    firmware_version: str | None = None


@dataclass(frozen=True)
class DspInventory:
    """The ``DSPInventory`` content of a Read Inventory response."""

    devices: tuple[InventoryDevice, ...]


def parse_read_inventory(element: etree._Element) -> ReadInventory:
    chosen = element[0]
    name = etree.QName(chosen).localname
    if name != "DeviceID":
        raise DuisError(
            RigCode.UNSUPPORTED_SRV,
            f"Read Inventory by {name} is not modelled (the bench's devices have no address): "
            "ask by DeviceID",
            f"sr:{name}",
        )
    return ReadInventory(Eui64.parse((chosen.text or "").strip()))


def build_read_inventory(body: ReadInventory, element: etree._Element) -> None:
    add(element, "DeviceID", str(body.device_id))


def parse_prenotification(element: etree._Element) -> DevicePrenotification:
    return DevicePrenotification(
        Eui64.parse(required(element, "DeviceID")),
        required(element, "DeviceManufacturer"),
        required(element, "DeviceModel"),
        required(element, "DeviceType"),
        text(element, "SMETSCHTSVersion"),
        text(element, "FirmwareVersion"),
    )


def build_prenotification(body: DevicePrenotification, element: etree._Element) -> None:
    add(element, "DeviceID", str(body.device_id))
    add(element, "DeviceManufacturer", body.manufacturer)
    add(element, "DeviceModel", body.model)
    add(element, "DeviceType", body.device_type)
    _optional(element, "SMETSCHTSVersion", body.smets_chts_version)
    _optional(element, "FirmwareVersion", body.firmware_version)


def build_inventory(inventory: DspInventory, parent: etree._Element) -> None:
    """``<sr:DSPInventory>`` with its devices, under a ResponseMessage."""
    holder = add(parent, "DSPInventory")
    for device in inventory.devices[:MAX_INVENTORY]:
        entry = add(holder, "Device")
        add(entry, "DeviceID", str(device.device_id))
        add(entry, "DeviceType", device.device_type)
        add(entry, "DeviceStatus", device.status)
        add(entry, "DeviceManufacturer", device.manufacturer)
        add(entry, "DeviceModel", device.model)
        _optional(entry, "SMETSCHTSVersion", device.smets_chts_version)
        _optional(entry, "DeviceFirmwareVersion", device.firmware_version)


def parse_inventory(element: etree._Element) -> DspInventory:
    """A ``DSPInventory`` element's devices."""
    return DspInventory(
        tuple(
            InventoryDevice(
                Eui64.parse(required(entry, "DeviceID")),
                required(entry, "DeviceType"),
                text(entry, "DeviceStatus") or "",
                required(entry, "DeviceManufacturer"),
                required(entry, "DeviceModel"),
                text(entry, "SMETSCHTSVersion"),
                text(entry, "DeviceFirmwareVersion"),
            )
            for entry in element.findall(q("Device"))
        )
    )


def _optional(parent: etree._Element, name: str, value: str | None) -> None:
    if value is not None:
        add(parent, name, value)
