"""Assemble a running :class:`~rig.live.orchestrator.Rig` from a bench file.

Emulated devices get freshly generated KA and DS key pairs in the run folder, layered in front
of the bench's key folders (so the bench uses the RTDS remote-party keys plus generated device
keys); physical devices use the keys the bench names. A ``comms_hub`` and the devices joined
to it share the hub's link, each its own device to the rig (:class:`~devices.hub_link.HubLink`).
A ``[bench_io]`` module is started before the devices, and an emulated meter reports its supply
state to it. Every device link feeds the rig's per-test captures (:func:`capture_test`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from devices.api import Device
from devices.benchio.client import BenchIO, PointMap
from devices.benchio.contactor import ContactorModel
from devices.benchio.emulator import EmulatedBenchIO
from devices.benchio.module import BenchIOModule
from devices.emulated.hub import hub_args
from devices.hub_link import HubLink, HubMember
from devices.serial_device import (
    EmulatedSerialDevice,
    EmulatorGroup,
    SerialDevice,
    emulated_esme,
)
from devices.transports.capture import Captures
from devices.transports.faults import FaultInjector, FaultRecord
from devices.transports.reconnect import Backoff
from rig.config.bench import Bench, BenchError, BenchIOConfig, DeviceConfig
from rig.keys.keystore import KeyStore
from rig.keys.pki import generate_pki
from rig.live.emulate import DEVICE_LOGS_DIR
from rig.live.han import han_devices
from rig.live.orchestrator import Rig
from rig.results.jsonl import RESULTS_FILE
from rig.results.process_writer import ProcessWriter, SinkSpec
from rig.results.resilient import RunWriter

#: Where per-test captures go, under the run folder.
CAPTURES_DIR = "captures"


def launch(bench: Bench, run_dir: Path, *, store: RunWriter | None = None) -> Rig:
    """The rig for a bench, ready to start (``with launch(bench, run_dir) as rig: ...``).

    Results go to ``run_dir`` (and to ``store``'s run of a results store, when given),
    written by a process of their own; starting it starts the bench I/O module, then every
    device of the bench.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    emulated = [d for d in bench.devices.values() if d.emulated]
    key_dirs = list(bench.key_dirs)
    if emulated:
        generated = run_dir / "keys"
        generate_pki(
            generated, remote_parties=(), devices=[d.eui for d in emulated], overwrite=True
        )
        key_dirs.insert(0, generated)
    captures = Captures(han=bench.han is not None)
    bench_io = _bench_io(bench.bench_io) if bench.bench_io is not None else None
    #: The device whose process drives the bench I/O: the meter, or the hub it is joined to.
    powered = None
    if bench_io is not None and bench_io.emulator is not None:
        powered = bench.device(bench_io.meter).hub or bench_io.meter
    devices: dict[str, Device] = {}
    injectors: dict[str, FaultInjector] = {}
    logs = run_dir / DEVICE_LOGS_DIR
    groups = _esme_groups(bench, key_dirs, powered, logs) if bench.shared_emulators else {}
    han_hub = None
    if bench.han is not None:
        wired = powered is not None and bench.device(powered).transport == "han"
        reports = bench_io.supply_address if bench_io and wired else None
        han_hub, members = han_devices(bench, run_dir, key_dirs, captures, reports)
        devices.update(members)
    for config in bench.devices.values():
        if config.hub is not None or config.transport == "han":
            continue  # reached through its hub's link, below, or the HAN's hub, above
        faults = None
        if config.faults is not None:
            faults = injectors[config.name] = FaultInjector(
                config.faults.seed,
                tx=config.faults.tx,
                rx=config.faults.rx,
                reorder_hold_s=config.faults.reorder_hold_s,
            )
        options = {
            "reconnect": Backoff() if config.reconnect else None,
            "faults": faults,
            "captures": captures,
        }
        emulated_options = {**options, "log_dir": logs}
        reports = bench_io.supply_address if bench_io and powered == config.name else None
        skew_s = config.faults.clock_skew_s if config.faults is not None else 0.0
        if not config.emulated:
            devices[config.name] = SerialDevice(
                config.name,
                config.eui,
                config.port,
                baudrate=config.baudrate,
                **options,  # type: ignore[arg-type]
            )
        elif config.kind == "comms_hub":
            description = _premises(bench, config, key_dirs, run_dir / "premises")
            devices[config.name] = EmulatedSerialDevice(
                config.name,
                config.eui,
                "devices.emulated.hub",
                functools.partial(_hub_args, description, reports, skew_s),
                transport=config.transport,  # type: ignore[arg-type]
                **emulated_options,  # type: ignore[arg-type]
            )
        elif config.name in groups:
            devices[config.name] = EmulatedSerialDevice(
                config.name,
                config.eui,
                groups[config.name].module,
                (),
                transport=config.transport,  # type: ignore[arg-type]
                group=groups[config.name],
                **emulated_options,  # type: ignore[arg-type]
            )
        elif config.kind == "esme":
            devices[config.name] = emulated_esme(
                config.name,
                config.eui,
                key_dirs,
                processing_time_s=config.processing_time_s,
                transport=config.transport,  # type: ignore[arg-type]
                report_supply_to=reports,
                clock_skew_s=skew_s,
                **emulated_options,  # type: ignore[arg-type]
            )
        else:
            raise BenchError(
                f"{bench.path}: device {config.name!r}: an emulated {config.kind} runs behind "
                'an emulated comms_hub (give hub = "...")'
            )
    serial_hubs = [
        c for c in bench.devices.values() if c.kind == "comms_hub" and c.transport != "han"
    ]
    for hub in serial_hubs:  # the HAN's Comms Hub is the rig's own (rig/live/han.py)
        joined = [(c.name, c.eui) for c in bench.devices.values() if c.hub == hub.name]
        link = HubLink(devices[hub.name], [(hub.name, hub.eui), *joined], own=hub.name)
        devices.update(link.members)
    if bench_io is not None and bench_io.emulator is not None and powered is not None:
        emulator = bench_io.emulator
        if bench.device(powered).transport == "han":
            # The emulated HAN's meter takes the relay's commands on its supply-report socket.
            emulator.on_power = lambda on, _at: emulator.tell_reporter({"power": on})
        else:
            link_device = devices[powered]
            if isinstance(link_device, HubMember):
                link_device = link_device.hub.link
            assert isinstance(link_device, EmulatedSerialDevice)  # load_bench: emulated module
            emulator.on_power = _power_switch(link_device)
    # Results are written by a process of their own (rig/results/process_writer.py), which
    # opens the store's run itself.
    results = ProcessWriter(SinkSpec.of(run_dir / RESULTS_FILE, store))
    if store is not None:
        store.close()
    rig = Rig(bench, devices, KeyStore(key_dirs), results, bench_io=bench_io, captures=captures)
    for name, injector in injectors.items():
        injector.on_record = functools.partial(_note_fault, rig, name)
    if han_hub is not None:
        han_hub.note = rig.note
    return rig


def _esme_groups(
    bench: Bench, key_dirs: list[Path], powered: str | None, logs: Path | None = None
) -> dict[str, EmulatorGroup]:
    """The emulated ESMEs that share a process, by device name: those alike (one processing
    time) that need no process of their own (no bench I/O relay to cut their mains, no clock
    skew) and are not behind a hub (its premises process serves those), two or more of a kind;
    docs/load.md "One process for the emulated meters"."""
    alike: dict[float, list[DeviceConfig]] = {}
    for config in bench.devices.values():
        skew = config.faults.clock_skew_s if config.faults is not None else 0.0
        own = config.hub is None and config.name != powered and not skew
        if config.emulated and config.kind == "esme" and own:
            alike.setdefault(config.processing_time_s, []).append(config)
    groups: dict[str, EmulatorGroup] = {}
    for processing_time_s, configs in alike.items():
        if len(configs) > 1:
            group = EmulatorGroup.esmes(
                [c.eui for c in configs],
                key_dirs,
                processing_time_s=processing_time_s,
                log=None if logs is None else logs / f"{configs[0].name}-group.log",
            )
            groups.update((c.name, group) for c in configs)
    return groups


def _premises(bench: Bench, hub: DeviceConfig, key_dirs: list[Path], folder: Path) -> Path:
    """Write the premises description the hub emulator serves: the hub (its CHF) and the
    devices joined to it, one of each kind, with their processing times."""
    description: dict[str, object] = {
        "chf": str(hub.eui),
        "keys": [str(d.resolve()) for d in key_dirs],
        "hub": {"processing_time": hub.processing_time_s},
    }
    for config in bench.devices.values():
        if config.hub != hub.name:
            continue
        role = config.kind  # the description's roles are the bench kinds (docs/devices.md)
        if role in description:
            raise BenchError(
                f"{bench.path}: device {config.name!r}: hub {hub.name!r} already has a {role}"
                " (an emulated premises has one of each)"
            )
        entry: dict[str, object] = {"eui": str(config.eui)}
        if role in ("esme", "gsme"):
            entry["processing_time"] = config.processing_time_s
        description[role] = entry
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hub.name}.json"
    path.write_text(json.dumps(description, indent=2))
    return path


def _hub_args(
    description: Path, reports: Callable[[], tuple[str, int]] | None, clock_skew_s: float
) -> list[str]:
    """The hub emulator's arguments, the state-report address taken when it starts."""
    address = None if reports is None else "{}:{}".format(*reports())
    return hub_args(description, address, clock_skew_s)


def _note_fault(rig: Rig, device: str, fault: FaultRecord) -> None:
    """Every injected fault goes into the results with the frames it touched."""
    rig.note(dataclasses.replace(fault, device=device).to_json())


def _bench_io(config: BenchIOConfig) -> BenchIOModule:
    """The module a ``[bench_io]`` table describes (docs/bench-files.md)."""
    points = PointMap(config.contactor_input, config.power_coil, config.pulse_register)

    def connect(emulator: EmulatedBenchIO | None) -> BenchIO:
        if config.rtu is not None:
            return BenchIO.rtu(
                config.rtu,
                baudrate=config.baudrate,
                timeout_s=config.timeout_s,
                device_id=config.device_id,
                poll_interval_s=config.poll_interval_s,
                points=points,
            )
        address = emulator.address if emulator is not None else config.tcp
        assert address is not None  # load_bench: exactly one of emulated, tcp, rtu
        return BenchIO.tcp(
            *address,
            timeout_s=config.timeout_s,
            device_id=config.device_id,
            poll_interval_s=config.poll_interval_s,
            points=points,
        )

    emulator = emulated_bench_io(config) if config.emulated else None
    return BenchIOModule(config.meter, connect, emulator=emulator)


def emulated_bench_io(config: BenchIOConfig) -> EmulatedBenchIO:
    """The emulated module of a ``[bench_io]`` table (not started): its contactor model."""
    contactor = ContactorModel(
        actuation_delay_s=config.actuation_delay_s,
        pulses_per_second=config.pulses_per_second,
    )
    return EmulatedBenchIO(contactor)


def _power_switch(meter: EmulatedSerialDevice) -> Callable[[bool, float], None]:
    """The emulated module's relay drives the emulated meter's mains: off stops its process,
    on boots a fresh one (the device-reboot fault, seen by the rig as a link lost and restored).
    Switches are applied one at a time, in the order the relay moved."""
    lock = asyncio.Lock()
    tasks: set[asyncio.Task[None]] = set()

    async def apply(powered: bool) -> None:
        async with lock:
            await meter.power(powered)

    def switch(powered: bool, at: float) -> None:
        task = asyncio.get_running_loop().create_task(apply(powered))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return switch


def _test_folder(nodeid: str) -> str:
    """A file-system-safe folder name for a pytest node id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:150] or "test"


@contextmanager
def capture_test(rig: Rig, run_dir: Path, nodeid: str) -> Iterator[None]:
    """Capture one test's device traffic into ``run_dir/captures/<test>/`` (``gbcs.pcap``, and
    ``han.pcap`` on a bench with a HAN), then note the files in the results
    (``{"kind": "capture", "test": …, "gbcs_pcap": …, …}``); the requests sent meanwhile
    name the test in their records."""
    rig.test = nodeid
    try:
        if rig.captures is None:
            yield
            return
        rig.captures.start(run_dir / CAPTURES_DIR / _test_folder(nodeid))
        try:
            yield
        finally:
            files = rig.captures.stop()
            if files is not None:
                rig.note({"kind": "capture", "test": nodeid, **files.to_json()})
    finally:
        rig.test = None
