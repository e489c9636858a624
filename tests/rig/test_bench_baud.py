"""The baud rate is a per-device bench setting (issue 13): validated when the bench loads (one
line naming file, key and the allowed values) and applied to the device's port."""

from __future__ import annotations

import termios
from pathlib import Path

import pytest

from devices.transports.pty_pair import open_pty_pair
from rig.config.bench import BAUD_RATES, BenchError, load_bench
from rig.live.launch import launch

BENCH = """
[bench]
name = "baud"
[keys]
dirs = ["@rtds"]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[[device]]
name = "esme"
kind = "esme"
eui = "00-DB-12-34-56-78-91-01"
{device}
"""
ALLOWED = ", ".join(map(str, BAUD_RATES))


def write(tmp_path: Path, device: str) -> Path:
    path = tmp_path / "bench.toml"
    path.write_text(BENCH.format(device=device))
    return path


def test_a_physical_device_defaults_to_115200_and_takes_its_own(tmp_path: Path) -> None:
    assert load_bench(write(tmp_path, 'port = "/dev/ttyS0"')).device("esme").baudrate == 115200
    chosen = load_bench(write(tmp_path, 'port = "/dev/ttyS0"\nbaudrate = 9600'))
    assert chosen.device("esme").baudrate == 9600


@pytest.mark.parametrize(
    ("device", "message"),
    [
        (
            'port = "/dev/ttyS0"\nbaudrate = 11520',
            f"device[0].baudrate: expected a baud rate, one of {ALLOWED}, got 11520",
        ),
        (
            'port = "/dev/ttyS0"\nbaudrate = "fast"',
            f"device[0].baudrate: expected a baud rate, one of {ALLOWED}, got 'fast'",
        ),
        (
            "emulated = true\nbaudrate = 9600",
            "device[0].baudrate: expected unset on an emulated device (its pty has no baud rate)",
        ),
    ],
)
def test_a_bad_baud_rate_is_one_line_naming_file_key_and_allowed_values(
    tmp_path: Path, device: str, message: str
) -> None:
    path = write(tmp_path, device)
    with pytest.raises(BenchError) as raised:
        load_bench(path)
    assert str(raised.value) == f"{path}: {message}"


def test_a_misspelt_key_names_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, 'port = "/dev/ttyS0"\nbaud_rate = 9600')
    with pytest.raises(BenchError) as raised:
        load_bench(path)
    assert str(raised.value).startswith(f"{path}: device[0].baud_rate: unknown key (known: ")
    assert "baudrate" in str(raised.value)


def test_the_port_runs_at_the_devices_baud_rate(tmp_path: Path) -> None:
    with open_pty_pair() as pair:
        path = write(tmp_path, f'port = "{pair.slave_path}"\nbaudrate = 9600')
        with launch(load_bench(path), tmp_path / "run"):
            attributes = termios.tcgetattr(pair.slave_fd)
    assert attributes[4] == attributes[5] == termios.B9600  # ispeed, ospeed
