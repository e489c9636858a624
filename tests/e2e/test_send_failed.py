"""The device API's ``send_failed``: a device that learns a frame it took was not delivered
(the HAN's APS retries spent) fails the request that sent it at once, with the device's
reason, instead of by its response timeout (docs/han.md "Faults on the air"). Here through a
physical meter's port that nobody answers, so nothing but ``send_failed`` ends the request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from one_esme_bench import METER, esme_bench

from devices.transports.pty_pair import open_pty_pair
from rig.config.bench import load_bench
from rig.keys.pki import generate_pki
from rig.live.launch import launch
from rig.live.orchestrator import Rig


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    generate_pki(tmp_path / "meter-keys", remote_parties=(), devices=[METER])
    with open_pty_pair() as pair:
        bench = tmp_path / "bench.toml"
        port = f'port = "{pair.slave_path}"\nresponse_timeout_s = 30\n'
        bench.write_text(esme_bench("silent-meter", port, keys=("meter-keys",)))
        with launch(load_bench(bench), tmp_path / "run") as running:
            yield running


def fail_on_the_loop(rig: Rig, frame: bytes, reason: str) -> None:
    """What a device does when it learns the frame was not delivered (on the loop's thread)."""
    [device] = rig._by_eui.values()  # type: ignore[attr-defined]
    rig._loop.call_soon_threadsafe(rig.send_failed, device, frame, reason)  # type: ignore[attr-defined]


def sent(rig: Rig, mangle: object = None) -> tuple[object, list[bytes]]:
    """A request on the wire to the silent meter, and the frame it sent."""
    frames: list[bytes] = []

    def keep(frame: bytes) -> bytes:
        frames.append(frame)
        return frame if mangle is None else b"not a GBCS frame"

    future = rig.submit_read_supply_status("esme", mangle=keep)
    deadline = time.monotonic() + 10
    while not frames:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.1)  # on the wire
    return future, frames


def test_the_request_the_frame_names_fails_at_once_with_the_device_reason(rig: Rig) -> None:
    future, [frame] = sent(rig)
    other, _ = sent(rig)
    started = time.monotonic()
    fail_on_the_loop(rig, frame, "HAN: APS delivery to esme failed after 3 retries (no APS ack)")
    record = future.result(timeout=5)  # type: ignore[attr-defined]
    assert time.monotonic() - started < 2
    assert record.reason == "HAN: APS delivery to esme failed after 3 retries (no APS ack)"
    assert not other.done()  # type: ignore[attr-defined]  # only the request the frame names
    fail_on_the_loop(rig, frame, "again")  # finished already: nothing happens
    time.sleep(0.2)
    assert not other.done()  # type: ignore[attr-defined]


def test_a_frame_whose_header_does_not_parse_fails_the_oldest_request_on_the_wire(
    rig: Rig,
) -> None:
    future, _ = sent(rig, mangle=True)
    fail_on_the_loop(rig, b"not a GBCS frame", "not delivered")
    assert future.result(timeout=5).reason == "not delivered"  # type: ignore[attr-defined]
