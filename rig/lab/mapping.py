"""A bench file on a held place: the place's resources become the devices' transports.

The resources are named as ``rig lab export`` names them (rig/lab/export.py): a device's
serial port after the device, the HAN's radio :data:`~rig.lab.export.HAN_RESOURCE`, the Modbus
bench I/O module :data:`~rig.lab.export.BENCH_IO_RESOURCE`. A served serial port
(``NetworkSerialPort``, HOST:PORT) is opened as ``rfc2217://HOST:PORT``; a ``ModbusTCPCoil``
gives the module's address in its ``host`` (``HOST:PORT``, port 502 if none, as labgrid's
Modbus driver reads it) — a physical module, or the emulated one ``rig lab serve`` runs beside
an emulated meter (its contactor input follows that meter's supply).

A device the place serves is reached through it whatever the bench file says of it (an emulated
device exported from another host by ``rig lab serve`` is, to this rig, a physical one; its
keys are the served ones, in the bench's ``[keys] dirs``). A device the place does not serve
stays as the file says, if it is emulated; a physical one is an error. A device reached through
the place keeps which place and exporter (``DeviceConfig.place``): a link lost names them. An
emulated bench I/O module of this host cannot sense a meter behind a place: it is dropped then
(the plans that need it skip) unless the place serves one.
"""

from __future__ import annotations

from dataclasses import replace

from rig.config.bench import Bench, BenchError, BenchIOConfig, DeviceConfig
from rig.lab.export import BENCH_IO_RESOURCE, HAN_RESOURCE
from rig.lab.place import MODBUS_TCP_CLASS, PlaceResource

#: labgrid's class of a serial port an exporter serves over RFC 2217.
SERIAL_CLASS = "NetworkSerialPort"


def bench_on_place(bench: Bench, place: str, resources: dict[str, PlaceResource]) -> Bench:
    """``bench`` with each device, radio and I/O module the place serves reached through it."""
    devices: dict[str, DeviceConfig] = {}
    for name, device in bench.devices.items():
        if device.hub is not None:
            hub = devices[device.hub]  # listed before it (load_bench)
            devices[name] = replace(
                device, emulated=hub.emulated, transport=hub.transport, place=hub.place
            )
            continue
        resource = resources.get(name) if device.transport != "han" else None
        if resource is not None:
            _expect(resource, place, SERIAL_CLASS)
            transport = "zigbee" if device.transport == "zigbee" else "pty"
            where = f"place {place} (exporter {resource.exporter})"
            devices[name] = replace(
                device, emulated=False, port=resource.url, transport=transport, place=where
            )
        elif device.emulated or device.transport == "han":
            devices[name] = device
        else:
            raise BenchError(_missing(bench, place, f"device {name!r}", resources))
    han = bench.han
    radio = resources.get(HAN_RESOURCE)
    if han is not None and radio is not None:
        if han.emulated:
            raise BenchError(
                f"{bench.path}: place {place} serves a HAN radio but the bench's [han] is "
                "emulated (give [han] port, ca and credentials for the radio)"
            )
        _expect(radio, place, SERIAL_CLASS)
        han = replace(han, port=radio.url)
    elif han is not None and not han.emulated:
        raise BenchError(_missing(bench, place, "the HAN radio", resources))
    bench_io = _bench_io(bench, place, resources, devices)
    return replace(bench, devices=devices, han=han, bench_io=bench_io)


def _bench_io(
    bench: Bench, place: str, resources: dict[str, PlaceResource], devices: dict[str, DeviceConfig]
) -> BenchIOConfig | None:
    io = bench.bench_io
    module = resources.get(BENCH_IO_RESOURCE)
    if io is None:
        return None
    if module is not None and module.cls == MODBUS_TCP_CLASS:
        if module.address is None:
            raise BenchError(f"place {place}: {module.name} ({module.cls}) has no HOST:PORT")
        return replace(io, emulated=False, tcp=module.address, rtu=None)
    if module is not None:
        _expect(module, place, SERIAL_CLASS)
        return replace(io, emulated=False, tcp=None, rtu=module.url)
    if not io.emulated:
        raise BenchError(_missing(bench, place, "the bench I/O module", resources))
    meter = devices[io.meter]
    powered = devices[meter.hub] if meter.hub is not None else meter
    return io if powered.emulated else None


def _expect(resource: PlaceResource, place: str, cls: str) -> None:
    if resource.cls != cls:
        raise BenchError(
            f"place {place}: resource {resource.name} is a {resource.cls}, not a {cls}"
        )


def _missing(bench: Bench, place: str, what: str, resources: dict[str, PlaceResource]) -> str:
    has = ", ".join(f"{n} ({r.cls})" for n, r in sorted(resources.items())) or "none"
    return (
        f"{bench.path}: place {place} has no resource for {what} (it has: {has}); "
        "export the bench with `rig lab export` (docs/lab.md)"
    )
