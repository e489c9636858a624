"""The rig's ZigBee Smart Energy stack, sans-I/O: pure functions and clock-injected state machines
(security primitives, install codes, frames), used by the rig as Comms Hub and by the emulated
meters alike. Transports and radios live in ``devices``."""
