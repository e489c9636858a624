"""An emulated bench I/O module: a real pymodbus TCP server on loopback, for CI.

Register map (device id 1, bit-addressed coils and discrete inputs):

====================  ====  =====================================================
discrete input 0      DI0   contactor sense: True = contact closed (supply on)
coil 0                CO0   power relay drive: True = meter mains cut
input registers 0-1   IR0   meter pulse count, uint32, high word first
====================  ====  =====================================================

The sense input follows a :class:`~devices.benchio.contactor.ContactorModel`, evaluated at the
moment a client reads it. The model is driven by supply-state reports: JSON datagrams on
``supply_address`` (loopback UDP) sent by an emulated meter's host (``StateReporter``), or
:meth:`EmulatedBenchIO.set_supply` from the rig itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Self

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from devices.benchio.contactor import ContactorModel, contactor_closed
from devices.transports.loopback import check_loopback

_log = logging.getLogger(__name__)

DEVICE_ID = 1
CONTACTOR_SENSE = 0  # discrete input
POWER_CUT = 0  # coil
PULSE_COUNT = 0  # input registers 0 and 1
_READ_DISCRETE_INPUTS = 2
_READ_INPUT_REGISTERS = 4
_WRITE_COILS = frozenset({5, 15})


class _SupplyReports(asyncio.DatagramProtocol):
    def __init__(self, bench: EmulatedBenchIO) -> None:
        self._bench = bench

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            report = json.loads(data)
            supply = str(report["supply"])
            at = float(report["at"])
        except (ValueError, KeyError, TypeError) as exc:
            _log.warning("ignored supply report %r from %s: %s", data[:80], addr, exc)
            return
        self._bench.reporter = addr
        self._bench.set_supply(contactor_closed(supply), at=at, source=str(report.get("device")))


class EmulatedBenchIO:
    """The module: start it, point clients at ``address`` and meters at ``supply_address``.

    ``on_power(powered, at)`` is called when a client switches the power relay (for a rig that
    restarts an emulated meter on a power cycle). Report times are ``time.monotonic()`` values
    (system-wide on Linux, so another process's report lines up with this loop's clock); a
    report stamped in the future is taken as now.
    """

    def __init__(
        self,
        contactor: ContactorModel | None = None,
        *,
        host: str = "127.0.0.1",
        on_power: Callable[[bool, float], None] | None = None,
    ) -> None:
        check_loopback(host)
        self.contactor = contactor or ContactorModel()
        self.host = host
        self.powered = True
        #: (time, powered) for every power-relay change a client made.
        self.power_log: list[tuple[float, bool]] = []
        #: (time reported, closed, source) for every supply report that moved the contactor.
        self.supply_log: list[tuple[float, bool, str]] = []
        #: Called with (powered, at) when a client switches the power relay.
        self.on_power = on_power
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ModbusTcpServer | None = None
        self._reports: asyncio.DatagramTransport | None = None
        self.address: tuple[str, int] = (host, 0)
        self.supply_address: tuple[str, int] = (host, 0)
        #: Where the last supply report came from: the meter's host, which takes commands
        #: (its mains, :meth:`tell_reporter`) on the same socket.
        self.reporter: tuple[str, int] | None = None

    async def start(self) -> Self:
        self._loop = asyncio.get_running_loop()
        bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
        words = [SimData(0, count=2, values=0, datatype=DataType.REGISTERS)]
        device = SimDevice(
            id=DEVICE_ID,
            simdata=(list(bits), list(bits), list(words), list(words)),
            action=self._action,
        )
        self._server = ModbusTcpServer(device, address=(self.host, 0))
        await self._server.serve_forever(background=True)
        # pymodbus types a listener's transport as a BaseTransport: it is the asyncio.Server.
        listener = self._server.transport
        self.address = listener.sockets[0].getsockname()[:2]  # type: ignore[attr-defined]
        transport, _ = await self._loop.create_datagram_endpoint(
            lambda: _SupplyReports(self), local_addr=(self.host, 0)
        )
        self._reports = transport
        self.supply_address = transport.get_extra_info("sockname")[:2]
        return self

    def set_supply(self, closed: bool, *, at: float | None = None, source: str = "rig") -> None:
        """The meter drove its contactor to ``closed`` at ``at`` (default now)."""
        now = self._time()
        when = now if at is None else min(at, now)
        if self.contactor.command(closed, when) is not None:
            self.supply_log.append((when, closed, source))

    def tell_reporter(self, command: dict[str, object]) -> None:
        """Send ``command`` (JSON) to the meter's host that reports the supply state, e.g.
        ``{"power": False}`` for an emulated HAN's meter (devices/han/relay.py)."""
        if self._reports is None or self.reporter is None:
            _log.warning("no meter has reported its supply: %s not sent", command)
            return
        self._reports.sendto(json.dumps(command).encode(), self.reporter)

    async def close(self) -> None:
        if self._reports is not None:
            self._reports.close()
            self._reports = None
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _time(self) -> float:
        assert self._loop is not None, "start() first"
        return self._loop.time()

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus calls this on every access, before it reads or writes ``registers``."""
        now = self._time()
        if function_code == _READ_DISCRETE_INPUTS:
            registers[0] = (registers[0] & ~1) | int(self.contactor.sensed(now))
        elif function_code == _READ_INPUT_REGISTERS:
            count_now = self.contactor.pulses(now) & 0xFFFFFFFF
            registers[0], registers[1] = count_now >> 16, count_now & 0xFFFF
        elif (
            function_code in _WRITE_COILS
            and values
            and address <= POWER_CUT < address + len(values)
        ):
            powered = not values[POWER_CUT - address]
            if powered != self.powered:
                self.powered = powered
                self.power_log.append((now, powered))
                if self.on_power is not None:
                    self.on_power(powered, now)
        return None
