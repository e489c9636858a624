"""The bench's Modbus I/O module as the rig uses it (docs/bench-io.md): started on the rig's loop
before the devices, with blocking methods for the test plan's thread.

The same object serves an emulated module (an :class:`EmulatedBenchIO` started here, which the
emulated meter reports its supply state to) and a physical one (only the :class:`BenchIO`
driver); either way every contactor reading is a real Modbus read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from devices.benchio.client import BenchIO, BenchIOError, ContactorTiming
from devices.benchio.emulator import EmulatedBenchIO

T = TypeVar("T")


class BenchIOModule:
    """One module wired to one meter: its contactor sense and its mains relay.

    ``connect`` makes the driver once the emulated module (if any) is listening, so it can
    point at the module's ephemeral port.
    """

    def __init__(
        self,
        meter: str,
        connect: Callable[[EmulatedBenchIO | None], BenchIO],
        *,
        emulator: EmulatedBenchIO | None = None,
    ) -> None:
        self.meter = meter
        self.emulator = emulator
        self._connect = connect
        self._client: BenchIO | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def supply_address(self) -> tuple[str, int]:
        """Where an emulated meter sends its supply reports (after :meth:`start`)."""
        if self.emulator is None or self._loop is None:
            raise BenchIOError("no emulated bench I/O module is running")
        return self.emulator.supply_address

    async def start(self) -> None:
        """Start the emulated module (if any) and connect the driver, on the running loop."""
        self._loop = asyncio.get_running_loop()
        if self.emulator is not None:
            await self.emulator.start()
        self._client = await self._connect(self.emulator).connect()

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.emulator is not None:
            await self.emulator.close()

    @property
    def client(self) -> BenchIO:
        """The driver, for coroutines on the rig's loop."""
        if self._client is None:
            raise BenchIOError("the bench I/O module is not started")
        return self._client

    # -- blocking, for test plans (any thread but the rig's loop) -------------------------

    def contactor_closed(self) -> bool:
        """One read of the contactor sense."""
        return self._run(self.client.contactor_closed())

    def wait_for_contactor(
        self, closed: bool, timeout: float, *, since: float | None = None
    ) -> ContactorTiming:
        """Poll the sense input until it reads ``closed`` (see :meth:`BenchIO.wait_for_contactor`;
        ``since`` is a loop time such as a request's ``on_wire`` stamp)."""
        return self._run(self.client.wait_for_contactor(closed, timeout, since=since))

    def power_cycle(self, device: str, off_seconds: float = 1.0) -> tuple[float, float]:
        """Cut ``device``'s mains for ``off_seconds`` through the relay; return (off at, on at).
        Only the meter the module is wired to can be cycled."""
        if device != self.meter:
            raise BenchIOError(f"the bench I/O relay powers {self.meter!r}, not {device!r}")
        return self._run(self.client.power_cycle(off_seconds))

    def pulse_count(self) -> int:
        return self._run(self.client.pulse_count())

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coro.close()
            raise BenchIOError("the bench I/O module is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()
