"""``rig emulate BENCH``: serve a bench's emulated devices for a physical rig to mix in.

Each emulated ESME of the bench is started in its own process (behind a pty, or a loopback TCP
/ RFC 2217 bridge as its ``transport`` says) with freshly generated device keys; a bench with an
emulated ``[han]`` gets its emulated HAN (the air, the meters on it, and the Comms Hub's RCP on
a pty: rig/live/han.py), with a test PKI generated for it, and another rig drives that pty as
its ``[han] port`` exactly as it would a dongle. The ports, the key folder and the bench-file
text for the other rig are printed; the devices run until SIGINT (Ctrl-C) or SIGTERM, then stop
cleanly. Each device's log (frames rejected, commands discarded for their MAC or counter) is
kept in ``<run folder>/devices/<name>.log`` (the HAN's in ``<run folder>/han/``) and followed
on the terminal.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from devices.emulated.host import EmulatorProcess
from devices.serial_device import EmulatedSerialDevice, emulated_esme
from rig.config.bench import Bench
from rig.config.han import HAN_KINDS
from rig.gbcs.eui import Eui64
from rig.keys.keystore import Role, key_file_name
from rig.keys.pki import generate_pki
from rig.live.han import EMULATED_HAN_LOG, HAN_DIR, PKI_DIR, start_emulated_han
from rig.zigbee.pki import CA_FILE, credentials_path


@dataclass(frozen=True)
class Served:
    """One emulated device being served: the port another rig opens (a HAN meter's: the HAN's
    radio), and what else its ``[[device]]`` needs (a HAN meter's install code, certificate)."""

    name: str
    kind: str
    eui: str
    port: str
    settings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ServedHan:
    """The emulated HAN being served: the ``[han]`` table of a bench whose radio is its pty."""

    port: str
    settings: tuple[tuple[str, str], ...]


def snippet(served: list[Served], keys: Path, han: ServedHan | None = None) -> str:
    """Bench-file text for the rig that mixes these devices in."""
    lines = [f'# add to [keys] dirs: "{keys}" (the emulated devices\' public keys)']
    if han is not None:
        lines += ["[han]", *(f"{key} = {value}" for key, value in han.settings), ""]
    for device in served:
        lines += ["[[device]]", f'name = "{device.name}"', f'kind = "{device.kind}"']
        lines.append(f'eui = "{device.eui}"')
        if device.settings:
            lines += [f"{key} = {value}" for key, value in device.settings]
        else:
            lines.append(f'port = "{device.port}"')
        lines.append("")
    return "\n".join(lines)


def has_device_keys(folder: Path, euis: list[Eui64]) -> bool:
    """Whether ``folder`` holds every key pair of these devices (KA and DS)."""
    return all(
        (folder / key_file_name(eui, role, private=private)).is_file()
        for eui in euis
        for role in Role
        for private in (True, False)
    )


def _served_han(bench: Bench, port: str, folder: Path) -> tuple[ServedHan, list[Served]]:
    """The ``[han]`` table and the HAN meters' ``[[device]]`` settings for a rig driving the
    emulated HAN's radio on ``port`` (docs/han.md "rig emulate: a HAN for another rig")."""
    han = bench.han
    assert han is not None
    pki = (folder / PKI_DIR).resolve()
    table = (
        ("port", f'"{port}"'),
        ("eui", f'"{han.eui}"'),
        ("channel", str(han.channel)),
        ("pan_id", f"0x{han.pan_id:04X}"),
        ("extended_pan_id", f'"{han.extended_pan_id.hex().upper()}"'),
        ("network_key", f'"{han.network_key.hex().upper()}"  # a TEST key'),
        ("ca", f'"{pki / CA_FILE}"'),
        ("certificate", f'"{credentials_path(pki, han.eui.raw)}"'),
    )
    meters = [
        Served(
            d.name,
            d.kind,
            str(d.eui),
            port,
            (
                ("transport", '"han"'),
                ("install_code", f'"{(d.install_code or b"").hex().upper()}"'),
                ("certificate", f'"{credentials_path(pki, d.eui.raw)}"'),
                ("response_timeout_s", f"{d.response_timeout_s:g}"),
            ),
        )
        for d in bench.devices.values()
        if d.transport == "han" and d.kind in HAN_KINDS  # a comms_hub on the HAN: the rig itself
    ]
    return ServedHan(port, table), meters


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
    on_ready: Callable[[list[Served], Path, ServedHan | None], None],
    on_log: LogLine | None = None,
    keys: Path | None = None,
    supply_reports: Mapping[str, tuple[str, int]] | None = None,
) -> None:
    """Start the bench's emulated devices (and emulated HAN), report them, and run until SIGINT
    or SIGTERM; every line a device logs goes to ``on_log`` (and stays in
    ``run_dir/devices/<name>.log``, the HAN's in ``run_dir/han/``). Their keys are generated in
    ``run_dir/keys``, or kept in ``keys`` if it has them all (several hosts serving the same
    bench share one key folder: docs/lab.md). A device named in ``supply_reports`` reports its
    supply state there (an emulated bench I/O module's)."""
    emulated = [d for d in bench.devices.values() if d.emulated]
    if not emulated:
        raise ValueError(f"{bench.path}: no device has emulated = true")
    serial = [d for d in emulated if d.transport != "han"]
    unsupported = [d.name for d in serial if d.kind != "esme"]
    if unsupported:
        raise ValueError(
            f"{bench.path}: rig emulate serves ESMEs and a [han]'s meters only, not {unsupported}"
        )
    if keys is None or not has_device_keys(keys, [d.eui for d in emulated]):
        keys = keys or run_dir / "keys"
        generate_pki(keys, remote_parties=(), devices=[d.eui for d in emulated], overwrite=True)
    key_dirs = [keys, *bench.key_dirs]
    devices: list[EmulatedSerialDevice] = []
    han_process: EmulatorProcess | None = None
    log_dir = run_dir / DEVICE_LOGS_DIR
    logs = {d.name: log_dir / f"{d.name}.log" for d in serial}
    if len(serial) < len(emulated):
        logs["han"] = run_dir / HAN_DIR / EMULATED_HAN_LOG
    follower = LogFollower(logs, on_log or (lambda _n, _l: None))
    following: asyncio.Task[None] | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        served = []
        for config in serial:
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
        han = None
        if len(serial) < len(emulated):
            folder = run_dir / HAN_DIR
            started, _ = await asyncio.to_thread(start_emulated_han, bench, folder, key_dirs)
            han_process = started
            han, meters = _served_han(bench, started.port, folder)
            served += meters
        on_ready(served, keys, han)
        following = asyncio.create_task(follower.follow())
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if following is not None:
            following.cancel()
        for device in devices:
            await device.close()
        if han_process is not None:
            await asyncio.to_thread(han_process.stop)
        follower.poll()  # what the devices logged as they stopped
