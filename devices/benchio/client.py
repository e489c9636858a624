"""``BenchIO``: the rig's driver for a Modbus bench I/O module, emulated or physical.

Contactor timing is a measurement: :meth:`BenchIO.wait_for_contactor` polls the sense input
every ``poll_interval_s`` and reports when the new state was first seen, together with the
window in which the contact really moved (the polling resolution). Times are ``loop.time()``
(``time.monotonic()``), the scale of ``SerialLink`` timestamps and the rig's journey stamps,
so ``since`` can be the moment a command frame was on the wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from devices.benchio.emulator import CONTACTOR_SENSE, DEVICE_ID, POWER_CUT, PULSE_COUNT


class BenchIOError(ConnectionError):
    """The module did not answer, or answered with a Modbus exception."""


@dataclass(frozen=True)
class ContactorTiming:
    """When the contactor reached ``closed``, measured from ``since``.

    The contact moved after ``earliest_s`` (the last poll that still saw the old state was sent
    then; 0 if the first poll already saw the new state) and by ``elapsed_s`` (the poll that saw
    it had returned), so ``resolution_s = elapsed_s - earliest_s`` bounds the error. Use
    ``elapsed_s`` against an upper limit and ``earliest_s`` against a lower one.
    """

    closed: bool
    elapsed_s: float
    earliest_s: float
    resolution_s: float
    poll_interval_s: float
    polls: int


@dataclass(frozen=True)
class PointMap:
    """Where the module's points are: the contactor sense (discrete input), the power relay
    (coil) and the pulse counter (two input registers, high word first; None: not wired).
    The default is the emulated module's map."""

    contactor_input: int = CONTACTOR_SENSE
    power_coil: int = POWER_CUT
    pulse_register: int | None = PULSE_COUNT


class BenchIO:
    """A Modbus bench I/O module over TCP (or RTU on a serial URL: :meth:`rtu`)."""

    def __init__(
        self,
        client: AsyncModbusTcpClient | AsyncModbusSerialClient,
        *,
        device_id: int = DEVICE_ID,
        poll_interval_s: float = 0.01,
        points: PointMap = PointMap(),
    ) -> None:
        if poll_interval_s <= 0:
            raise ValueError("poll_interval_s must be positive")
        self._client = client
        self.device_id = device_id
        self.poll_interval_s = poll_interval_s
        self.points = points

    @classmethod
    def tcp(
        cls,
        host: str,
        port: int,
        *,
        timeout_s: float = 1.0,
        device_id: int = DEVICE_ID,
        poll_interval_s: float = 0.01,
        points: PointMap = PointMap(),
    ) -> BenchIO:
        """A module on Modbus TCP at ``host`` (a name or address): the emulated module on
        loopback, or a physical one wherever the bench names it (another bench host of a lab,
        docs/lab.md)."""
        client = AsyncModbusTcpClient(host, port=port, timeout=timeout_s, retries=1)
        return cls(client, device_id=device_id, poll_interval_s=poll_interval_s, points=points)

    @classmethod
    def rtu(
        cls,
        url: str,
        *,
        baudrate: int = 19200,
        timeout_s: float = 1.0,
        device_id: int = DEVICE_ID,
        poll_interval_s: float = 0.01,
        points: PointMap = PointMap(),
    ) -> BenchIO:
        """A module on Modbus RTU over a serial port or pyserial URL (``socket://…`` too)."""
        client = AsyncModbusSerialClient(
            url, framer=FramerType.RTU, baudrate=baudrate, timeout=timeout_s, retries=1
        )
        return cls(client, device_id=device_id, poll_interval_s=poll_interval_s, points=points)

    async def connect(self) -> Self:
        if not await self._client.connect():
            raise BenchIOError(
                f"bench I/O module at {self._client.comm_params.host} did not answer"
            )
        return self

    def close(self) -> None:
        self._client.close()

    async def __aenter__(self) -> Self:
        return await self.connect()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def contactor_closed(self) -> bool:
        """Read the contactor sense input once."""
        response = await self._call(
            self._client.read_discrete_inputs(
                self.points.contactor_input, count=1, device_id=self.device_id
            )
        )
        return bool(response.bits[0])

    async def pulse_count(self) -> int:
        """The meter pulse counter (uint32, wraps)."""
        if self.points.pulse_register is None:
            raise BenchIOError("this bench I/O module has no pulse counter wired")
        response = await self._call(
            self._client.read_input_registers(
                self.points.pulse_register, count=2, device_id=self.device_id
            )
        )
        high, low = response.registers[:2]
        return high << 16 | low

    async def set_power(self, on: bool) -> float:
        """Switch the meter's mains; return the loop time the module acknowledged."""
        await self._call(
            self._client.write_coil(self.points.power_coil, not on, device_id=self.device_id)
        )
        return asyncio.get_running_loop().time()

    async def power_cycle(self, off_seconds: float) -> tuple[float, float]:
        """Cut the meter's mains for ``off_seconds``; return (off at, back on at)."""
        if off_seconds < 0:
            raise ValueError("off_seconds must be >= 0")
        off_at = await self.set_power(False)
        await asyncio.sleep(off_seconds)
        try:
            on_at = await self.set_power(True)
        except asyncio.CancelledError:
            await asyncio.shield(self.set_power(True))  # never leave the meter unpowered
            raise
        return off_at, on_at

    async def wait_for_contactor(
        self, closed: bool, timeout: float, *, since: float | None = None
    ) -> ContactorTiming:
        """Poll until the contactor sense reads ``closed``; raise TimeoutError after
        ``timeout`` seconds from ``since`` (default: now)."""
        loop = asyncio.get_running_loop()
        start = loop.time() if since is None else since
        deadline = start + timeout
        last_old_sent: float | None = None
        polls = 0
        while True:
            sent = loop.time()
            state = await self.contactor_closed()
            seen = loop.time()
            polls += 1
            if state == closed:
                earliest = 0.0 if last_old_sent is None else max(0.0, last_old_sent - start)
                elapsed = seen - start
                return ContactorTiming(
                    closed, elapsed, earliest, elapsed - earliest, self.poll_interval_s, polls
                )
            last_old_sent = sent
            if seen >= deadline:
                raise TimeoutError(
                    f"contactor still {'open' if closed else 'closed'} after {seen - start:.3f} s"
                    f" ({polls} polls)"
                )
            await asyncio.sleep(min(self.poll_interval_s, max(0.0, deadline - loop.time())))

    async def _call(self, request: Awaitable[ModbusPDU]) -> ModbusPDU:
        try:
            response = await request
        except ModbusException as exc:
            raise BenchIOError(f"bench I/O module: {exc}") from exc
        if response.isError():
            raise BenchIOError(f"bench I/O module refused: {response}")
        return response
