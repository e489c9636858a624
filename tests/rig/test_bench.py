from pathlib import Path

import pytest

from rig.config.bench import DEFAULT_BENCH, SHIPPED_BENCHES, BenchError, bench_path, load_bench

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


def test_a_shipped_bench_by_name(tmp_path, monkeypatch):
    """``han`` is the shipped HAN bench wherever the rig runs, unless a file of that name is
    here; a path is a path."""
    monkeypatch.chdir(tmp_path)
    assert load_bench(Path("han")).path == SHIPPED_BENCHES / "han.toml"
    assert bench_path("han.toml") == Path("han.toml")
    (tmp_path / "han").write_text('[bench]\nname = "mine"\n')
    assert bench_path("han") == Path("han")


def test_a_missing_bench_names_the_shipped_ones(tmp_path, monkeypatch):
    """Issue 15 named ``rig/benches/han.toml``; the shipped benches are in rig/config/benches/:
    one line says so, and lists them."""
    monkeypatch.chdir(SHIPPED_BENCHES.parents[2])
    with pytest.raises(BenchError) as caught:
        load_bench(Path("rig/benches/han.toml"))
    assert str(caught.value) == (
        "rig/benches/han.toml: bench file not found (the shipped benches, by name or in "
        "rig/config/benches/: emulated, han, premises)"
    )


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
            r"device\[0\]\.transport: expected han or unset for a physical device",
        ),
        (
            'port = "/dev/ttyUSB0"',
            'emulated = true\ntransport = "lora"',
            r"device\[0\]\.transport: expected one of pty, tcp, rfc2217, han, got 'lora'",
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


EMULATED = VALID.replace('port = "/dev/ttyUSB0"', "emulated = true")


def test_bench_io_defaults_and_a_physical_module(tmp_path):
    bench = load_bench(write(tmp_path, EMULATED + '[bench_io]\nmeter = "esme"\nemulated = true\n'))
    assert bench.bench_io is not None and bench.bench_io.emulated
    assert (bench.bench_io.contactor_input, bench.bench_io.power_coil) == (0, 0)
    assert bench.bench_io.pulse_register is None
    physical = VALID + (
        '[bench_io]\nmeter = "esme"\ntcp = "127.0.0.1:1502"\ndevice_id = 3\n'
        "contactor_input = 7\npower_coil = 2\npulse_register = 100\n"
    )
    config = load_bench(write(tmp_path, physical)).bench_io
    assert config is not None and config.tcp == ("127.0.0.1", 1502)
    assert (config.device_id, config.contactor_input, config.power_coil) == (3, 7, 2)
    assert config.pulse_register == 100
    assert load_bench(write(tmp_path, VALID)).bench_io is None


@pytest.mark.parametrize(
    ("tcp", "address"),
    [
        ("io-1.lab.example:502", ("io-1.lab.example", 502)),
        ("10.0.0.5:1502", ("10.0.0.5", 1502)),
        ("[fe80::1]:502", ("fe80::1", 502)),
    ],
)
def test_a_physical_module_may_be_on_another_host_of_the_lab(tmp_path, tcp, address):
    """A Modbus TCP module is wherever the bench names it, not only on loopback (issue 16: a
    labgrid ModbusTCPCoil on another bench host); the rig's own emulators stay on loopback."""
    config = load_bench(write(tmp_path, VALID + f'[bench_io]\nmeter = "esme"\ntcp = "{tcp}"\n'))
    assert config.bench_io is not None and config.bench_io.tcp == address


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('meter = "gsme"\nemulated = true', r"bench_io\.meter: expected the name of an ESME"),
        ('meter = "esme"', r"bench_io\.emulated: expected exactly one of emulated = true"),
        (
            'meter = "esme"\nemulated = true\nrtu = "/dev/ttyUSB1"',
            r"bench_io\.emulated: expected exactly one of",
        ),
        ('meter = "esme"\ntcp = "10.0.0.5"', r"bench_io\.tcp: expected \"HOST:PORT\""),
        ('meter = "esme"\ntcp = ":502"', r"bench_io\.tcp: expected \"HOST:PORT\""),
        ('meter = "esme"\nrtu = "/dev/x"\ndevice_id = 0', r"bench_io\.device_id: expected"),
        ('meter = "esme"\nrtu = "/dev/x"\npower_coil = 70000', r"bench_io\.power_coil: expected"),
        (
            'meter = "esme"\nemulated = true\ncontactor_input = 4',
            r"bench_io\.emulated: expected addresses 0 with the emulated module",
        ),
        ('meter = "esme"\nrtu = "/dev/x"\ncoil = 1', r"bench_io\.coil: unknown key"),
    ],
)
def test_bench_io_errors_name_the_key(tmp_path, table, message):
    with pytest.raises(BenchError, match=message):
        load_bench(write(tmp_path, EMULATED + f"[bench_io]\n{table}\n"))


def test_an_emulated_module_needs_an_emulated_meter(tmp_path):
    with pytest.raises(BenchError, match=r"bench_io\.emulated: expected false for a physical"):
        load_bench(write(tmp_path, VALID + '[bench_io]\nmeter = "esme"\nemulated = true\n'))


EMULATED = VALID.replace('port = "/dev/ttyUSB0"', "emulated = true")


def test_faults_clock_skew_reaches_the_device_config(tmp_path):
    bench = load_bench(write(tmp_path, EMULATED + "[device.faults]\nclock_skew_s = -90.5\n"))
    faults = bench.device("esme").faults
    assert faults is not None and faults.clock_skew_s == -90.5


@pytest.mark.parametrize(
    ("text", "bench", "message"),
    [
        ('clock_skew_s = "30"', EMULATED, r"device\[0\]\.faults\.clock_skew_s: expected a number"),
        ("clock_skew_s = true", EMULATED, r"device\[0\]\.faults\.clock_skew_s: expected a number"),
        ("clock_skwe_s = 30", EMULATED, r"device\[0\]\.faults\.clock_skwe_s: unknown key"),
        (
            "clock_skew_s = 30",
            VALID,
            r"device\[0\]\.faults\.clock_skew_s: expected unset on a phys",
        ),
    ],
)
def test_faults_clock_skew_errors_name_the_key(tmp_path, text, bench, message):
    path = write(tmp_path, f"{bench}[device.faults]\n{text}\n")
    with pytest.raises(BenchError, match=message) as info:
        load_bench(path)
    assert str(path) in str(info.value)
