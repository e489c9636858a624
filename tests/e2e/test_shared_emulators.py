"""Emulated ESMEs alike share one emulator process, each on its own pty ([host]
shared_emulators; devices/emulated/host.py serve_group, devices/serial_device.EmulatorGroup)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from devices.api import LinkDown
from devices.emulated import esme as esme_process
from rig.config.bench import DEFAULT_BENCH, load_bench
from rig.live.launch import _esme_groups, launch

HEADER = """
[bench]
name = "shared"
[keys]
dirs = ["@rtds"]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
"""
METER = """
[[device]]
name = "{name}"
kind = "esme"
eui = "00-DB-12-34-56-78-A0-{n:02X}"
emulated = true
processing_time_s = {processing}
"""
SKEW = """[device.faults]
clock_skew_s = 30.0
"""


def _bench(folder: Path, meters: str, host: str = "") -> Path:
    path = folder / "bench.toml"
    path.write_text(host + HEADER + meters)
    return path


def _meter(n: int, processing: float = 0.001, extra: str = "") -> str:
    return METER.format(name=f"m{n}", n=n, processing=processing) + extra


def _pid(rig, name: str) -> int:
    return rig.devices[name].process.pid


def test_meters_alike_share_a_process_and_each_answers_on_its_own_pty(tmp_path: Path):
    meters = _meter(1) + _meter(2) + _meter(3) + _meter(4, 0.002) + _meter(5, extra=SKEW)
    with launch(load_bench(_bench(tmp_path, meters)), tmp_path) as rig:
        shared = {_pid(rig, name) for name in ("m1", "m2", "m3")}
        assert len(shared) == 1  # one process, three ptys
        ports = {rig.devices[name].port for name in ("m1", "m2", "m3")}
        assert len(ports) == 3
        # another processing time, alone of its kind; a clock skew: processes of their own
        assert len(shared | {_pid(rig, "m4"), _pid(rig, "m5")}) == 3
        for name in ("m1", "m2", "m3", "m4", "m5"):
            record = rig.read_supply_status(name)
            assert record.ok, record.reason
            assert record.target == str(rig.bench.device(name).eui)
        process = rig.devices["m1"].process
    assert process.returncode is not None  # the last of its meters closed: it stopped


def test_a_shared_meter_cannot_be_powered_off_alone(tmp_path: Path):
    with launch(load_bench(_bench(tmp_path, _meter(1) + _meter(2))), tmp_path) as rig:
        device = rig.devices["m1"]
        with pytest.raises(LinkDown, match="serves 2 meters and cannot be powered off for one"):
            asyncio.run_coroutine_threadsafe(device.power(False), rig.loop).result(10)
        assert rig.read_supply_status("m1").ok


def test_shared_emulators_can_be_switched_off(tmp_path: Path):
    host = "[host]\nshared_emulators = false\n"
    with launch(load_bench(_bench(tmp_path, _meter(1) + _meter(2), host)), tmp_path) as rig:
        assert _pid(rig, "m1") != _pid(rig, "m2")
        assert rig.devices["m1"].group is None  # type: ignore[attr-defined]


def test_the_esme_process_reports_one_meter_supply_only(tmp_path: Path):
    result = CliRunner().invoke(
        esme_process.main,
        [
            "--eui", "00-DB-12-34-56-78-A0-01",
            "--eui", "00-DB-12-34-56-78-A0-02",
            "--keys", str(tmp_path),
            "--report-supply", "127.0.0.1:9",
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--report-supply" in result.output and "give one --eui" in result.output


def test_a_meter_behind_a_hub_is_no_one_s_group_mate(tmp_path: Path):
    premises = (DEFAULT_BENCH.parent / "premises.toml").read_text()
    # a standalone meter alike the hub's ESME (0.002 s): the hub's premises process serves its
    # ESME, so the standalone one is alone of its kind and keeps a process of its own
    path = tmp_path / "bench.toml"
    path.write_text(premises + METER.format(name="m1", n=1, processing=0.002))
    bench = load_bench(path)
    assert _esme_groups(bench, [tmp_path], powered=None) == {}
    two = premises + _meter(1, 0.002) + _meter(2, 0.002)
    path.write_text(two)
    groups = _esme_groups(load_bench(path), [tmp_path], powered=None)
    assert sorted(groups) == ["m1", "m2"] and groups["m1"] is groups["m2"]
    assert [str(e) for e in groups["m1"].euis] == [
        str(load_bench(path).device(n).eui) for n in ("m1", "m2")
    ]
