"""Fault injection: the seeded core (deterministic, every fault logged) and FaultyLink over a
loopback, over a device on each transport, and through injected outages."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from link_helpers import TIMEOUT
from test_reconnect import Events

from devices.emulated.host import spawn_emulator
from devices.serial_device import TRANSPORTS, SerialDevice, Transport, serial_server_argv
from devices.transports.faults import (
    INJECTED_OUTAGE,
    Direction,
    Emit,
    Fault,
    FaultInjector,
    FaultRates,
    FaultyLink,
)
from devices.transports.serial_link import SerialLink
from rig.gbcs.eui import Eui64

ECHO = [sys.executable, str(Path(__file__).with_name("echo_firmware.py"))]
TX, RX = Direction.TX, Direction.RX

# -- the core, sans I/O ---------------------------------------------------------------------


def run(injector: FaultInjector, frames: list[bytes], direction: Direction = TX) -> list[Emit]:
    out: list[Emit] = []
    for i, frame in enumerate(frames):
        out += injector.process(direction, frame, now=float(i))
    return out


def test_no_rates_no_faults() -> None:
    injector = FaultInjector(seed=1)
    assert run(injector, [b"a", b"b"]) == [Emit(0.0, b"a"), Emit(1.0, b"b")]
    assert injector.log == []


def test_same_seed_same_faults_other_seed_other_faults() -> None:
    rates = FaultRates(drop=0.2, corrupt=0.2, duplicate=0.2, delay=0.2, reorder=0.2)
    frames = [bytes([i]) * 8 for i in range(200)]

    def outcome(seed: int) -> tuple[list[Emit], list[object]]:
        injector = FaultInjector(seed, tx=rates)
        return run(injector, frames), injector.log

    assert outcome(7) == outcome(7)
    assert outcome(7) != outcome(8)
    faults = {record.fault for record in outcome(7)[1]}  # type: ignore[attr-defined]
    assert faults == {Fault.DROP, Fault.CORRUPT, Fault.DUPLICATE, Fault.DELAY, Fault.REORDER}


def test_scripted_drop_corrupt_duplicate_delay() -> None:
    injector = FaultInjector(seed=3, tx=FaultRates(delay_s=(0.5, 0.5)))
    injector.script(TX, 0, Fault.DROP)
    injector.script(TX, 1, Fault.CORRUPT)
    injector.script(TX, 2, Fault.DUPLICATE, Fault.DELAY)
    out = run(injector, [b"zero", b"\x00\x00", b"two", b"three"])
    corrupted = out[0].payload
    assert len(corrupted) == 2 and bin(int.from_bytes(corrupted, "big")).count("1") == 1
    assert out[1:] == [Emit(2.5, b"two"), Emit(2.5, b"two"), Emit(3.0, b"three")]
    log = [(r.direction, r.fault, r.frames) for r in injector.log]
    assert log == [
        (TX, Fault.DROP, (b"zero",)),
        (TX, Fault.CORRUPT, (b"\x00\x00", corrupted)),
        (TX, Fault.DELAY, (b"two",)),
        (TX, Fault.DUPLICATE, (b"two",)),
    ]


def test_reorder_holds_until_overtaken_or_expired() -> None:
    injector = FaultInjector(reorder_hold_s=10.0)
    injector.script(TX, 0, Fault.REORDER)
    assert injector.process(TX, b"first", 0.0) == []
    assert injector.next_expiry() == 10.0
    assert injector.process(RX, b"other way", 1.0) == [Emit(1.0, b"other way")]
    assert injector.process(TX, b"second", 2.0) == [Emit(2.0, b"second"), Emit(2.0, b"first")]
    assert injector.next_expiry() is None
    injector.script(TX, 2, Fault.REORDER)
    assert injector.process(TX, b"lonely", 3.0) == []
    assert injector.expire(12.9) == []
    assert injector.expire(13.0) == [(TX, Emit(13.0, b"lonely"))]
    assert [r.frames for r in injector.log if r.fault is Fault.REORDER] == [
        (b"first",),
        (b"first", b"second"),
        (b"lonely",),
    ]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        FaultRates(drop=1.5)
    with pytest.raises(ValueError):
        FaultRates(delay_s=(0.2, 0.1))
    with pytest.raises(ValueError):
        FaultInjector(reorder_hold_s=0)
    with pytest.raises(ValueError):
        FaultInjector().script(TX, 0, Fault.LINK_DOWN)


rate = st.floats(0.0, 1.0)


@given(
    seed=st.integers(0, 2**32),
    rates=st.builds(FaultRates, drop=rate, corrupt=rate, duplicate=rate, delay=rate, reorder=rate),
    frames=st.lists(st.binary(min_size=1, max_size=16), max_size=40),
)
def test_every_frame_is_accounted_for(seed: int, rates: FaultRates, frames: list[bytes]) -> None:
    """Out = in - dropped + duplicated, counting frames still held; nothing is ever emitted
    before it arrived."""
    injector = FaultInjector(seed, tx=rates)
    emitted = 0
    for i, frame in enumerate(frames):
        out = injector.process(TX, frame, float(i))
        assert all(emit.at >= i for emit in out)
        emitted += len(out)
    emitted += len(injector.expire(float("inf")))
    count = {f: sum(r.fault is f for r in injector.log) for f in Fault}
    assert emitted == len(frames) - count[Fault.DROP] + count[Fault.DUPLICATE]


# -- FaultyLink ------------------------------------------------------------------------------


def test_faulty_loopback_reorders_and_goes_down_and_up() -> None:
    """loop:// sends each frame back: it crosses the TX lane, then the RX lane."""

    async def main() -> None:
        injector = FaultInjector(seed=5)
        injector.script(RX, 0, Fault.REORDER)
        injector.script(TX, 2, Fault.DROP)
        rec = Events()
        link = FaultyLink(SerialLink.factory("loop://"), rec.events(), injector)
        await link.open()
        for payload in (b"a", b"b", b"dropped", b"c"):
            link.send(payload)
        async with asyncio.timeout(TIMEOUT):
            while len(rec.frames) < 3:
                await asyncio.sleep(0.01)
        assert rec.frames == [b"b", b"a", b"c"]

        link.take_down(duration=0.05)
        assert link.down and not link.is_open
        with pytest.raises(ConnectionError, match="injected outage"):
            link.send(b"during")
        log = await rec.wait_for(2)
        assert log[0].startswith(f"closed: {INJECTED_OUTAGE}")
        assert log[1] == "reopened"
        link.send(b"back")
        async with asyncio.timeout(TIMEOUT):
            while rec.frames[-1:] != [b"back"]:
                await asyncio.sleep(0.01)
        link.close()
        assert rec.log[-1] == "closed: closed"
        faults = [r.fault for r in injector.log]
        assert faults == [Fault.DROP, Fault.REORDER, Fault.REORDER, Fault.LINK_DOWN, Fault.LINK_UP]

    asyncio.run(main())


class Collector:
    def __init__(self) -> None:
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()
        self.lost: list[str] = []

    def frame_received(self, device: object, frame: bytes, at: float) -> None:
        self.frames.put_nowait(frame)

    def link_lost(self, device: object, reason: str) -> None:
        self.lost.append(reason)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_device_faults_on_every_transport(transport: Transport) -> None:
    with spawn_emulator(ECHO) as emulator:
        bridge = None
        port = emulator.port
        if transport != "pty":
            bridge = spawn_emulator(serial_server_argv(port, rfc2217=transport == "rfc2217"))
            port = bridge.port
        try:

            async def main() -> None:
                injector = FaultInjector(seed=11)
                injector.script(TX, 0, Fault.DROP)
                injector.script(RX, 0, Fault.CORRUPT)
                eui = Eui64.parse("00-DB-12-34-56-78-91-01")
                device = SerialDevice("esme", eui, port, faults=injector)
                collector = Collector()
                await device.open(asyncio.get_running_loop(), collector)
                device.send(b"never arrives")
                device.send(b"arrives damaged")
                device.send(b"arrives intact")
                damaged = await asyncio.wait_for(collector.frames.get(), TIMEOUT)
                intact = await asyncio.wait_for(collector.frames.get(), TIMEOUT)
                assert damaged != b"ECHO:arrives damaged" and len(damaged) == 20
                assert intact == b"ECHO:arrives intact"
                assert isinstance(device.link, FaultyLink)
                device.link.take_down(reason="cable pulled")
                assert collector.lost == [f"{INJECTED_OUTAGE} (cable pulled)"]
                await device.close()
                assert [r.fault for r in injector.log] == [
                    Fault.DROP,
                    Fault.CORRUPT,
                    Fault.LINK_DOWN,
                ]

            asyncio.run(main())
        finally:
            if bridge is not None:
                bridge.stop()
