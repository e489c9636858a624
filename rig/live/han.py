"""The bench's HAN (``[han]``) on the live rig: the rig as its Comms Hub
(:class:`devices.han.hub.HanHub`), each ``transport = "han"`` meter one device, and a
``kind = "comms_hub"`` one the rig's CHF (:class:`devices.han.chf.HanChf`: SRV 8.11 reaches the
hub's device log, docs/han.md "The device log"); on an emulated
bench the HAN's process (``python -m devices.han.emulated``) is started with the hub and its
pty is the radio's port (docs/han.md "On the bench"), and each fault it injects on the air
(its ``air-faults.jsonl``) goes into the results as a serial fault does, named by the meter's
bench name (:class:`AirFaultLog`). The HAN's test PKI (rig/zigbee/pki.py) is the bench's files
for a physical HAN, generated into the run folder for an emulated one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from devices.api import Device
from devices.emulated.host import EmulatorProcess, spawn_emulator
from devices.han.chf import HanChf
from devices.han.emulated import FAULT_LOG
from devices.han.hub import HanHub, HanMeterConfig
from devices.transports.capture import Captures
from devices.transports.faults import FaultRecord
from firmware_stubs.comms_hub import HubSettings
from rig.config.bench import Bench
from rig.config.han import HAN_KINDS, HanConfig
from rig.keys.keystore import KeyStore
from rig.live.counter_state import state_path
from rig.zigbee.keyest import Credentials
from rig.zigbee.pki import CA_FILE, credentials_path, generate

#: The HAN's folder in the run folder: its description, its process's log, its kept counters.
HAN_DIR = "han"
#: The emulated HAN's test PKI, in the HAN's folder.
PKI_DIR = "pki"
#: The emulated HAN's process's log, in the HAN's folder.
EMULATED_HAN_LOG = "emulated-han.log"
#: How often the air's fault log is read while the HAN runs [ASSUMED: a bench figure; the
#: log is read to its end once more when the HAN stops].
FAULT_LOG_POLL_S = 0.25

_log = logging.getLogger(__name__)


class AirFaultLog:
    """The emulated HAN's fault log, read as it grows: each record (the serial fault log's
    :class:`~devices.transports.faults.FaultRecord`, the meter named by its EUI-64) goes to
    ``note`` with the meter's bench name instead; a line that is not a record is logged and
    skipped."""

    def __init__(self, path: Path, names: dict[str, str], note: Callable[[dict[str, Any]], None]):
        self.path, self.names, self.note = path, names, note
        self._offset = 0

    def read(self) -> None:
        """Note every whole line written since the last read."""
        try:
            with self.path.open("rb") as log:
                log.seek(self._offset)
                chunk = log.read()
        except FileNotFoundError:
            return
        lines = chunk.split(b"\n")[:-1]  # the last one may be half written
        self._offset += sum(len(line) + 1 for line in lines)
        for line in lines:
            try:
                record = FaultRecord.from_json(json.loads(line))
            except ValueError as exc:
                _log.warning("%s: %s", self.path, exc)
                continue
            self.note(
                replace(record, device=self.names.get(record.device, record.device)).to_json()
            )

    async def follow(self) -> None:
        """Read the log every :data:`FAULT_LOG_POLL_S` until cancelled."""
        while True:
            await asyncio.sleep(FAULT_LOG_POLL_S)
            self.read()


def han_devices(
    bench: Bench,
    run_dir: Path,
    key_dirs: list[Path],
    captures: Captures | None,
    reports: Callable[[], tuple[str, int]] | None = None,
) -> tuple[HanHub, dict[str, Device]]:
    """The bench's HAN hub and its members by device name. ``reports``: the emulated bench I/O
    module's supply-report address (taken when the HAN starts), for the meter it is wired to."""
    han = bench.han
    assert han is not None  # only called for a bench with [han]
    configs = [d for d in bench.devices.values() if d.transport == "han" and d.kind in HAN_KINDS]
    meters = [HanMeterConfig(d.name, d.eui, d.install_code or b"", d.on_log) for d in configs]
    process: EmulatorProcess | None = None
    hub_credentials = han.credentials
    names = {m.eui.raw.hex().upper(): m.name for m in meters}
    faults = AirFaultLog(run_dir / HAN_DIR / FAULT_LOG, names, lambda record: hub.note(record))
    following: asyncio.Task[None] | None = None

    def credentials() -> Credentials:
        assert hub_credentials is not None  # set by start() on an emulated HAN
        return hub_credentials

    async def start() -> str:
        nonlocal process, hub_credentials, following
        if han.port is not None:
            return han.port
        wired = None if reports is None else "{}:{}".format(*reports())
        folder = run_dir / HAN_DIR
        started, hub_credentials = await asyncio.to_thread(
            start_emulated_han, bench, folder, key_dirs, wired
        )
        process = started
        following = asyncio.create_task(faults.follow())
        return started.port

    async def stop() -> None:
        nonlocal process, following
        if process is not None:
            ended, process = process, None
            await asyncio.to_thread(ended.stop)
        if following is not None:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
            following = None
            faults.read()  # what the HAN logged before it stopped

    # A physical meter remembers the counters it took: they are kept beside the bench file, as
    # the GBCS counters are; an emulated HAN's live and die with the run.
    counters = state_path(bench.path) if han.port else run_dir / HAN_DIR / "counters.json"
    hub = HanHub(
        han,
        meters,
        run_dir=run_dir,
        start_radio=start,
        stop_radio=stop,
        captures=captures,
        credentials=credentials,
        counters=counters,
    )
    devices: dict[str, Device] = dict(hub.members)
    for config in bench.devices.values():
        if config.transport == "han" and config.kind == "comms_hub":
            settings = HubSettings(processing_time=config.processing_time_s)
            devices[config.name] = HanChf(
                config.name,
                config.eui,
                hub.log,
                keys=KeyStore(key_dirs),
                settings=settings,
                captures=captures,
            )
    return hub, devices


def start_emulated_han(
    bench: Bench, folder: Path, key_dirs: list[Path], reports: str | None = None
) -> tuple[EmulatorProcess, Credentials]:
    """Start the bench's emulated HAN (``python -m devices.han.emulated``, its log
    ``folder/emulated-han.log``): its test PKI generated into ``folder/pki``, its description
    written; the running process (its ``port``: the radio's pty) and the Comms Hub's
    credentials. ``reports`` as for :func:`write_description`."""
    han = bench.han
    assert han is not None
    euis = [han.eui.raw] + [d.eui.raw for d in bench.devices.values() if d.transport == "han"]
    made = generate(folder / PKI_DIR, euis)
    description = write_description(han, bench, folder, key_dirs, reports)
    argv = [sys.executable, "-m", "devices.han.emulated", str(description)]
    return spawn_emulator(argv, log=folder / EMULATED_HAN_LOG), made[han.eui.raw]


def write_description(
    han: HanConfig, bench: Bench, folder: Path, key_dirs: list[Path], reports: str | None = None
) -> Path:
    """The emulated HAN's description (devices/han/emulated.py) for this bench; ``reports``
    ("HOST:PORT"): the bench I/O module's, wired to the ``[bench_io]`` meter."""
    meters = [
        {
            "eui": str(d.eui),
            "kind": d.kind,
            "install_code": (d.install_code or b"").hex(),
            "credentials": f"{PKI_DIR}/{credentials_path(Path(), d.eui.raw)}",
            "processing_time": d.processing_time_s,
        }
        for d in bench.devices.values()
        if d.transport == "han" and d.kind in HAN_KINDS
    ]
    description = {
        "channel": han.channel,
        "extended_pan_id": han.extended_pan_id.hex(),
        "air": {"loss": han.loss, "delay_s": han.delay_s, "seed": han.seed},
        "faults": [
            {
                **asdict(fault),
                "device": None if fault.device is None else str(bench.devices[fault.device].eui),
            }
            for fault in han.faults
        ],
        "keys": [str(d.resolve()) for d in key_dirs],
        "ca": f"{PKI_DIR}/{CA_FILE}",
        "meters": meters,
    }
    if reports is not None and bench.bench_io is not None:
        meter = bench.device(bench.bench_io.meter)
        description["bench_io"] = {"meter": str(meter.eui), "report_to": reports}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "han.json"
    path.write_text(json.dumps(description, indent=2))
    return path
