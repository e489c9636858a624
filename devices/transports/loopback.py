"""The rig's network rule: the bridges and emulators it starts only ever use loopback. A
physical instrument of a user's lab (a Modbus TCP bench I/O module, labgrid's ModbusTCPCoil) is
wherever the bench file names it (:func:`parse_host_port`)."""

from __future__ import annotations

import ipaddress


def check_loopback(host: str) -> None:
    """Raise ValueError unless ``host`` is a loopback IP address."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"{host} is not a loopback address")


def parse_host_port(text: str) -> tuple[str, int]:
    """``"io-1.lab:502"`` to ``("io-1.lab", 502)`` (``"[fe80::1]:502"`` to ``("fe80::1",
    502)``); ValueError for anything else."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or any(c.isspace() for c in host):
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError(f"port {number} out of range")
    return host, number


def parse_loopback(text: str) -> tuple[str, int]:
    """``"127.0.0.1:5020"`` to ``("127.0.0.1", 5020)``; ValueError for anything else."""
    host, port = parse_host_port(text)
    check_loopback(host)
    return host, port
