"""``rig benchmark devices``: the click command, run small."""

from __future__ import annotations

from click.testing import CliRunner

from rig.benchmarks.devices import benchmark_devices


def test_bench_devices_skips_the_farm_when_asked() -> None:
    result = CliRunner().invoke(benchmark_devices, ["--hubs", "0"])
    assert result.exit_code == 0, result.output
    assert "hub farm: not measured (--hubs 0)" in result.output
    assert "bridge" not in result.output  # the SLIP bridge's frame rate is gone with it
    assert benchmark_devices.name == "devices"


def test_bad_arguments() -> None:
    result = CliRunner().invoke(benchmark_devices, ["--farm-seconds", "0"])
    assert result.exit_code != 0 and "--farm-seconds" in result.output
