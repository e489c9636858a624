"""The GB smart-metering hardware-in-the-loop test rig (README.md, docs/architecture.md)."""

from rig import _native

_native.install()  # before anything imports the compiled DSP core: stale builds load as source
