from pathlib import Path

import pytest

from rig.bench import DEFAULT_BENCH, BenchError, load_bench

VALID = """
[bench]
name = "lab"
[keys]
dirs = ["@rtds"]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[dsp]
servers = 2
[[device]]
name = "esme"
kind = "esme"
eui = "00-DB-12-34-56-78-91-01"
port = "/dev/ttyUSB0"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bench.toml"
    path.write_text(text)
    return path


def test_the_embedded_bench_loads():
    bench = load_bench(DEFAULT_BENCH)
    assert bench.device("esme").emulated


def test_a_valid_physical_bench_loads(tmp_path):
    bench = load_bench(write(tmp_path, VALID))
    assert bench.dsp.servers == 2
    assert bench.device("esme").port == "/dev/ttyUSB0"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("servers = 2", "servres = 2", r"dsp\.servres: unknown key"),
        ("servers = 2", 'servers = "two"', r"dsp\.servers: expected a positive integer, got 'two'"),
        (
            'eui = "00-DB-12-34-56-78-91-01"',
            'eui = "00-DB"',
            r"device\[0\]\.eui: expected an EUI-64",
        ),
        ('kind = "esme"', 'kind = "toaster"', r"device\[0\]\.kind: expected one of esme"),
        (
            'port = "/dev/ttyUSB0"',
            'port = "/dev/ttyUSB0"\ntransport = "tcp"',
            r"device\[0\]\.transport: expected set only for an emulated device",
        ),
        (
            'port = "/dev/ttyUSB0"',
            'emulated = true\ntransport = "zigbee"',
            r"device\[0\]\.transport: expected one of pty, tcp, rfc2217, got 'zigbee'",
        ),
        ('port = "/dev/ttyUSB0"', "", r"device\[0\]\.port: expected a serial port"),
        (
            'dirs = ["@rtds"]',
            'dirs = ["nowhere"]',
            r"keys\.dirs: folder .*nowhere.* does not exist",
        ),
        (
            '[user]\neui = "90-B3-D5-1F-30-01-00-00"',
            "[user]",
            r"user\.eui: expected .* \(missing\)",
        ),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, old, new, message):
    path = write(tmp_path, VALID.replace(old, new))
    with pytest.raises(BenchError, match=message) as info:
        load_bench(path)
    assert str(path) in str(info.value)


def test_not_toml_names_the_file(tmp_path):
    with pytest.raises(BenchError, match="not valid TOML"):
        load_bench(write(tmp_path, "[bench\n"))


def test_unknown_device_names_the_known_ones(tmp_path):
    bench = load_bench(write(tmp_path, VALID))
    with pytest.raises(BenchError, match=r"no device named 'gsme' \(known: esme\)"):
        bench.device("gsme")
