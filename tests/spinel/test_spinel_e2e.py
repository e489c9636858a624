"""Two driver instances over two ptys of one emulated-RCP process, exchanging raw 802.15.4 frames
through the emulated air: an ACKed frame, a NO_ACK, frame pending from the source-match table,
and a timeout that names the port."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator

import pytest

from devices.emulated.host import EmulatorProcess, spawn_emulator
from devices.spinel.codec import Cap, Status
from devices.spinel.driver import RadioTimeout, SpinelRadio
from devices.spinel.emulated import HWADDR_PREFIX
from devices.spinel.properties import Prop
from devices.transports.pty_pair import open_pty_pair

PAN = 0x4742
HUB, METER = 0x0000, 0x0001
HUB_EUI = bytes.fromhex("00124B0052494701")
METER_EUI = bytes.fromhex("00124B0052494702")


def data_frame(dst: int, src: int, seq: int, payload: bytes, ack: bool = True) -> bytes:
    """A 2006 data frame, short addresses, PAN ID compression (IEEE 802.15.4-2006 §7.2.2.2)."""
    fc = 0x0001 | (0x20 if ack else 0) | 0x40 | 2 << 10 | 2 << 14
    head = fc.to_bytes(2, "little") + bytes([seq]) + PAN.to_bytes(2, "little")
    return head + dst.to_bytes(2, "little") + src.to_bytes(2, "little") + payload


def data_request(dst: int, src: int, seq: int) -> bytes:
    """A MAC Data Request command (§7.3.4), as a sleepy device polls its parent."""
    fc = 0x0003 | 0x20 | 0x40 | 2 << 10 | 2 << 14
    head = fc.to_bytes(2, "little") + bytes([seq]) + PAN.to_bytes(2, "little")
    return head + dst.to_bytes(2, "little") + src.to_bytes(2, "little") + b"\x04"


@pytest.fixture(scope="module")
def rcps() -> Iterator[EmulatorProcess]:
    argv = [sys.executable, "-m", "devices.spinel.emulated", "--radios", "2"]
    with spawn_emulator(argv) as process:
        yield process


@pytest.fixture
def radios(rcps: EmulatorProcess) -> Iterator[tuple[SpinelRadio, SpinelRadio]]:
    with SpinelRadio(rcps.ports[0]) as hub, SpinelRadio(rcps.ports[1]) as meter:
        for radio, short, eui in ((hub, HUB, HUB_EUI), (meter, METER, METER_EUI)):
            assert radio.reset() == Status.RESET_SOFTWARE
            radio.configure(channel=15, pan_id=PAN, short_address=short, extended_address=eui)
            radio.enable()
        yield hub, meter


def test_identity_of_the_emulated_rcp(radios: tuple[SpinelRadio, SpinelRadio]) -> None:
    hub, _ = radios
    assert hub.protocol_version() == (4, 3)
    assert "OPENTHREAD" in hub.ncp_version()
    assert {Cap.MAC_RAW, Cap.CONFIG_RADIO} <= set(hub.caps())
    assert hub.get(Prop.HWADDR) == (HWADDR_PREFIX + b"\x01",)


def test_acked_frame_arrives_with_its_metadata(radios: tuple[SpinelRadio, SpinelRadio]) -> None:
    hub, meter = radios
    frame = data_frame(METER, HUB, 1, b"GBCS")
    done = hub.transmit(frame)
    assert done.status == Status.OK and done.ack is not None
    assert done.ack.mac_frame == bytes([0x02, 0x00, 1])  # an ACK for sequence number 1
    heard = meter.receive(timeout=2.0)
    assert heard is not None
    assert heard.mac_frame == frame
    assert (heard.channel, heard.lqi, heard.rssi) == (15, 255, -40)
    assert heard.timestamp_us > 0


def test_unanswered_frame_is_no_ack_after_the_retries(
    radios: tuple[SpinelRadio, SpinelRadio],
) -> None:
    hub, meter = radios
    done = hub.transmit(data_frame(0x0BAD, HUB, 2, b"nobody"))
    assert done.status == Status.NO_ACK
    assert done.ack is None
    assert meter.receive(timeout=0.05) is None  # filtered out: not its address


def test_broadcast_needs_no_ack(radios: tuple[SpinelRadio, SpinelRadio]) -> None:
    hub, meter = radios
    done = hub.transmit(data_frame(0xFFFF, HUB, 3, b"all", ack=False))
    assert (done.status, done.ack) == (Status.OK, None)
    assert meter.receive(timeout=2.0) is not None


def test_poll_sees_frame_pending_from_the_source_match_table(
    radios: tuple[SpinelRadio, SpinelRadio],
) -> None:
    hub, meter = radios
    hub.src_match(True)
    assert meter.transmit(data_request(HUB, METER, 7)).frame_pending is False
    hub.add_pending(METER)
    done = meter.transmit(data_request(HUB, METER, 8))
    assert done.status == Status.OK and done.frame_pending is True
    polls = [hub.receive(timeout=2.0), hub.receive(timeout=2.0)]
    assert [p.acked_with_frame_pending for p in polls if p] == [False, True]
    hub.clear_pending(METER)
    assert meter.transmit(data_request(HUB, METER, 9)).frame_pending is False


def test_silent_port_times_out_naming_it() -> None:
    with open_pty_pair() as pty:
        radio = SpinelRadio(pty.slave_path, timeout=0.2)
        with pytest.raises(RadioTimeout, match=os.path.basename(pty.slave_path)) as caught:
            radio.reset()
        radio.close()
    assert "reset notification" in str(caught.value)


def test_a_short_receive_wait_is_kept_on_a_silent_port(
    radios: tuple[SpinelRadio, SpinelRadio],
) -> None:
    """``receive(0.002)`` on a quiet air returns after about 2 ms, not the port's 50 ms read
    timeout: the HAN hub's radio thread looks at its transmit queue between two such waits."""
    hub, _ = radios
    started = time.monotonic()
    for _ in range(20):
        assert hub.receive(0.002) is None
    assert time.monotonic() - started < 20 * 0.02  # 50 ms each before
