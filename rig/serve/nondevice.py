"""The DSP's answers to Non-Device requests at ``/api/v1/serviceD`` (docs/dcc-boxed.md), from
the rig's own state: its Smart Metering Inventory (the bench's devices) and the devices Users
pre-notified (:mod:`rig.duis.nondevice` for the messages).

[ASSUMED] where DUIS's text is not in the reference (docs/dcc-boxed.md "Differences"): a bench
is one premises, so a Read Inventory by the DeviceID of any bench device lists every bench
device; a bench device is ``Commissioned``, a pre-notified one ``Pending`` until it is on the
bench; manufacturer and model name the rig (:data:`MANUFACTURER`), since a bench file names none.
"""

from __future__ import annotations

from firmware_stubs.exemplars import firmware_version
from rig.config.bench import Bench, DeviceConfig
from rig.duis.codes import DuisError, ResponseCode
from rig.duis.messages import Content
from rig.duis.nondevice import DspInventory, InventoryDevice
from rig.duis.request import DevicePrenotification, ReadInventory, ServiceRequest
from rig.gbcs.eui import Eui64

#: [ASSUMED] the DeviceManufacturer of a bench device (the bench file names none).
MANUFACTURER = "gb-smart-rig"
#: The firmware stub whose exemplar firmware version an emulated device of a kind reports.
_STUBS = {"esme": "esme", "gsme": "gsme", "comms_hub": "chf"}


def _firmware(config: DeviceConfig) -> str | None:
    """An emulated device's firmware version as its CS06 exemplar reports it (hex); None for a
    physical one (the rig has not asked it)."""
    stub = _STUBS.get(config.kind)
    if not config.emulated or stub is None:
        return None
    version = firmware_version(stub)
    return version.hex().upper()[:8] or None


class Inventory:
    """The Non-Device services of one ``rig serve``: runs on the rig's loop."""

    def __init__(self, bench: Bench) -> None:
        self._bench = {
            config.eui: InventoryDevice(
                config.eui,
                config.inventory_type,
                "Commissioned",
                MANUFACTURER,
                f"{'emulated' if config.emulated else 'physical'} {config.kind}",
                firmware_version=_firmware(config),
            )
            for config in bench.devices.values()
        }
        self._prenotified: dict[Eui64, InventoryDevice] = {}

    def answer(self, request: ServiceRequest) -> tuple[str, Content]:
        """The response code and content of an admitted Non-Device request (DuisError E19 for
        an inventory read of a device the DSP does not know)."""
        body = request.body
        if isinstance(body, ReadInventory):
            return ResponseCode.SUCCESS, DspInventory(self.read(body.device_id))
        assert isinstance(body, DevicePrenotification)
        self._prenotified[body.device_id] = InventoryDevice(
            body.device_id,
            body.device_type,
            "Pending",
            body.manufacturer,
            body.model,
            body.smets_chts_version,
            body.firmware_version,
        )
        return ResponseCode.ACKNOWLEDGEMENT, None

    def read(self, device: Eui64) -> tuple[InventoryDevice, ...]:
        """The inventory entries of ``device``'s premises: the bench, or a pre-notified one."""
        if device in self._bench:
            return tuple(self._bench.values())
        if device in self._prenotified:
            return (self._prenotified[device],)
        raise DuisError(
            ResponseCode.DEVICE_UNKNOWN, f"no device {device} in the inventory", "sr:DeviceID"
        )
