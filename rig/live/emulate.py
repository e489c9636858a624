"""``rig emulate BENCH``: serve a bench's emulated devices for a physical rig to mix in.

Each emulated ESME of the bench is started in its own process (behind a pty, or a loopback TCP
/ RFC 2217 bridge as its ``transport`` says) with freshly generated device keys; the ports, the
key folder and a ``[[device]]`` snippet for the other rig's bench file are printed; the devices
run until SIGINT (Ctrl-C) or SIGTERM, then stop cleanly. Each device's log (frames rejected,
commands discarded for their MAC or counter) is kept in ``<run folder>/devices/<name>.log`` and
followed on the terminal.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from devices.serial_device import EmulatedSerialDevice, emulated_esme
from rig.config.bench import Bench
from rig.gbcs.eui import Eui64
from rig.keys.keystore import Role, key_file_name
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


def has_device_keys(folder: Path, euis: list[Eui64]) -> bool:
    """Whether ``folder`` holds every key pair of these devices (KA and DS)."""
    return all(
        (folder / key_file_name(eui, role, private=private)).is_file()
        for eui in euis
        for role in Role
        for private in (True, False)
    )


#: Where the emulated devices' logs go, under the run folder (``rig emulate``'s and a run's,
#: rig/live/launch.py): ``<device>.log``; a shared process's is its first device's
#: ``<device>-group.log``, a serial-server bridge's ``<device>-bridge.log``.
DEVICE_LOGS_DIR = "devices"

#: How often the device logs are read for new lines. [ASSUMED] prompt enough for a person.
FOLLOW_INTERVAL_S = 0.2

#: Called with a device's name and each line its emulator logs.
LogLine = Callable[[str, str], None]


class LogFollower:
    """New lines of log files, by device name, as they are appended."""

    def __init__(self, logs: dict[str, Path], on_line: LogLine) -> None:
        self._logs = logs
        self._on_line = on_line
        self._read = dict.fromkeys(logs, 0)
        self._partial = dict.fromkeys(logs, b"")

    def poll(self) -> None:
        """Hand on every whole line appended since the last poll."""
        for name, path in self._logs.items():
            try:
                with path.open("rb") as file:
                    file.seek(self._read[name])
                    data = file.read()
            except FileNotFoundError:
                continue
            self._read[name] += len(data)
            *lines, self._partial[name] = (self._partial[name] + data).split(b"\n")
            for line in lines:
                self._on_line(name, line.decode("utf-8", "replace"))

    async def follow(self, interval_s: float = FOLLOW_INTERVAL_S) -> None:
        """Poll until cancelled."""
        while True:
            self.poll()
            await asyncio.sleep(interval_s)


async def serve(
    bench: Bench,
    run_dir: Path,
    on_ready: Callable[[list[Served], Path], None],
    on_log: LogLine | None = None,
    keys: Path | None = None,
    supply_reports: Mapping[str, tuple[str, int]] | None = None,
) -> None:
    """Start the bench's emulated devices, report them, and run until SIGINT or SIGTERM; every
    line a device logs goes to ``on_log`` (and stays in ``run_dir/devices/<name>.log``). Their
    keys are generated in ``run_dir/keys``, or kept in ``keys`` if it has them all (several
    hosts serving the same bench share one key folder: docs/lab.md). A device named in
    ``supply_reports`` reports its supply state there (an emulated bench I/O module's)."""
    emulated = [d for d in bench.devices.values() if d.emulated]
    if not emulated:
        raise ValueError(f"{bench.path}: no device has emulated = true")
    unsupported = [d.name for d in emulated if d.kind != "esme"]
    if unsupported:
        raise ValueError(f"{bench.path}: rig emulate serves ESMEs only, not {unsupported}")
    if keys is None or not has_device_keys(keys, [d.eui for d in emulated]):
        keys = keys or run_dir / "keys"
        generate_pki(keys, remote_parties=(), devices=[d.eui for d in emulated], overwrite=True)
    key_dirs = [keys, *bench.key_dirs]
    devices: list[EmulatedSerialDevice] = []
    log_dir = run_dir / DEVICE_LOGS_DIR
    follower = LogFollower(
        {d.name: log_dir / f"{d.name}.log" for d in emulated}, on_log or (lambda _n, _l: None)
    )
    following: asyncio.Task[None] | None = None
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
                log_dir=log_dir,
                report_supply_to=(supply_reports or {}).get(config.name),
            )
            devices.append(device)
            port = await device._port()  # start the emulator (and its bridge); no link opened
            served.append(Served(config.name, config.kind, str(config.eui), port))
        on_ready(served, keys)
        following = asyncio.create_task(follower.follow())
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if following is not None:
            following.cancel()
        for device in devices:
            await device.close()
        follower.poll()  # what the devices logged as they stopped
