"""Assemble a running :class:`~rig.orchestrator.Rig` from a bench file.

Emulated devices get freshly generated KA and DS key pairs in the run folder, layered in front
of the bench's key folders (so the bench uses the RTDS remote-party keys plus generated device
keys); physical devices use the keys the bench names.
"""

from __future__ import annotations

from pathlib import Path

from devices.api import Device
from devices.serial_device import SerialDevice, emulated_esme
from devices.transports.reconnect import Backoff
from rig.bench import Bench
from rig.keys.keystore import KeyStore
from rig.keys.pki import generate_pki
from rig.orchestrator import Rig
from rig.results.jsonl import RESULTS_FILE, JsonlWriter
from rig.results.store import Sink, StoreWriter, Tee


def launch(bench: Bench, run_dir: Path, *, store: StoreWriter | None = None) -> Rig:
    """The rig for a bench, ready to start (``with launch(bench, run_dir) as rig: ...``).

    Results go to ``run_dir`` (and to ``store``, a SQLite results store, when given); starting
    it starts every device of the bench.
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
    devices: dict[str, Device] = {}
    for config in bench.devices.values():
        reconnect = Backoff() if config.reconnect else None
        if config.emulated:
            devices[config.name] = emulated_esme(
                config.name,
                config.eui,
                key_dirs,
                processing_time_s=config.processing_time_s,
                transport=config.transport,  # type: ignore[arg-type]
                reconnect=reconnect,
            )
        else:
            devices[config.name] = SerialDevice(
                config.name, config.eui, config.port, reconnect=reconnect
            )
    results: Sink = JsonlWriter(run_dir / RESULTS_FILE)
    if store is not None:
        results = Tee(results, store)
    return Rig(bench, devices, KeyStore(key_dirs), results)
