"""The live rig's thread, a mixin of :class:`~rig.live.orchestrator.Rig`: one asyncio loop on a
thread of its own owns everything that moves; :meth:`LoopThread.start` opens the devices (each
one that cannot be reached is one line of :class:`BenchUnavailable`), :meth:`LoopThread.close`
stops them and writes what is left, and :meth:`LoopThread.call` runs a function on the loop
from the caller's thread.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Self, TypeVar

from rig.clock import AsyncioClock
from rig.config.bench import BenchError
from rig.dsp.model import Dsp, Fixed
from rig.duis.counter import OriginatorCounter
from rig.gbcs.codec import DEFAULT_ACB
from rig.host import cpu_slice, timer_slack
from rig.live.counter_state import CounterState, CounterStateError
from rig.live.rig_state import RigState

T = TypeVar("T")

_log = logging.getLogger("rig.live.orchestrator")

#: How long the rig watches a physical device's network port (``socket://``, ``rfc2217://``)
#: once opened before the session starts: a loopback forward (``ssh -L``) accepts, then closes
#: when its target is unreachable or refuses. [ASSUMED] long enough for a refusal on a LAN.
SETTLE_S = 0.3


class BenchUnavailable(BenchError):
    """Devices that could not be reached when the session started: one line each, naming the
    bench file, the device, its port and the cause."""


class LoopThread(RigState):
    """The loop's thread and the bench's lifetime (``Rig`` provides the state they use)."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> Self:
        """Start the loop thread and every device; on failure, undo what was started.

        Once started, what the process holds is frozen out of the garbage collector's reach
        (``gc.freeze``, undone by :meth:`close`): a full collection scanned the whole heap of
        start-up objects, a 43 ms stall of the loop in a 4 s ladder at 2,000 requests/s
        (docs/load.md "The hot path")."""
        self._thread.start()
        try:
            self._call(self._open())
        except BaseException:
            self.close()
            raise
        gc.collect()
        gc.freeze()
        return self

    def _run_loop(self) -> None:
        """The loop thread. It asks for the bench's short CPU slice first, so that its wake-ups
        preempt longer-sliced work, and for timers without slack (the DSP's service time fires
        when due); the device processes and threads it starts inherit both (rig/host/cpu_slice.py,
        rig/host/timer_slack.py, docs/load.md "Short CPU slices", "Timer slack")."""
        if self.bench.cpu_slice_s is not None:
            self.cpu_slice_refused = cpu_slice.request(self.bench.cpu_slice_s)
            if self.cpu_slice_refused is not None:
                _log.warning("[host] cpu_slice_us not applied: %s", self.cpu_slice_refused)
        refused = timer_slack.tighten()
        if refused is not None:
            _log.warning("timers may fire up to the OS's timer slack late: %s", refused)
        self._loop.run_forever()

    async def _open(self) -> None:
        self._dsp = Dsp(
            AsyncioClock(self._loop),
            self._tmm,
            servers=self.bench.dsp.servers,
            service_time=Fixed(self.bench.dsp.service_time_s),
            on_dispatch=self._dispatch,
            on_deliver=self._deliver,
            northbound_rate=self.bench.dsp.northbound_rate,
            portfolios={name: user.config.portfolio for name, user in self._users.items()},
        )
        self._tick()
        if self._kept is not None:
            try:
                self._resume_counters(self._kept)
            except CounterStateError as exc:
                raise BenchUnavailable(str(exc)) from None
        if self.bench_io is not None:
            await self.bench_io.start()
        failures, opened = [], []
        for device in self.devices.values():  # every port tried: all that fail are named
            try:
                await device.open(self._loop, self)
            except Exception as exc:
                text = exception_text(exc)
                failures.append(
                    text if text.startswith(f"{device.name}: ") else f"{device.name}: {text}"
                )
            else:
                opened.append(device.name)
        networked = {
            name: config.port
            for name, config in self.bench.devices.items()
            if name in opened
            and not config.emulated
            and config.port is not None
            and "://" in config.port
        }
        if networked:
            await asyncio.sleep(SETTLE_S)
            failures += [
                f"{name}: {port} was closed by the far end as soon as it opened (a loopback "
                "forward does this when its target is unreachable or refuses)"
                for name, port in networked.items()
                if name in self._down
            ]
        if failures:
            raise BenchUnavailable("\n".join(f"{self.bench.path}: {line}" for line in failures))

    def _resume_counters(self, kept: CounterState) -> None:
        """Each originator's counter resumes above the last a physical device of the bench was
        sent (a meter never accepts an old one): rig/live/counter_state.py."""
        devices = list(self._physical.values())
        for user in self._users.values():
            last = kept.resume_after(user.config.eui, devices)
            if last >= user.config.counter_start:
                user.counter = OriginatorCounter(last + 1)
        last = kept.resume_after(DEFAULT_ACB, devices)
        self._dcc_counter = OriginatorCounter(last + 1)

    def close(self) -> None:
        if self._thread.is_alive():
            self._call(self._close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()
        self.results.close()
        gc.unfreeze()
        if self._kept is not None:
            try:
                self._kept.close()
            except CounterStateError as exc:  # the claims stay on file: counters skipped
                _log.warning("%s", exc)

    async def _close(self) -> None:
        for entry in list(self._in_flight.values()):
            self._finish(entry, "rig closed before the device answered")
        for device in self.devices.values():
            await device.close()
        if self.bench_io is not None:
            await self.bench_io.close()
        if self._ticker is not None:
            self._ticker.cancel()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` on the loop thread and return its result (blocking)."""

        async def run() -> T:
            return function(*args)

        return self._call(run())

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The rig's event loop (for drivers that run on it, such as :mod:`rig.load`)."""
        return self._loop


def exception_text(exc: Exception) -> str:
    """One line for an exception: the rig's own errors say what failed; a built-in one (a
    plan's bug, say) is named by its type too."""
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__module__ == "builtins" else text
