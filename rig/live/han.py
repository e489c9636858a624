"""The bench's HAN (``[han]``) on the live rig: the rig as its Comms Hub
(:class:`devices.han.hub.HanHub`), each ``transport = "han"`` meter one device; on an emulated
bench the HAN's process (``python -m devices.han.emulated``) is started with the hub and its
pty is the radio's port (docs/han.md "On the bench")."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from devices.api import Device
from devices.emulated.host import EmulatorProcess, spawn_emulator
from devices.han.hub import HanHub, HanMeterConfig
from devices.transports.capture import Captures
from rig.config.bench import Bench
from rig.config.han import HanConfig

#: The HAN's folder in the run folder: its description, its process's log.
HAN_DIR = "han"


def han_devices(
    bench: Bench, run_dir: Path, key_dirs: list[Path], captures: Captures | None
) -> tuple[HanHub, dict[str, Device]]:
    """The bench's HAN hub and its members by device name."""
    han = bench.han
    assert han is not None  # only called for a bench with [han]
    configs = [d for d in bench.devices.values() if d.transport == "han"]
    meters = [HanMeterConfig(d.name, d.eui, d.install_code or b"") for d in configs]
    process: EmulatorProcess | None = None

    async def start() -> str:
        nonlocal process
        if han.port is not None:
            return han.port
        description = write_description(han, bench, run_dir / HAN_DIR, key_dirs)
        argv = [sys.executable, "-m", "devices.han.emulated", str(description)]
        log = run_dir / HAN_DIR / "emulated-han.log"
        process = await asyncio.to_thread(spawn_emulator, argv, log=log)
        return process.port

    async def stop() -> None:
        nonlocal process
        if process is not None:
            ended, process = process, None
            await asyncio.to_thread(ended.stop)

    hub = HanHub(
        han, meters, run_dir=run_dir, start_radio=start, stop_radio=stop, captures=captures
    )
    return hub, dict(hub.members)


def write_description(han: HanConfig, bench: Bench, folder: Path, key_dirs: list[Path]) -> Path:
    """The emulated HAN's description (devices/han/emulated.py) for this bench."""
    meters = [
        {
            "eui": str(d.eui),
            "kind": d.kind,
            "install_code": (d.install_code or b"").hex(),
            "processing_time": d.processing_time_s,
        }
        for d in bench.devices.values()
        if d.transport == "han"
    ]
    description = {
        "channel": han.channel,
        "extended_pan_id": han.extended_pan_id.hex(),
        "air": {"loss": han.loss, "delay_s": han.delay_s, "seed": han.seed},
        "keys": [str(d.resolve()) for d in key_dirs],
        "meters": meters,
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "han.json"
    path.write_text(json.dumps(description, indent=2))
    return path
