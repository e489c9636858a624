"""``[[han.fault]]`` in the bench file (rig/config/han.py), carried to the emulated HAN's
description (rig/live/han.py) and read back as the air's faults (devices/han/emulated.py)."""

import json
import logging
import math
from dataclasses import replace

import pytest
from test_han_bench_file import HAN, write

from devices.han.emulated import _fault
from devices.spinel.air_faults import AirFault, AirFaultKind
from devices.transports.faults import Direction, Fault, FaultRecord
from rig.config.bench import BenchError, load_bench
from rig.live.han import AirFaultLog, write_description

FAULTS = """
[[han.fault]]
kind = "jam"
at_s = 5
for_s = 1.5
[[han.fault]]
kind = "replay"
at_s = 20
device = "esme"
direction = "rx"
[[han.fault]]
kind = "delay"
probability = 0.5
delay_s = 0.2
"""


def bench_with(tmp_path, faults: str):
    return load_bench(write(tmp_path, HAN.replace("loss = 0.0\n", "loss = 0.0\n" + faults)))


def test_faults_load_and_reach_the_description_with_the_device_eui(tmp_path):
    bench = bench_with(tmp_path, FAULTS)
    assert bench.han is not None
    assert [f.kind for f in bench.han.faults] == ["jam", "replay", "delay"]
    path = write_description(bench.han, bench, tmp_path / "han", [])
    faults = [_fault(f) for f in json.loads(path.read_text())["faults"]]
    assert faults == [
        AirFault(AirFaultKind.JAM, at_s=5.0, for_s=1.5),
        AirFault(
            AirFaultKind.REPLAY,
            at_s=20.0,
            device=bytes.fromhex("00DB123456789402"),
            direction=Direction.RX,
        ),
        AirFault(AirFaultKind.DELAY, probability=0.5, delay_s=0.2),
    ]
    assert faults[0].for_s == 1.5 and faults[2].for_s == math.inf


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'kind = "fry"',
            r"han\.fault\[0\]\.kind: expected one of drop, delay, corrupt, replay, jam, got 'fry'",
        ),
        ('kind = "drop"\nat_s = -1', r"han\.fault\[0\]\.at_s: expected a number >= 0.0, got -1"),
        ('kind = "replay"\nfor_s = 2', r"han\.fault\[0\]\.for_s: expected unset for a replay"),
        ('kind = "drop"\ndirection = "up"', r"han\.fault\[0\]\.direction: expected tx .* got 'up'"),
        ('kind = "drop"\nprobability = 2', r"han\.fault\[0\]\.probability: expected a probability"),
        (
            'kind = "drop"\ndevice = "gsme"',
            r"han\.fault\[0\]\.device: expected the name of a device on the HAN \(esme\), "
            "got 'gsme'",
        ),
        ('kind = "drop"\nwhen = 3', r"han\.fault\[0\]\.when: unknown key"),
    ],
)
def test_fault_errors_name_the_file_key_and_value(tmp_path, text, message):
    with pytest.raises(BenchError, match=r"bench\.toml: " + message):
        bench_with(tmp_path, f"[[han.fault]]\n{text}\n")


def test_faults_need_the_emulated_air(tmp_path):
    text = HAN.replace("emulated = true", 'port = "/dev/ttyACM0"').replace("loss = 0.0\n", "")
    with pytest.raises(BenchError, match=r"han\.fault: expected unset with a physical radio"):
        load_bench(
            write(
                tmp_path, text.replace("[[device]]", '[[han.fault]]\nkind = "drop"\n[[device]]', 1)
            )
        )


def test_the_air_fault_log_reaches_the_results_as_serial_faults_do(tmp_path, caplog):
    """What the emulated HAN logs (one FaultRecord a line, the meter by its EUI-64) is noted
    with the meter's bench name, read as the log grows; a half-written line waits for its end,
    and a line that is no record is skipped with a warning."""
    esme = "00DB123456789402"
    drop = FaultRecord(1.5, Direction.TX, Fault.DROP, (b"\x41\x88\x01",), "hub to esme", esme)
    jam = FaultRecord(2.0, Direction.TX, Fault.JAM, (b"\x01",), "from hub: CCA failure")
    path = tmp_path / "air-faults.jsonl"
    noted: list[dict[str, object]] = []
    log = AirFaultLog(path, {esme: "esme"}, noted.append)
    log.read()  # no log yet: nothing
    line = json.dumps(drop.to_json()) + "\n"
    path.write_text(line + "not json\n" + json.dumps(jam.to_json())[:20])
    with caplog.at_level(logging.WARNING):
        log.read()
    assert noted == [{**drop.to_json(), "device": "esme"}]
    assert "air-faults.jsonl: Expecting value" in caplog.text
    with path.open("a") as rest:
        rest.write(json.dumps(jam.to_json())[20:] + "\n")
    log.read()
    assert [FaultRecord.from_json(n) for n in noted] == [replace(drop, device="esme"), jam]
    assert noted[0]["frames"] == ["418801"]
