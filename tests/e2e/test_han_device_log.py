"""SRV 8.11 on the emulated HAN, as a plan drives it: the Comms Hub's device log decides who may
join (docs/han.md "The device log"). An ESME off the log (``on_log = false``) is refused with
the reason; SRV 8.11 adds it and it joins, runs Key Establishment and answers a read; SRV 8.11
removes it and it is made to leave and refused when it comes back; an install code other than
the meter's is a refused join with the reason. Each change of the log and each refusal is in
the results."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devices.han.hub import HanMember
from rig.config.bench import load_bench
from rig.duis import request as rq
from rig.live.launch import launch
from rig.live.orchestrator import Rig
from rig.results.jsonl import RESULTS_FILE
from rig.zigbee.mmo import with_crc

pytestmark = pytest.mark.slow

ESME_CODE = bytes.fromhex("00DB123456789502A1B2C3D4E5F60718")  # han.toml's, without its CRC
BENCH = f"""
[bench]
name = "han-device-log"

[keys]
dirs = ["@rtds"]

[user]
eui = "90-B3-D5-1F-30-01-00-00"

[han]
emulated = true
eui = "00-DB-12-34-56-78-95-01"
pan_id = 0x4742
extended_pan_id = "00-DB-12-34-56-78-95-01"
network_key = "5A6967426565416C6C69616E63653039"

[[device]]
name = "hub"
kind = "comms_hub"
transport = "han"

[[device]]
name = "esme"
kind = "esme"
eui = "00-DB-12-34-56-78-95-02"
transport = "han"
install_code = "{with_crc(ESME_CODE).hex().upper()}"
on_log = false
response_timeout_s = 30.0
"""


def wait_for(rig: Rig, what: Callable[[], Any], timeout: float, why: str) -> Any:
    """Poll ``what`` on the rig's loop until it is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = rig.call(what)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {why}")


def refusal(rig: Rig, member: HanMember) -> Callable[[], str]:
    """The next join refusal of ``member`` (the last one forgotten)."""
    rig.call(setattr, member, "refusal", "")
    return lambda: member.refusal


def update_log(rig: Rig, kind: rq.HanLogRequestType, code: bytes | None = None) -> None:
    esme = rig.bench.devices["esme"].eui
    add = rq.AddDeviceToChfWhitelist(60, code) if code is not None else None
    record = rig.request("hub", rq.UpdateHanDeviceLog(esme, kind, add))
    assert record.ok, record.reason


def test_srv_8_11_decides_who_joins_the_han(tmp_path: Path) -> None:
    (tmp_path / "bench.toml").write_text(BENCH)
    run = tmp_path / "run"
    with launch(load_bench(tmp_path / "bench.toml"), run) as rig:
        member = rig.devices["esme"]
        assert isinstance(member, HanMember)
        why = wait_for(rig, lambda: member.refusal, 10, "the ESME refused")
        assert "is not on the device log" in why
        record = rig.read_supply_status("esme")
        assert not record.ok and "has not joined" in (record.reason or "")

        update_log(rig, rq.HanLogRequestType.ADD, ESME_CODE)
        wait_for(rig, member.ready.is_set, 20, "the ESME joined with its tunnel open")
        record = rig.read_supply_status("esme")
        assert record.ok, record.reason

        refused = refusal(rig, member)
        update_log(rig, rq.HanLogRequestType.REMOVE)
        assert not rig.call(member.ready.is_set)  # made to leave at once
        assert "is not on the device log" in wait_for(rig, refused, 10, "refused on rejoin")
        record = rig.read_supply_status("esme")
        assert not record.ok

        refused = refusal(rig, member)
        update_log(rig, rq.HanLogRequestType.ADD, bytes(16))  # not the ESME's code
        assert "wrong install code?" in wait_for(rig, refused, 20, "the wrong code refused")
    records = [json.loads(line) for line in (run / RESULTS_FILE).read_text().splitlines()]
    han = [(r["event"], r["detail"]) for r in records if r.get("kind") == "han"]
    log = [detail for event, detail in han if event == "device-log"]
    assert len(log) == 3, han  # nothing on the log at start: added, removed, added
    assert "(CCS01)" in log[0] and with_crc(ESME_CODE).hex().upper() in log[0]
    assert "(CCS02)" in log[1] and with_crc(bytes(16)).hex().upper() in log[2]
    events = [event for event, _ in han]
    first_log = events.index("device-log")
    assert "refused" in events[:first_log]  # refused before SRV 8.11
    assert events.index("key-established") > first_log
    assert "left" in events[events.index("key-established") :]
    meter_log = (run / "han" / "emulated-han.log").read_text()
    assert ": left " in meter_log  # the meter took the NWK Leave request
    reasons = [detail for event, detail in han if event == "refused"]
    assert any("not on the device log" in r for r in reasons)
    assert any("wrong install code?" in r for r in reasons)
