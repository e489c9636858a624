"""The shipped plans on the shipped HAN bench, and its bench I/O relay powering the emulated ESME
through a secure rejoin (docs/han.md "On the bench")."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rig.config.bench import load_bench
from rig.live.launch import launch
from rig.results.jsonl import RESULTS_FILE, read_jsonl

ROOT = Path(__file__).parents[2]
HAN_BENCH = ROOT / "rig" / "config" / "benches" / "han.toml"
PLANS = ROOT / "test_plans"

pytestmark = pytest.mark.slow


def han_events(run: Path) -> list[tuple[str, str]]:
    return [(r["event"], r["device"]) for r in read_jsonl(run / RESULTS_FILE) if r["kind"] == "han"]


def wait_for(run: Path, events: list[str], device: str, timeout: float = 30.0) -> None:
    """Until ``device``'s HAN records hold ``events`` in that order."""
    deadline = time.monotonic() + timeout
    while True:
        seen = [event for event, name in han_events(run) if name == device]
        it = iter(seen)
        if all(event in it for event in events):
            return
        assert time.monotonic() < deadline, seen
        time.sleep(0.1)


def test_every_shipped_plan_passes_on_the_han_bench(tmp_path: Path) -> None:
    run = tmp_path / "run"
    rig = Path(sys.executable).parent / "rig"
    done = subprocess.run(
        [str(rig), "run", str(PLANS), "--bench", str(HAN_BENCH), "--out", str(run)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    [summary] = [
        line for line in done.stdout.splitlines() if line.startswith("===") and " in " in line
    ]
    assert re.fullmatch(r"=+ \d+ passed in .* =+", summary), summary  # none failed or skipped
    events = han_events(run)
    for meter in ("esme", "gsme"):
        assert ("joined", meter) in events and ("key-established", meter) in events, events


def test_the_relay_power_cycles_the_esme_into_a_secure_rejoin(tmp_path: Path) -> None:
    """Mains cut and restored by the bench I/O relay: the emulated ESME's node stops and a new
    one rejoins with the kept network key (NWK-secured Rejoin Request, no Transport Key), runs
    Key Establishment again and answers through a new tunnel; no frame of it is refused as a
    replay (its NWK counter was kept)."""
    with launch(load_bench(HAN_BENCH), tmp_path) as rig:
        assert rig.bench_io is not None
        assert rig.read_supply_status("esme", timeout=30).ok
        assert rig.bench_io.contactor_closed()  # the ESME's supply, sensed
        rig.bench_io.power_cycle("esme", off_seconds=0.3)
        wait_for(tmp_path, ["rejoined", "key-established"], "esme")
        time.sleep(0.5)  # the tunnel opens once Key Establishment is done
        status = rig.read_supply_status("esme", timeout=40)
        assert status.ok, status.reason
    events = han_events(tmp_path)
    rejoin = events.index(("rejoined", "esme"))
    assert ("key-established", "esme") in events[rejoin:]
    assert events.count(("joined", "esme")) == 1  # rejoined, not joined afresh
    refused = [r for r in read_jsonl(tmp_path / RESULTS_FILE) if r.get("event") == "refused"]
    assert not [r for r in refused if "replay" in json.dumps(r)], refused
