"""The rig's network rule: bridges, emulators and bench instruments only ever use loopback."""

from __future__ import annotations

import ipaddress


def check_loopback(host: str) -> None:
    """Raise ValueError unless ``host`` is a loopback IP address."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"{host} is not a loopback address")


def parse_loopback(text: str) -> tuple[str, int]:
    """``"127.0.0.1:5020"`` to ``("127.0.0.1", 5020)``; ValueError for anything else."""
    host, sep, port = text.rpartition(":")
    if not sep:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    check_loopback(host)
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError(f"port {number} out of range")
    return host, number
