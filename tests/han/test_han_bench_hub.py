"""The bench file's Comms Hub on the HAN (``kind = "comms_hub"``, ``transport = "han"``: the
rig's own CHF) and a meter's ``on_log`` (docs/bench-files.md, docs/han.md "The device log")."""

from pathlib import Path

import pytest
from test_han_bench_file import HAN, write

from rig.config.bench import BenchError, load_bench
from rig.gbcs.eui import Eui64
from rig.live.emulate import _served_han
from rig.live.han import han_devices

HUB = """
[[device]]
name = "hub"
kind = "comms_hub"
transport = "han"
"""


def test_the_comms_hub_is_the_rigs_own_with_the_han_eui(tmp_path: Path) -> None:
    bench = load_bench(
        write(tmp_path, HAN + HUB.replace('"han"\n', '"han"\neui = "00-DB-12-34-56-78-94-01"\n'))
    )
    hub = bench.device("hub")
    assert hub.eui == Eui64.parse("00-DB-12-34-56-78-94-01") and hub.inventory_type == "CHF"
    assert hub.emulated and hub.install_code is None
    assert bench.device("esme").on_log  # on the log from the start unless the bench says not


def test_a_meter_off_the_log_and_the_hubs_devices(tmp_path: Path) -> None:
    text = HAN.replace('transport = "han"', 'transport = "han"\non_log = false') + HUB
    bench = load_bench(write(tmp_path, text))
    assert not bench.device("esme").on_log
    hub, devices = han_devices(bench, tmp_path / "run", list(bench.key_dirs), None)
    assert sorted(devices) == ["esme", "hub"] and list(hub.members) == ["esme"]
    assert not hub.log  # the ESME waits for SRV 8.11


@pytest.mark.parametrize(
    ("extra", "key", "expected"),
    [
        ('eui = "00-DB-12-34-56-78-94-09"', "eui", "[han] eui (00-DB-12-34-56-78-94-01), or unset"),
        ('install_code = "00"', "install_code", "unset on the HAN's Comms Hub"),
        ("on_log = false", "on_log", "unset on the HAN's Comms Hub"),
        ('port = "/dev/ttyUSB0"', "port", "unset on the HAN's Comms Hub"),
    ],
)
def test_a_comms_hub_on_the_han_refuses_what_is_not_its_own(
    tmp_path: Path, extra: str, key: str, expected: str
) -> None:
    with pytest.raises(BenchError) as caught:
        load_bench(write(tmp_path, HAN + HUB + extra + "\n"))
    message = str(caught.value)
    assert f"device[1].{key}: expected {expected}" in message and "\n" not in message


def test_on_log_is_a_han_meters_key(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match=r"device\[0\]\.on_log: expected true or false"):
        load_bench(
            write(tmp_path, HAN.replace('transport = "han"', 'transport = "han"\non_log = 0'))
        )


def test_a_comms_hub_on_the_han_needs_a_han(tmp_path: Path) -> None:
    text = HAN.split("[han]")[0] + HUB
    with pytest.raises(BenchError, match=r"device\[0\]\.transport: expected a \[han\] table"):
        load_bench(write(tmp_path, text))


def test_rig_emulate_serves_the_meters_not_the_rigs_own_hub(tmp_path: Path) -> None:
    """``rig emulate`` on a HAN bench with the Comms Hub device (the shipped han.toml) prints
    the meters' ``[[device]]`` tables for the driving rig: the hub is that rig itself."""
    bench = load_bench(write(tmp_path, HAN + HUB))
    _, served = _served_han(bench, "/dev/pts/9", tmp_path)
    assert [s.name for s in served] == ["esme"]
    assert bench.device("hub").transport == "han"
