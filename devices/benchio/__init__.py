"""Bench I/O over Modbus: contactor sense, meter power relay, pulse counting (docs/bench-io.md).

``contactor`` is the pure model, ``emulator`` a real pymodbus server built on it for CI, and
``client`` the driver the rig uses for emulated and physical modules alike. pymodbus is used in
``emulator`` and ``client`` only, so its API churn stays in two files.
"""
