"""``rig benchmark devices``: the click command, run small."""

from __future__ import annotations

from click.testing import CliRunner

from rig.benchmarks.devices import benchmark_devices


def test_bench_devices_prints_a_rate() -> None:
    result = CliRunner().invoke(
        benchmark_devices, ["--messages", "20", "--size", "200", "--window", "4", "--hubs", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "20 x 200-byte GBCS messages echoed" in result.output
    assert "frames/s" in result.output
    assert benchmark_devices.name == "devices"


def test_bad_arguments() -> None:
    result = CliRunner().invoke(benchmark_devices, ["--messages", "0"])
    assert result.exit_code != 0
