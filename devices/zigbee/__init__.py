"""GBCS over ZigBee Smart Energy: Tunneling-cluster frames (scapy), the serial bridge codec,
the bridge link and an emulated bridge for CI (docs/zigbee-bridge.md)."""
