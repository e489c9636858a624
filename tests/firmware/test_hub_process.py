"""The emulated premises process: a real pty, real framing, one hub with its meters."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import serial
from firmware_parties import CHF, ESME, GSME, SUPPLIER, Supplier

from devices.emulated.host import spawn_emulator
from devices.emulated.hub import hub_argv
from devices.transports.hdlc import Frame, FrameDecoder, FrameKind, encode_frame
from rig.gbcs import gbz_usecases as gbz_uc
from rig.gbcs import usecases
from rig.keys.keystore import KeyStore


def exchange(port: serial.Serial, frames: list[bytes], count: int, timeout: float) -> list[bytes]:
    for frame in frames:
        port.write(encode_frame(FrameKind.GBCS, frame))
    decoder, got = FrameDecoder(), []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        for item in decoder.feed(port.read(4096)):
            if isinstance(item, Frame) and item.kind is FrameKind.GBCS:
                got.append(item.payload)
    return got


def test_one_process_serves_the_whole_premises(
    pki: KeyStore, supplier: Supplier, tmp_path: Path
) -> None:
    description = tmp_path / "premises.json"
    description.write_text(
        json.dumps(
            {
                "chf": str(CHF),
                "keys": [str(d) for d in pki.dirs],
                "esme": {"eui": str(ESME), "credit_pence": 1_000},
                "gsme": {"eui": str(GSME), "wake_interval": 0.5, "wake_window": 0.1},
            }
        )
    )
    frames = [
        supplier.command(ESME, usecases.ReadSupplyStatusEsme(), 0x0052),
        supplier.command(GSME, gbz_uc.ReadSupplyStatusGsme(), 0x0082),
    ]
    with (
        spawn_emulator(hub_argv(description)) as emulator,
        serial.Serial(emulator.port, timeout=0.1) as port,
    ):
        replies = exchange(port, frames, 2, timeout=10.0)
    originators = sorted(str(supplier.open(r)[0].originator) for r in replies)
    assert originators == sorted([str(ESME), str(GSME)])
    assert all(supplier.open(r)[0].recipient == SUPPLIER for r in replies)


def test_a_bad_description_fails_with_its_key(tmp_path: Path) -> None:
    description = tmp_path / "bad.json"
    description.write_text(json.dumps({"chf": "nope", "keys": ["k"]}))
    result = subprocess.run(hub_argv(description), capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "bad.json.chf" in result.stderr


def test_the_clock_skew_fault_is_logged_by_the_process(pki: KeyStore, tmp_path: Path) -> None:
    description = tmp_path / "premises.json"
    description.write_text(json.dumps({"chf": str(CHF), "keys": [str(d) for d in pki.dirs]}))
    with spawn_emulator(hub_argv(description, clock_skew_s=-30.5)) as emulator:
        assert "fault clock_skew: device clock -30.500 s" in emulator.stderr_tail()
