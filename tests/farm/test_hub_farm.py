"""The hub farm: many premises in one process behind one loopback TCP listener."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from devices.emulated.farm import HubFarm, farm_euis, farm_spec, make_farm_keys
from devices.emulated.host import spawn_emulator
from devices.transports.hdlc import Frame, FrameDecoder, FrameKind, encode_frame
from firmware_stubs.premises import Premises
from rig.benchmarks.devices import benchmark_devices
from rig.benchmarks.farm import build_requests, measure_farm
from rig.gbcs.codec import RemotePartyCodec
from rig.gbcs.frame import decode
from rig.keys import RTDS_KEYS
from rig.keys.keystore import KeyStore

HUBS = 3


@pytest.fixture(scope="module")
def farm_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("farm-keys")
    make_farm_keys(folder, HUBS)
    return folder


def test_farm_euis_are_distinct_and_bounded() -> None:
    seen = {eui for n in (0, 1, 2**24 - 1) for eui in vars(farm_euis(n)).values()}
    assert len(seen) == 9
    with pytest.raises(ValueError, match="hub number"):
        farm_euis(2**24)


def test_frames_reach_the_premises_of_their_recipient(farm_keys: Path) -> None:
    keys = KeyStore([farm_keys, RTDS_KEYS])
    farm = HubFarm([Premises(farm_spec(n, (farm_keys, RTDS_KEYS)), keys=keys) for n in range(HUBS)])
    codec = RemotePartyCodec(keys)
    for frame in build_requests(HUBS, 2, keys):
        [(_, reply)] = farm.handle(frame, 10.0)
        assert codec.open_response(reply).signing.originator == decode(frame).signing.recipient
    stranger = farm_euis(0).esme.raw[:-1] + b"\xee"  # an EUI no premises holds
    frame = build_requests(1, 1, keys)[0]
    assert farm.handle(frame.replace(farm_euis(0).esme.raw, stranger), 11.0) == []
    assert farm.handle(b"\x00garbage", 11.0) == []
    assert farm.unrouted == 2


def test_the_farm_process_answers_over_tcp(farm_keys: Path) -> None:
    argv = [sys.executable, "-m", "devices.emulated.farm", "--hubs", str(HUBS)]
    frames = build_requests(HUBS, 1, KeyStore([farm_keys, RTDS_KEYS]))
    with spawn_emulator([*argv, "--keys", str(farm_keys)], timeout=60.0) as farm:
        assert farm.port.startswith("socket://127.0.0.1:")
        host, port = farm.port.removeprefix("socket://").split(":")
        with socket.create_connection((host, int(port)), timeout=10.0) as sock:
            sock.sendall(b"".join(encode_frame(FrameKind.GBCS, f) for f in frames))
            decoder, got = FrameDecoder(), []
            deadline = time.monotonic() + 20.0
            while len(got) < len(frames) and time.monotonic() < deadline:
                got += [i for i in decoder.feed(sock.recv(65536)) if isinstance(i, Frame)]
    assert len(got) == len(frames)


def test_the_bench_command_says_how_to_measure_the_farm() -> None:
    result = CliRunner().invoke(benchmark_devices, ["--hubs", "-1"])
    assert result.exit_code != 0 and "--hubs" in result.output


@pytest.mark.slow
def test_a_small_farm_keeps_up_and_reports_its_cpu(farm_keys: Path) -> None:
    result = measure_farm(HUBS, 2, keys_dir=farm_keys)
    assert result.answered == result.sent == 2 * HUBS
    assert result.farm_cpu >= 0 and result.hubs_per_core > 0
