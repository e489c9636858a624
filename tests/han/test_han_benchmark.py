"""``rig benchmark devices`` reports the secured HAN (rig/benchmarks/han.py), run small: its two
lines are printed with their ratios, every request answered; not a timed test."""

from __future__ import annotations

import re

from click.testing import CliRunner

from rig.benchmarks.devices import benchmark_devices
from rig.benchmarks.han import measure_frames

SMALL = ["--hubs", "0", "--han-frame-seconds", "0.05", "--han-hubs", "1"]


def test_the_devices_benchmark_prints_the_secured_han_lines() -> None:
    result = CliRunner().invoke(benchmark_devices, [*SMALL, "--han-seconds", "2"])
    assert result.exit_code == 0, result.output
    frames = re.search(
        r"secured HAN frames: .* ratio ([\d.]+)x per core \(goal >= 10x\)", result.output
    )
    hubs = re.search(
        r"secured HAN hubs: 1 HANs .*: 2/2 answered, .* the rig's side .* ([\d.]+) ms CPU per "
        r"request: one core serves ([\d,]+) hubs .* the whole emulated HAN .* ([\d.]+) ms: "
        r"([\d,]+) hubs",
        result.output,
    )
    assert frames and hubs, result.output
    assert float(frames.group(1)) > 0
    rig_ms, rig_hubs, whole_ms, whole_hubs = hubs.groups()
    # the rig's side is a part of the whole
    assert 0 < float(rig_ms) <= float(whole_ms)
    assert int(rig_hubs.replace(",", "")) >= int(whole_hubs.replace(",", "")) > 0


def test_each_figure_can_be_skipped_and_bad_values_get_one_line() -> None:
    result = CliRunner().invoke(
        benchmark_devices, [*SMALL[:2], "--han-frame-seconds", "0", "--han-hubs", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "secured HAN frames: not measured" in result.output
    assert "secured HAN hubs: not measured" in result.output
    bad = CliRunner().invoke(benchmark_devices, ["--han-hubs", "-1"])
    assert bad.exit_code == 2 and "--han-hubs" in bad.output and "Traceback" not in bad.output


def test_the_frames_are_secured_and_echoed_unchanged() -> None:
    figure = measure_frames(0.01, gbcs=bytes(range(120)))
    # 125-byte TransferData: 3 blocks each way, each acknowledged
    assert figure.messages >= 1 and figure.frames == 12 * figure.messages
    assert figure.aps_secured == 6 * figure.messages
    assert figure.air_frames_per_s > 0 and figure.ccm_frames_per_cpu_s > 0
