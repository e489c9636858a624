"""Issue 13: a port that does not open, a network port whose far end closes at once, a meter
with other keys than the bench's, a meter that never answers: each is one line naming the
device, the port (or key file) and the cause, found when the session starts where it can be.
Real transports throughout: ptys, loopback sockets."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from devices.transports.hdlc import FrameDecoder, FrameKind, encode_frame
from devices.transports.pty_pair import PtyPair, open_pty_pair
from rig.cli import main
from rig.config.bench import load_bench
from rig.gbcs.codec import DeviceCodec
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import decode
from rig.keys import RTDS_KEYS
from rig.keys.keystore import KeyStore, Role, key_file_name
from rig.keys.pki import generate_pki
from rig.live.launch import launch
from rig.live.loop_thread import BenchUnavailable

METER = Eui64.parse("00-DB-12-34-56-78-91-01")

HEAD = """
[bench]
name = "ports"
[keys]
dirs = ["bench-keys", "@rtds"]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
"""
DEVICE = """
[[device]]
name = "{name}"
kind = "esme"
eui = "00-DB-12-34-56-78-91-0{index}"
port = "{port}"
response_timeout_s = {timeout}
"""


def write_bench(folder: Path, ports: list[str], timeout: float = 5.0) -> Path:
    """A physical bench with one ESME per port (``m1``, ``m2``, …) and generated keys."""
    euis = [Eui64.parse(f"00-DB-12-34-56-78-91-0{i}") for i in range(1, len(ports) + 1)]
    generate_pki(folder / "bench-keys", remote_parties=(), devices=euis, overwrite=True)
    devices = [
        DEVICE.format(name=f"m{i}", index=i, port=port, timeout=timeout)
        for i, port in enumerate(ports, 1)
    ]
    path = folder / "bench.toml"
    path.write_text(HEAD + "".join(devices))
    return path


def closed_port() -> int:
    """A loopback TCP port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def hang_up_server() -> Iterator[int]:
    """A loopback port that accepts and closes at once, as ``ssh -L`` does when the forward's
    target is unreachable."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        server.close()


@pytest.fixture
def pty() -> Iterator[PtyPair]:
    with open_pty_pair() as pair:
        yield pair


def test_rig_check_names_every_port_that_does_not_open_in_one_line_each(
    tmp_path: Path, hang_up_server: int, pty: PtyPair
) -> None:
    missing = tmp_path / "ttyUSB9"
    refused = f"rfc2217://127.0.0.1:{closed_port()}"
    hung_up = f"socket://127.0.0.1:{hang_up_server}"
    bench = write_bench(tmp_path, [str(missing), refused, hung_up, pty.slave_path])
    result = CliRunner().invoke(main, ["check", str(bench), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().removeprefix("Error: ").splitlines()
    assert lines == [
        f"{bench}: m1: cannot open {missing}: no such port (unplugged, or the name mistyped?)",
        f"{bench}: m2: cannot open {refused}: connection refused (nothing listens there: is "
        "the serial server or the loopback forward running?)",
        f"{bench}: m3: {hung_up} was closed by the far end as soon as it opened (a loopback "
        "forward does this when its target is unreachable or refuses)",
    ]


def test_a_session_starts_with_every_port_open(tmp_path: Path, pty: PtyPair) -> None:
    bench = load_bench(write_bench(tmp_path, [pty.slave_path, str(tmp_path / "gone")]))
    with pytest.raises(BenchUnavailable) as raised:
        launch(bench, tmp_path / "run").start()
    assert str(raised.value).splitlines() == [
        f"{bench.path}: m2: cannot open {tmp_path / 'gone'}: no such port (unplugged, or the "
        "name mistyped?)"
    ]


def play_meter(pair: PtyPair, codec: DeviceCodec, stop: threading.Event) -> None:
    """A meter on the pty's other end that answers every command (MAC'd with its own keys)."""
    decoder = FrameDecoder()
    os.set_blocking(pair.master_fd, False)
    while not stop.is_set():
        try:
            data = os.read(pair.master_fd, 4096)
        except BlockingIOError:
            time.sleep(0.005)
            continue
        for frame in decoder.feed(data):
            if getattr(frame, "kind", None) is FrameKind.GBCS:
                response = codec.build_response(decode(frame.payload), b"\x00")
                os.write(pair.master_fd, encode_frame(FrameKind.GBCS, response))


def test_a_response_mac_made_with_other_keys_names_the_key_file(
    tmp_path: Path, pty: PtyPair
) -> None:
    bench = load_bench(write_bench(tmp_path, [pty.slave_path]))
    generate_pki(tmp_path / "meter-keys", remote_parties=(), devices=[METER])  # its own keys
    own = KeyStore([tmp_path / "meter-keys"]).ka_private(METER)
    codec = DeviceCodec(METER, ka_private=own, ds_private=None, keys=KeyStore([RTDS_KEYS]))
    stop = threading.Event()
    meter = threading.Thread(target=play_meter, args=(pty, codec, stop), daemon=True)
    meter.start()
    try:
        with launch(bench, tmp_path / "run") as rig:
            started = time.monotonic()
            record = rig.read_supply_status("m1", timeout=10)
    finally:
        stop.set()
        meter.join()
    assert time.monotonic() - started < 4  # not the 5 s response timeout
    used = tmp_path / "bench-keys" / key_file_name(METER, Role.KA, private=False)
    assert record.reason == (
        f"MAC of the response from m1 does not verify with {used} (are the bench's keys for m1 "
        "the device's?)"
    )


def test_a_silent_meter_times_out_with_what_the_rig_knows(tmp_path: Path, pty: PtyPair) -> None:
    bench = load_bench(write_bench(tmp_path, [pty.slave_path], timeout=0.3))
    with launch(bench, tmp_path / "run") as rig:
        record = rig.read_supply_status("m1", timeout=10)
    used = tmp_path / "bench-keys" / key_file_name(METER, Role.KA, private=False)
    assert record.reason == (
        f"no response from m1 within 0.3 s; nothing has come from m1 since the session started "
        f"(is it powered and on {pty.slave_path}? a meter also ignores a command whose MAC it "
        f"cannot verify: is {used} its key?)"
    )


def test_a_lost_link_is_said_once_in_each_reason(tmp_path: Path) -> None:
    pair = open_pty_pair()
    bench = load_bench(write_bench(tmp_path, [pair.slave_path], timeout=30))
    with launch(bench, tmp_path / "run") as rig:
        waiting = rig.submit_read_supply_status("m1")
        time.sleep(0.3)  # on the wire, unanswered
        pair.close()  # the meter's end goes: the rig reads EIO
        caught = waiting.result(timeout=10)
        later = rig.read_supply_status("m1", timeout=10)
    for record, start in ((caught, "m1: link lost ("), (later, "could not send to m1: link ")):
        assert record.reason is not None and record.reason.startswith(start), record.reason
        assert record.reason.count("link") == 1 and record.reason.count("m1") == 1, record.reason
