"""Bridges that put a device's serial port somewhere else: on a loopback TCP port (raw or
RFC 2217), or behind an emulated ZigBee radio."""
