"""``rig lab export``: a bench file as a labgrid exporter config and place script, read back by
labgrid's own config loader; the ``[labgrid]`` table; a bench mapped onto a place's resources."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

from rig.cli import main
from rig.config.bench import BenchError, load_bench
from rig.config.labgrid import parse_tags
from rig.lab.export import bench_resources, exporter_config, place_commands
from rig.lab.mapping import bench_on_place
from rig.lab.place import PlaceResource

PHYSICAL = """
[bench]
name = "lab-bench-3"
[keys]
dirs = ["@rtds"]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[[device]]
name = "esme"
kind = "esme"
eui = "00-DB-12-34-56-78-91-01"
port = "/dev/ttyUSB0"
baudrate = 9600
[[device]]
name = "hub"
kind = "comms_hub"
eui = "00-DB-12-34-56-78-93-01"
port = "/dev/ttyUSB1"
[[device]]
name = "gsme"
kind = "gsme"
eui = "00-DB-12-34-56-78-93-03"
hub = "hub"
[bench_io]
meter = "esme"
tcp = "127.0.0.1:1502"
power_coil = 3
"""


def bench_file(tmp_path: Path, text: str = PHYSICAL, extra: str = "") -> Path:
    path = tmp_path / "lab.toml"
    path.write_text(text + extra)
    return path


def test_the_exporter_config_has_each_port_and_the_modbus_module(tmp_path: Path) -> None:
    resources = bench_resources(load_bench(bench_file(tmp_path)))
    assert [(r.name, r.cls) for r in resources] == [
        ("esme", "RawSerialPort"),
        ("hub", "RawSerialPort"),  # the gsme is reached through the hub's link
        ("bench_io", "ModbusTCPCoil"),
    ]
    assert resources[0].params == {"port": "/dev/ttyUSB0", "speed": 9600}
    assert resources[2].params == {"host": "127.0.0.1:1502", "coil": 3}


@pytest.mark.skipif(importlib.util.find_spec("labgrid") is None, reason="labgrid not installed")
def test_the_modbus_resource_has_labgrids_own_parameters(tmp_path: Path) -> None:
    """labgrid's ModbusTCPCoil takes ``host`` as HOST:PORT and a ``coil``; no ``port`` (a
    client making the resource from the exporter's parameters would fail on one)."""
    import attr
    from labgrid.resource.modbus import ModbusTCPCoil

    module = bench_resources(load_bench(bench_file(tmp_path)))[2]
    assert set(module.params) <= {field.name for field in attr.fields(ModbusTCPCoil)}


@pytest.mark.skipif(importlib.util.find_spec("labgrid") is None, reason="labgrid not installed")
def test_labgrid_reads_the_exporter_config(tmp_path: Path) -> None:
    from labgrid.remote.config import ResourceConfig

    path = tmp_path / "exporter.yaml"
    path.write_text(exporter_config("bench_a", bench_resources(load_bench(bench_file(tmp_path)))))
    data = ResourceConfig(str(path), {"env": {}}).data
    assert data["bench_a"]["esme"] == {
        "cls": "RawSerialPort",
        "port": "/dev/ttyUSB0",
        "speed": 9600,
    }
    assert data["bench_a"]["bench_io"]["cls"] == "ModbusTCPCoil"


def test_the_place_script_creates_matches_and_tags_the_place() -> None:
    script = place_commands("bench_a", "host-1", {"pool": "nightly"}, "bench 3")
    assert "labgrid-client -p bench_a create\n" in script
    assert "labgrid-client -p bench_a add-match 'host-1/bench_a/*'\n" in script
    assert "labgrid-client -p bench_a set-tags pool=nightly\n" in script


def test_rig_lab_export_writes_both_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["export", str(bench_file(tmp_path)), "--exporter", "h1", "--tag", "pool=x"]
    result = CliRunner().invoke(main, ["lab", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "RawSerialPort" in (out / "exporter.yaml").read_text()
    assert "set-tags pool=x" in (out / "place.sh").read_text()


def test_an_emulated_bench_has_nothing_to_export_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["lab", "export", "rig/config/benches/emulated.toml"])
    assert result.exit_code == 1
    assert result.output.strip().endswith("nothing to export (no device with a port of its own)")


def test_a_network_port_is_not_exported_again(tmp_path: Path) -> None:
    text = PHYSICAL.replace("/dev/ttyUSB0", "rfc2217://10.0.0.5:4000")
    with pytest.raises(BenchError, match="already a network port"):
        bench_resources(load_bench(bench_file(tmp_path, text)))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('place = "a"\npool = "b"', "exactly one of place or a pool"),
        ("", "exactly one of place or a pool"),
        ('pool = "Nightly"', "labgrid takes values of"),
        ('pool = "x"\nwho = 1', "unknown key"),
    ],
)
def test_a_bad_labgrid_table_is_one_line(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(BenchError, match=message) as caught:
        load_bench(bench_file(tmp_path, extra=f"[labgrid]\n{table}\n"))
    assert "\n" not in str(caught.value)


def test_the_labgrid_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LG_COORDINATOR", "lab:20408")
    pooled = load_bench(bench_file(tmp_path, extra='[labgrid]\npool = "nightly"\n')).labgrid
    assert pooled is not None and pooled.tags == {"pool": "nightly"}
    assert pooled.coordinator == "lab:20408"
    named = load_bench(
        bench_file(tmp_path, extra='[labgrid]\nplace = "bench-a"\ncoordinator = "c:1"\n')
    ).labgrid
    assert named is not None and (named.place, named.coordinator) == ("bench-a", "c:1")
    assert parse_tags("nightly") == {"pool": "nightly"}
    assert parse_tags("site=leeds,kind=esme") == {"site": "leeds", "kind": "esme"}


def serial(name: str, port: int) -> PlaceResource:
    return PlaceResource(name, "NetworkSerialPort", "host-1", {"host": "10.0.0.5", "port": port})


def test_a_bench_on_a_place_reaches_each_device_through_it(tmp_path: Path) -> None:
    bench = load_bench(bench_file(tmp_path))
    modbus = PlaceResource("bench_io", "ModbusTCPCoil", "host-1", {"host": "10.0.0.5", "coil": 3})
    on_place = bench_on_place(
        bench,
        "bench_a",
        {"esme": serial("esme", 4000), "hub": serial("hub", 4001), "bench_io": modbus},
    )
    assert on_place.device("esme").port == "rfc2217://10.0.0.5:4000?ign_set_control"
    assert on_place.device("gsme").port is None and not on_place.device("gsme").emulated
    # which place and exporter serve each device, for messages (a link lost names them)
    assert on_place.device("esme").place == "place bench_a (exporter host-1)"
    assert on_place.device("gsme").place == "place bench_a (exporter host-1)"  # its hub's
    assert on_place.bench_io is not None and on_place.bench_io.tcp == ("10.0.0.5", 502)
    served = PlaceResource("bench_io", "ModbusTCPCoil", "h", {"host": "127.0.0.1:4502", "coil": 0})
    on_place = bench_on_place(
        bench,
        "bench_a",
        {"esme": serial("esme", 4000), "hub": serial("hub", 4001), "bench_io": served},
    )
    assert on_place.bench_io is not None and on_place.bench_io.tcp == ("127.0.0.1", 4502)


def test_a_place_missing_a_physical_device_is_one_line(tmp_path: Path) -> None:
    bench = load_bench(bench_file(tmp_path))
    with pytest.raises(BenchError, match=r"place bench_a has no resource for device 'hub'"):
        bench_on_place(bench, "bench_a", {"esme": serial("esme", 4000)})


def test_a_served_emulated_bench_exports_its_io_module_on_loopback_only() -> None:
    from rig.lab.serve import served_bench_io

    bench = load_bench(Path("rig/config/benches/emulated.toml"))
    assert served_bench_io(bench, "127.0.0.1") is not None
    assert served_bench_io(bench, "bench-host-1") is None  # it listens on loopback only
    module = bench_resources(bench, {"esme": "/dev/pts/7"}, ("127.0.0.1", 4502))[1]
    assert (module.cls, module.params) == ("ModbusTCPCoil", {"host": "127.0.0.1:4502", "coil": 0})


def test_an_emulated_meter_on_a_place_loses_its_emulated_io_module() -> None:
    bench = load_bench(Path("rig/config/benches/emulated.toml"))
    on_place = bench_on_place(bench, "rig_ci_1", {"esme": serial("esme", 4000)})
    assert not on_place.device("esme").emulated
    assert on_place.bench_io is None  # its relay cannot power a meter on another host
