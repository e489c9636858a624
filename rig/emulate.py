"""``rig emulate BENCH``: serve a bench's emulated devices for a physical rig to mix in.

Each emulated ESME of the bench is started in its own process (behind a pty, or a loopback TCP
/ RFC 2217 bridge as its ``transport`` says) with freshly generated device keys; the ports, the
key folder and a ``[[device]]`` snippet for the other rig's bench file are printed; the devices
run until SIGINT (Ctrl-C) or SIGTERM, then stop cleanly.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devices.serial_device import EmulatedSerialDevice, emulated_esme
from rig.bench import Bench
from rig.keys.pki import generate_pki


@dataclass(frozen=True)
class Served:
    """One emulated device being served: the port another rig opens."""

    name: str
    kind: str
    eui: str
    port: str


def snippet(served: list[Served], keys: Path) -> str:
    """Bench-file text for the rig that mixes these devices in."""
    lines = [f'# add to [keys] dirs: "{keys}" (the emulated devices\' public keys)']
    for device in served:
        lines += [
            "[[device]]",
            f'name = "{device.name}"',
            f'kind = "{device.kind}"',
            f'eui = "{device.eui}"',
            f'port = "{device.port}"',
            "",
        ]
    return "\n".join(lines)


async def serve(
    bench: Bench, run_dir: Path, on_ready: Callable[[list[Served], Path], None]
) -> None:
    """Start the bench's emulated devices, report them, and run until SIGINT or SIGTERM."""
    emulated = [d for d in bench.devices.values() if d.emulated]
    if not emulated:
        raise ValueError(f"{bench.path}: no device has emulated = true")
    unsupported = [d.name for d in emulated if d.kind != "esme"]
    if unsupported:
        raise ValueError(f"{bench.path}: rig emulate serves ESMEs only, not {unsupported}")
    keys = run_dir / "keys"
    generate_pki(keys, remote_parties=(), devices=[d.eui for d in emulated], overwrite=True)
    key_dirs = [keys, *bench.key_dirs]
    devices: list[EmulatedSerialDevice] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        served = []
        for config in emulated:
            device = emulated_esme(
                config.name,
                config.eui,
                key_dirs,
                processing_time_s=config.processing_time_s,
                transport=config.transport,  # type: ignore[arg-type]
            )
            devices.append(device)
            port = await device._port()  # start the emulator (and its bridge); no link opened
            served.append(Served(config.name, config.kind, str(config.eui), port))
        on_ready(served, keys)
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        for device in devices:
            await device.close()
