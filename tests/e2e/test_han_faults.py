"""Faults on the HAN bench's air and a power cycle, through the rig's real pty Spinel path: each
air fault in the results with the frames it touched (as a serial fault), a replayed frame
refused and counted as an NWK replay, a jammed channel and a dropped frame recovered by retries,
and a power cycle mid-stream of requests that loses and refuses nothing (docs/han.md "Faults on
the air", "Rejoin and the tunnel across it")."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rig.config.bench import load_bench
from rig.live.launch import launch
from rig.live.orchestrator import Rig
from rig.results.jsonl import RESULTS_FILE, read_jsonl
from rig.results.record import RequestRecord

HAN_BENCH = Path(__file__).parents[2] / "rig" / "config" / "benches" / "han.toml"

pytestmark = pytest.mark.slow

#: Faults timed from the emulated HAN's start, once the ESME has joined: a jam of the whole
#: channel for 1 s (shorter than the APS retries, 3 x 1.6 s), every frame to the ESME dropped for
#: 0.3 s (the radio's retries all fall in it; the APS retry 1.6 s later does not), and the last
#: frame the ESME sent the hub replayed.
FAULTS = """
[[han.fault]]
kind = "jam"
at_s = 8
for_s = 1.0
[[han.fault]]
kind = "drop"
at_s = 12
for_s = 0.3
device = "esme"
direction = "tx"
[[han.fault]]
kind = "replay"
at_s = 15
device = "esme"
direction = "rx"
"""


def esme_only(tmp_path: Path, faults: str = "") -> Path:
    """The shipped HAN bench without its GSME (whose 1 s polls only slow the test down)."""
    text = HAN_BENCH.read_text()
    head, gsme = text.split('[[device]]\nname = "gsme"')
    tail = gsme[gsme.index("# The bench's Modbus") :]
    path = tmp_path / "han.toml"
    path.write_text(head.replace("delay_s = 0.0\n", "delay_s = 0.0\n" + faults, 1) + tail)
    return path


def results(run: Path, kind: str) -> list[dict[str, Any]]:
    return [r for r in read_jsonl(run / RESULTS_FILE) if r.get("kind") == kind]


def stream(rig: Rig, until: Callable[[], bool], timeout: float = 60.0) -> list[RequestRecord]:
    """SRV 7.4 to the ESME every 0.1 s until ``until()``, then every answer (or failure)."""
    futures: list[concurrent.futures.Future[RequestRecord]] = []
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the expected HAN records never came"
        futures.append(rig.submit_read_supply_status("esme"))
        time.sleep(0.1)
    return [f.result(timeout=60) for f in futures]


def test_air_faults_reach_the_results_and_the_requests_survive_them(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with launch(load_bench(esme_only(tmp_path, FAULTS)), run) as rig:

        def all_faulted() -> bool:
            return {f["fault"] for f in results(run, "fault")} == {"jam", "drop", "replay"}

        records = stream(rig, all_faulted)
    assert len(records) > 50
    failed = [(r.outcome, r.reason) for r in records if not r.ok]
    assert not failed  # the jam and the drop cost retries, not answers
    faults = results(run, "fault")
    for fault in faults:
        assert fault["frames"] and all(bytes.fromhex(frame) for frame in fault["frames"])
        assert fault["direction"] in ("tx", "rx") and fault["at"] > 0
    jams = [f for f in faults if f["fault"] == "jam"]
    assert all("CCA failure" in f["detail"] for f in jams)
    drops = [f for f in faults if f["fault"] == "drop"]
    assert drops and all(f["device"] == "esme" and f["direction"] == "tx" for f in drops)
    [replay] = [f for f in faults if f["fault"] == "replay"]
    assert replay["device"] == "esme" and replay["direction"] == "rx"
    # the replayed frame refused by the Comms Hub, and counted
    han = results(run, "han")
    refused = [r for r in han if r["event"] == "refused"]
    assert [(r["device"], r["detail"][:11]) for r in refused] == [("esme", "NWK: replay")]
    [counted] = [r for r in han if r["event"] == "dropped"]
    assert counted == {
        "kind": "han",
        "event": "dropped",
        "device": "esme",
        "detail": "NWK: replay",
        "count": 1,
    }
    assert not [r for r in han if r["event"] == "aps-failed"]


def test_a_power_cycle_mid_stream_refuses_and_loses_no_request(tmp_path: Path) -> None:
    """The bench I/O relay cuts the ESME's mains while requests stream to it: the hub holds its
    tunnel's traffic from the rejoin until Key Establishment is done and the tunnel open again,
    and the meter keeps its unacknowledged answers, so every request is answered."""
    run = tmp_path / "run"
    with launch(load_bench(esme_only(tmp_path)), run) as rig:
        assert rig.bench_io is not None
        assert rig.read_supply_status("esme", timeout=30).ok
        cycled = concurrent.futures.ThreadPoolExecutor(1).submit(
            lambda: (time.sleep(1.0), rig.bench_io.power_cycle("esme", off_seconds=0.3))
        )

        def rejoined_and_answering() -> bool:
            events = [r["event"] for r in results(run, "han")]
            done = "rejoined" in events and events.count("key-established") == 2
            return done and cycled.done() and time.monotonic() > rejoined_and_answering.after

        rejoined_and_answering.after = time.monotonic() + 6.0  # type: ignore[attr-defined]
        records = stream(rig, rejoined_and_answering)
        cycled.result()
    failed = [(r.outcome, r.reason) for r in records if not r.ok]
    assert not failed
    han = results(run, "han")
    assert [r["event"] for r in han].count("joined") == 1  # rejoined, not joined afresh
    assert not [r for r in han if r["event"] in ("refused", "aps-failed")], han
    log = (run / "han" / "emulated-han.log").read_text()
    after = log[log.index("power on (rejoin)") :]  # before the hub's radio was up: no beacon
    assert "refused" not in after and "dropped" not in after, after


#: The Comms Hub's transmissions jammed for 12 s, from 8 s after the emulated HAN starts (its
#: meter joined by then). Only the hub's side (``direction = "tx"``), and a single request sent
#: into it with nothing else on the air: every one of its APS tries (0, 1.6, 3.2, 4.8 s) fails
#: its CCA, whenever within the first 7 s of the jam it is sent.
LONG_JAM = """
[[han.fault]]
kind = "jam"
at_s = 8
for_s = 12.0
direction = "tx"
"""


def test_a_jam_longer_than_the_aps_retries_fails_the_request_at_once_naming_it(
    tmp_path: Path,
) -> None:
    """The request sent into the jam fails when the hub's APS retries run out (about 6.4 s),
    not by its 30 s response timeout, and its reason names the APS failure and the radio's CCA
    failure; a request sent as the jam ends is answered."""
    run = tmp_path / "run"
    with launch(load_bench(esme_only(tmp_path, LONG_JAM)), run) as rig:
        # The HAN started before now and the jam starts 8 s after it: at now + 8 s it is on,
        # for 7 s more at least if the join took under 5 s.
        launched = time.monotonic()
        time.sleep(8.0)
        record = rig.read_supply_status("esme", timeout=60)
        took = time.monotonic() - launched - 8.0
        # The jam ends by now + 20 s: a request at now + 16 s gets through by its third retry.
        time.sleep(max(0.0, launched + 16.0 - time.monotonic()))
        after = rig.read_supply_status("esme", timeout=60)
    assert record.reason == (
        "HAN: APS delivery to esme failed after 3 retries (channel busy: CCA failure)"
    )
    assert 4.8 < took < 10.0  # the retries, not the 30 s response timeout
    assert after.ok, after.reason
    failed = [r for r in results(run, "han") if r["event"] == "aps-failed"]
    assert [r["device"] for r in failed] == ["esme"]
    assert any(f["fault"] == "jam" for f in results(run, "fault"))
