"""The secured stack's nodes on the emulated RCPs and air (devices/spinel/air_radio.py), in
memory on a virtual clock."""

from __future__ import annotations

from devices.spinel.air_radio import AirHost, AirRadio
from devices.spinel.rcp import Air, AirConfig
from rig.clock import VirtualClock
from rig.zigbee import secured
from rig.zigbee.device import Device, Memory
from rig.zigbee.node import Node
from rig.zigbee.secured import DeviceConfig, TrustCenterConfig


class SecuredBench:
    """A secured Comms Hub (rig/zigbee/secured.py) and its meters on one emulated air: the hub
    knows ``device_log`` and trusts ``ca``; devices get credentials from the CA they are given."""

    def __init__(
        self,
        hub: TrustCenterConfig,
        *,
        loss: float = 0.0,
        seed: int = 1,
    ) -> None:
        self.clock = VirtualClock()
        self.air = Air(AirConfig(loss=loss, seed=seed))
        self.host = AirHost(self.air, self.clock)
        self.hub_radio = self.host.radio(hub.eui64)
        self.hub_radio.set_pan(hub.pan_id, 0)
        self.hub = secured.coordinator(hub, self.clock, self.hub_radio)
        self.hub_radio.node = self.hub

    def device(self, config: DeviceConfig, memory: Memory | None = None) -> Device:
        radio = self.host.radio(config.eui64)
        device = secured.device(config, self.clock, radio, memory)
        radio.node = device
        return device

    def radio_of(self, node: Node) -> AirRadio:
        return next(r for r in self.host.radios if r.node is node)

    def power_off(self, device: Device) -> None:
        """The device stops: no more polls, its radio deaf, its counters kept."""
        device.state = "left"
        self.radio_of(device).node = None
        device.nwk_security.close()  # type: ignore[attr-defined]

    def run(self, seconds: float) -> None:
        self.clock.run(until=self.clock.now() + seconds)
