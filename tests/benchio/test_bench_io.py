"""BenchIO against the emulated module (a real pymodbus server on loopback), and the emulated
ESME driving the contactor sense through its supply reports."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from devices.benchio.client import BenchIO, ContactorTiming
from devices.benchio.contactor import ContactorModel
from devices.benchio.emulator import EmulatedBenchIO
from devices.serial_device import emulated_esme
from rig.gbcs.eui import Eui64
from rig.keys.pki import generate_pki

TIMEOUT = 10.0
DELAY = 0.05
ESME = Eui64.parse("00-DB-12-34-56-78-91-01")

Scenario = Callable[[EmulatedBenchIO, BenchIO], Awaitable[None]]


def with_bench(
    scenario: Scenario, contactor: ContactorModel | None = None, **emulator: object
) -> None:
    async def main() -> None:
        async with EmulatedBenchIO(contactor, **emulator) as module:  # type: ignore[arg-type]
            host, port = module.address
            async with BenchIO.tcp(host, port, poll_interval_s=0.005) as bench:
                await asyncio.wait_for(scenario(module, bench), TIMEOUT)

    asyncio.run(main())


def bracket(timing: ContactorTiming, moved_after: float) -> None:
    """The contact really moved ``moved_after`` seconds after ``since``: the measurement must
    bracket it, with the resolution it reports."""
    assert timing.earliest_s <= moved_after <= timing.elapsed_s
    assert timing.resolution_s == pytest.approx(timing.elapsed_s - timing.earliest_s)
    assert timing.polls >= 1


def test_contactor_timing_brackets_the_actuation_delay() -> None:
    async def scenario(module: EmulatedBenchIO, bench: BenchIO) -> None:
        assert await bench.contactor_closed()
        since = asyncio.get_running_loop().time()
        module.set_supply(False, at=since)
        opened = await bench.wait_for_contactor(False, timeout=TIMEOUT, since=since)
        assert not opened.closed and opened.polls > 1
        bracket(opened, DELAY)
        since = asyncio.get_running_loop().time()
        module.set_supply(True, at=since)
        bracket(await bench.wait_for_contactor(True, timeout=TIMEOUT, since=since), DELAY)
        assert [closed for _, closed, _ in module.supply_log] == [False, True]

    with_bench(scenario, ContactorModel(actuation_delay_s=DELAY))


def test_already_in_state_and_timeout() -> None:
    async def scenario(module: EmulatedBenchIO, bench: BenchIO) -> None:
        now = await bench.wait_for_contactor(True, timeout=1.0)
        assert now.polls == 1 and now.earliest_s == 0.0
        with pytest.raises(TimeoutError, match="contactor still closed"):
            await bench.wait_for_contactor(False, timeout=0.05)

    with_bench(scenario)


def test_power_cycle_and_pulses() -> None:
    events: list[bool] = []

    async def scenario(module: EmulatedBenchIO, bench: BenchIO) -> None:
        off_at, on_at = await bench.power_cycle(0.02)
        assert on_at > off_at
        assert [powered for _, powered in module.power_log] == [False, True]
        first = await bench.pulse_count()
        await asyncio.sleep(0.05)
        assert await bench.pulse_count() > first
        module.set_supply(False)
        await bench.wait_for_contactor(False, timeout=TIMEOUT)
        stopped = await bench.pulse_count()
        await asyncio.sleep(0.05)
        assert await bench.pulse_count() == stopped

    with_bench(
        scenario,
        ContactorModel(actuation_delay_s=0.0, pulses_per_second=1000.0),
        on_power=lambda powered, at: events.append(powered),
    )
    assert events == [False, True]


def test_emulated_esme_reports_its_supply_to_the_bench(tmp_path: Path) -> None:
    """The module starts with the contact open; the meter process reports "connected" at start,
    and the contact closes one actuation delay later."""
    generate_pki(tmp_path, remote_parties=(), devices=[ESME])

    async def scenario(module: EmulatedBenchIO, bench: BenchIO) -> None:
        assert not await bench.contactor_closed()
        esme = emulated_esme(
            "esme",
            ESME,
            [tmp_path],
            processing_time_s=0.001,
            report_supply_to=module.supply_address,
        )
        loop = asyncio.get_running_loop()
        since = loop.time()
        await esme.open(loop, _Ignore())
        try:
            timing = await bench.wait_for_contactor(True, timeout=TIMEOUT, since=since)
            assert timing.closed
            [(reported_at, closed, source)] = module.supply_log
            assert closed and source == str(ESME)
            bracket(timing, reported_at + DELAY - since)
        finally:
            await esme.close()

    with_bench(scenario, ContactorModel(actuation_delay_s=DELAY, initially_closed=False))


class _Ignore:
    def frame_received(self, device: object, frame: bytes, at: float) -> None: ...

    def link_lost(self, device: object, reason: str) -> None: ...


def test_the_emulated_module_is_on_loopback_only_a_physical_one_anywhere() -> None:
    """The rig's own emulator listens on loopback only; a physical module may be on another
    host of the lab (made, not connected: no traffic leaves the machine)."""
    with pytest.raises(ValueError, match="not a loopback"):
        EmulatedBenchIO(host="192.0.2.1")

    async def made(host: str) -> int:
        module = BenchIO.tcp(host, 502)
        module.close()
        return module.device_id

    assert asyncio.run(made("192.0.2.1")) == asyncio.run(made("io-1.lab.example")) == 1
