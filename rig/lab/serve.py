"""``rig lab serve``: a bench host that exports emulated devices through labgrid.

The bench's emulated ESMEs run as ``rig emulate`` runs them, each behind a pty
(rig/live/emulate.py); the ptys are written into a labgrid exporter config as
``RawSerialPort``s (rig/lab/export.py) and ``labgrid-exporter`` is started on it. When a place
holding them is acquired, the exporter serves each pty with ``ser2net`` over RFC 2217, exactly as
it serves a USB serial adapter: CI exercises the whole labgrid path without hardware.

The exporter runs in a process group of its own (with the ``ser2net`` it starts), its pid in
``OUT/exporter.pid``: killing that group is the bench host's labgrid going away while the
meters stay up (tests/lab).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rig.config.bench import Bench
from rig.lab.export import bench_resources, exporter_config, place_commands
from rig.lab.place import PlaceError
from rig.live.emulate import LogLine, Served, serve

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

    def ready(served: list[Served], key_folder: Path) -> None:
        ports = {device.name: device.port for device in served}
        config = folder / EXPORTER_CONFIG
        config.write_text(exporter_config(place, bench_resources(bench, ports)))
        command = [exporter_bin, "--name", exporter, "--hostname", hostname]
        command += ["--coordinator", coordinator, str(config.resolve())]
        (folder / EXPORTER_COMMAND).write_text(json.dumps(command))
        comment = f"bench {bench.name} served by rig lab serve on {exporter}"
        script = folder / PLACE_SCRIPT
        script.write_text(place_commands(place, exporter, tags, comment))
        start_exporter(folder)
        on_ready(served, key_folder, script)

    try:
        asyncio.run(serve(replace(bench, devices=devices), folder, ready, on_log, keys=keys))
    finally:
        stop_exporter(folder)
