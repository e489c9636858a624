"""A bench file as labgrid sees it: the exporter's resource config and the place definition.

On the bench host, ``labgrid-exporter`` reads a YAML resource config: groups of resources, each
named, with its labgrid class (labgrid/remote/exporter.py). The rig writes one group per bench,
named after the place:

- each device the rig reaches through a port of its own (a meter's serial port, a ZigBee
  bridge's) is a ``RawSerialPort`` named after the device: the exporter serves it over RFC 2217
  with ``ser2net`` while a place holds it, and publishes it as a ``NetworkSerialPort``;
- the HAN's Spinel radio (``[han] port``) is a ``RawSerialPort`` named :data:`HAN_RESOURCE`;
- the Modbus bench I/O module (``[bench_io]``) is a ``ModbusTCPCoil`` named
  :data:`BENCH_IO_RESOURCE` (labgrid's Modbus/TCP resource, labgrid/resource/modbus.py: its
  ``host`` is the module's ``HOST:PORT``, its ``coil`` the relay; the rig reads the contactor
  input from the same module), or a ``RawSerialPort`` for Modbus RTU. ``rig lab serve``
  exports the emulated module it runs for an emulated bench the same way.

The place is made with ``labgrid-client`` (the coordinator keeps places; there is no place
file): create it, match the group on that exporter, tag it for pools. docs/lab.md walks through
it; :func:`place_commands` writes the commands.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from rig.config.bench import Bench, BenchError
from rig.lab.place import MODBUS_TCP_CLASS

#: The resource name of the HAN's Spinel radio and of the Modbus bench I/O module.
HAN_RESOURCE = "han"
BENCH_IO_RESOURCE = "bench_io"
#: The serial speed of an emulator's pty (ser2net sets one; a pty ignores it).
PTY_SPEED = 115200


@dataclass(frozen=True)
class Resource:
    """One labgrid resource of the exporter config: its name, class and parameters."""

    name: str
    cls: str
    params: dict[str, object]


def bench_resources(
    bench: Bench,
    ports: Mapping[str, str] | None = None,
    io_address: tuple[str, int] | None = None,
) -> list[Resource]:
    """The resources that export ``bench``; ``ports`` gives the port of a device the bench
    emulates (its emulator's pty, served by ``rig lab serve``), ``io_address`` the Modbus/TCP
    address of the emulated bench I/O module it runs. A device with no port (an emulated one
    not given in ``ports``, or one joined to a hub) is not exported."""
    ports = dict(ports or {})
    resources = []
    for device in bench.devices.values():
        if device.hub is not None or device.transport == "han":
            continue  # reached through its hub's link, or through the HAN's radio
        port = ports.get(device.name) or (None if device.emulated else device.port)
        if port is None:
            continue
        if device.name in (HAN_RESOURCE, BENCH_IO_RESOURCE):
            raise BenchError(
                f"{bench.path}: device {device.name!r}: the name is the labgrid resource of the "
                "bench's radio or I/O module: rename the device to export the bench"
            )
        speed = PTY_SPEED if device.name in ports else device.baudrate
        resources.append(_serial(device.name, port, speed))
    han = bench.han
    if han is not None and han.port is not None:
        from rig.config.han import RCP_BAUD_RATE

        resources.append(_serial(HAN_RESOURCE, han.port, RCP_BAUD_RATE))
    io = bench.bench_io
    address = io_address or (io.tcp if io is not None else None)
    if io is not None and address is not None:
        host, tcp_port = address
        params = {"host": f"{host}:{tcp_port}", "coil": io.power_coil}
        resources.append(Resource(BENCH_IO_RESOURCE, MODBUS_TCP_CLASS, params))
    elif io is not None and io.rtu is not None:
        resources.append(_serial(BENCH_IO_RESOURCE, io.rtu, io.baudrate))
    return resources


def _serial(name: str, port: str, speed: int) -> Resource:
    if "://" in port:
        raise BenchError(
            f"resource {name}: {port} is already a network port; the exporter serves the "
            "bench host's own serial ports (give the /dev path on that host)"
        )
    return Resource(name, "RawSerialPort", {"port": port, "speed": speed})


def exporter_config(group: str, resources: list[Resource]) -> str:
    """The exporter's YAML resource config: one group of ``resources`` (scalars written as
    JSON, which YAML reads as the same values)."""
    if not resources:
        raise BenchError(f"{group}: nothing to export (no device with a port of its own)")
    # No YAML comment: labgrid renders the file with Jinja2 first, whose line statements
    # start with "#" (labgrid/util/yaml.py), so a comment line is a template syntax error.
    lines = [f"{json.dumps(group)}:"]
    for resource in resources:
        lines.append(f"  {json.dumps(resource.name)}:")
        lines.append(f"    cls: {resource.cls}")
        lines += [f"    {key}: {json.dumps(value)}" for key, value in resource.params.items()]
    return "\n".join(lines) + "\n"


def place_commands(place: str, exporter: str, tags: Mapping[str, str], comment: str) -> str:
    """The ``labgrid-client`` commands that define the place: created, matching every resource
    of the group ``place`` on ``exporter``, tagged, commented (a shell script)."""
    client = f"labgrid-client -p {shlex.quote(place)}"
    lines = [
        "#!/bin/sh",
        "# The labgrid place of a bench, written by `rig lab export` (docs/lab.md).",
        '# Run once against the coordinator: LG_COORDINATOR="HOST:20408" sh place.sh',
        "set -e",
        f"{client} create",
        f"{client} add-match {shlex.quote(f'{exporter}/{place}/*')}",
    ]
    if tags:
        pairs = " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(tags.items()))
        lines.append(f"{client} set-tags {pairs}")
    lines.append(f"{client} set-comment {shlex.quote(comment)}")
    return "\n".join(lines) + "\n"
