"""Devices: the Device API, transports, emulated devices (docs/architecture.md)."""

from rig import _native

# Before any compiled module of this package loads (rig._native.COMPILED_MODULES: the HDLC FCS,
# Spinel's RCP and air): a process that imports devices first (an emulator's ``python -m``)
# must honour RIG_PURE_PYTHON and load a stale build's modules as source, as one importing rig.
_native.install()
