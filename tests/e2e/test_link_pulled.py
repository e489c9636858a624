"""A serial link pulled mid-run (the terminal server drops the connection) with the real rig and
the ESME emulator: the link reconnects, every request submitted ends exactly once with a result
on disk (the ones the drop caught fail with the reason), and the run goes on."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from devices.bridges.serial_server import SerialServer
from devices.emulated.host import spawn_emulator
from devices.serial_device import SerialDevice
from devices.transports.reconnect import Backoff
from rig.config.bench import DEFAULT_BENCH, load_bench
from rig.keys import RTDS_KEYS
from rig.keys.keystore import KeyStore
from rig.keys.pki import generate_pki
from rig.live.orchestrator import Rig
from rig.results.jsonl import RESULTS_FILE, JsonlWriter, read_jsonl

REQUESTS = 40
FAST = Backoff(initial=0.05, factor=1.5, maximum=0.2, attempts=40)


def test_a_pulled_link_reconnects_and_no_request_is_lost(tmp_path: Path) -> None:
    bench = load_bench(DEFAULT_BENCH)
    eui = bench.device("esme").eui
    generate_pki(tmp_path / "keys", remote_parties=(), devices=[eui])
    key_dirs = [tmp_path / "keys", RTDS_KEYS]
    argv = [sys.executable, "-m", "devices.emulated.esme", "--eui", str(eui)]
    argv += ["--processing-time", "0.01"]
    for directory in key_dirs:
        argv += ["--keys", str(directory)]
    with spawn_emulator(argv) as emulator, SerialServer(emulator.port) as server:
        device = SerialDevice("esme", eui, server.url, reconnect=FAST)
        results = JsonlWriter(tmp_path / RESULTS_FILE)
        with Rig(bench, {"esme": device}, KeyStore(key_dirs), results) as rig:
            futures = [rig.submit_read_supply_status("esme") for _ in range(REQUESTS)]
            futures[REQUESTS // 4].result(timeout=20)  # the run is under way
            assert server.drop_client()
            records = [f.result(timeout=20) for f in futures]
            reasons = {r.reason for r in records if not r.ok}
            assert all(
                reason.startswith(("esme: link lost ", "could not send to esme: "))
                for reason in reasons
                if reason is not None
            ), reasons
            assert any(not r.ok for r in records), "the drop caught no request"
            deadline = time.monotonic() + 20
            while not rig.read_supply_status("esme", timeout=10).ok:
                assert time.monotonic() < deadline, "the link did not come back"
                time.sleep(0.05)
            assert rig.top_up("esme", pounds=1, timeout=10).ok
    on_disk = [r for r in read_jsonl(tmp_path / RESULTS_FILE) if r["kind"] == "request"]
    ids = [r["request_id"] for r in on_disk]
    assert {r.request_id for r in records} <= set(ids)
    assert len(ids) == len(set(ids)), "a request ended twice"
    events = [r["event"] for r in read_jsonl(tmp_path / RESULTS_FILE) if r["kind"] == "link"]
    # Lost first: seen by the reader ("link lost …") or by a write ("write failed: …").
    assert events[0].startswith(("link lost", "write failed")) and "restored" in events
