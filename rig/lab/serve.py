"""``rig lab serve``: a bench host that exports emulated devices through labgrid.

The bench's emulated ESMEs run as ``rig emulate`` runs them, each behind a pty
(rig/live/emulate.py); the ptys are written into a labgrid exporter config as
``RawSerialPort``s (rig/lab/export.py) and ``labgrid-exporter`` is started on it. When a place
holding them is acquired, the exporter serves each pty with ``ser2net`` over RFC 2217, exactly as
it serves a USB serial adapter: CI exercises the whole labgrid path without hardware.

An emulated ``[bench_io]`` module wired to a served meter runs here too (a pymodbus server on
loopback whose contactor input follows that meter's supply reports) and is exported as labgrid's
``ModbusTCPCoil`` (``host`` = its ``127.0.0.1:PORT``), so the contactor plans run on the place. The
module listens on loopback only (devices/benchio/emulator.py), so it is exported only when the
exporter's ``--hostname`` is a loopback IP address (a lab on one machine, as CI's); its relay is not
wired to the served meter (a power cut would restart the meter on another pty under ser2net).

The exporter runs in a process group of its own (with the ``ser2net`` it starts), its pid in
``OUT/exporter.pid``: killing that group is the bench host's labgrid going away while the
meters stay up (tests/lab).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from devices.benchio.emulator import EmulatedBenchIO
from rig.config.bench import Bench
from rig.lab.export import bench_resources, exporter_config, place_commands
from rig.lab.place import PlaceError
from rig.live.emulate import LogLine, Served, ServedHan, serve
from rig.live.launch import emulated_bench_io

#: The files ``rig lab serve`` writes in its folder.
EXPORTER_CONFIG = "exporter.yaml"
EXPORTER_PID = "exporter.pid"
EXPORTER_COMMAND = "exporter.json"
EXPORTER_LOG = "exporter.log"
PLACE_SCRIPT = "place.sh"


def tool(name: str) -> str:
    """A labgrid program: beside this Python (its venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        raise PlaceError(f"{name} not found: install labgrid (pip install 'gb-smart-rig[lab]')")
    return found


def start_exporter(folder: Path) -> int:
    """Start ``labgrid-exporter`` as ``folder/exporter.json`` says, in its own process group
    (logging to ``exporter.log``); its pid, also written to ``exporter.pid``."""
    command = json.loads((folder / EXPORTER_COMMAND).read_text())
    with (folder / EXPORTER_LOG).open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    (folder / EXPORTER_PID).write_text(f"{process.pid}\n")
    return process.pid


def stop_exporter(folder: Path, sig: int = signal.SIGTERM) -> None:
    """Signal the exporter's process group (the exporter and its ``ser2net``s), if running."""
    try:
        pid = int((folder / EXPORTER_PID).read_text())
        os.killpg(pid, sig)
    except (OSError, ValueError):
        pass


def serve_bench(
    bench: Bench,
    folder: Path,
    *,
    exporter: str,
    coordinator: str,
    hostname: str,
    place: str,
    tags: dict[str, str],
    keys: Path | None = None,
    on_ready: Callable[[list[Served], Path, Path], None] = lambda *_: None,
    on_log: LogLine | None = None,
) -> None:
    """Serve the bench's emulated ESMEs on ptys and export them; run until SIGINT or SIGTERM,
    then stop the exporter and the emulators. ``on_ready`` hears the served devices, the key
    folder and the place script."""
    devices = {
        name: replace(d, transport="pty") if d.emulated and d.hub is None else d
        for name, d in bench.devices.items()
    }
    exporter_bin = tool("labgrid-exporter")
    folder.mkdir(parents=True, exist_ok=True)
    module = served_bench_io(bench, hostname)

    def ready(served: list[Served], key_folder: Path, han: ServedHan | None) -> None:
        # An emulated HAN's radio is not exported yet: its meters are served as rig emulate
        # serves them, on this host only (docs/lab.md "Emulated benches in the lab").
        ports = {
            device.name: device.port for device in served if han is None or device.port != han.port
        }
        io_address = module.address if module is not None else None
        config = folder / EXPORTER_CONFIG
        config.write_text(exporter_config(place, bench_resources(bench, ports, io_address)))
        command = [exporter_bin, "--name", exporter, "--hostname", hostname]
        command += ["--coordinator", coordinator, str(config.resolve())]
        (folder / EXPORTER_COMMAND).write_text(json.dumps(command))
        comment = f"bench {bench.name} served by rig lab serve on {exporter}"
        script = folder / PLACE_SCRIPT
        script.write_text(place_commands(place, exporter, tags, comment))
        start_exporter(folder)
        on_ready(served, key_folder, script)

    async def run() -> None:
        reports = {}
        if module is not None:
            assert bench.bench_io is not None  # served_bench_io: the bench has one
            await module.start()
            reports[bench.bench_io.meter] = module.supply_address
        try:
            served_bench = replace(bench, devices=devices)
            await serve(served_bench, folder, ready, on_log, keys=keys, supply_reports=reports)
        finally:
            if module is not None:
                await module.close()

    try:
        asyncio.run(run())
    finally:
        stop_exporter(folder)


def served_bench_io(bench: Bench, hostname: str) -> EmulatedBenchIO | None:
    """The emulated bench I/O module to run and export beside the served meters: the bench's
    ``[bench_io]`` if it is emulated, wired to a meter served here (not one behind a hub), and
    reachable at ``hostname`` (a loopback address: the module listens on loopback only)."""
    io = bench.bench_io
    if io is None or not io.emulated:
        return None
    meter = bench.devices.get(io.meter)
    if meter is None or not meter.emulated or meter.hub is not None:
        return None
    try:
        loopback = ipaddress.ip_address(hostname).is_loopback
    except ValueError:  # a host name: the rig would reach the module on another address
        loopback = False
    return emulated_bench_io(io) if loopback else None
