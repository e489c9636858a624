"""The CSP and WAN between the DSP and the Comms Hubs, for simulation (issue 3 §2).

A dispatched command waits for a free slot on its Comms Hub (at most ``ch_in_flight_limit``
commands in flight per hub, FIFO beyond that), then takes one round trip drawn from ``latency``
(fixed, exponential, log-normal or an empirical table) before its response reaches the DSP.
Prioritisation applies in the DSP only, not the CSP ([SEED 001] §7), so the CSP is FIFO. On the
bench, real devices stand in for this class.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable

from rig.clock import Clock
from rig.dsp.distributions import Distribution, sampler
from rig.dsp.model import DspRequest


class Csp:
    """Round trips to Comms Hubs; ``on_response(request)`` when each response is back."""

    __slots__ = (
        "_back_cb",
        "_call_at",
        "_clock",
        "_in_flight",
        "_limit",
        "_on_response",
        "_rng",
        "_sample",
        "_waiting",
        "completed",
        "sent",
    )

    def __init__(
        self,
        clock: Clock,
        *,
        latency: Distribution,
        on_response: Callable[[DspRequest], None],
        ch_in_flight_limit: int | None = None,
        seed: int = 0,
    ) -> None:
        if ch_in_flight_limit is not None and ch_in_flight_limit < 1:
            raise ValueError(f"ch_in_flight_limit = {ch_in_flight_limit!r}: must be >= 1")
        self._clock = clock
        self._call_at = clock.call_at
        self._rng = random.Random(seed)
        self._sample = sampler(latency, self._rng)
        self._on_response = on_response
        self._back_cb = self._back  # bound once, not once per request
        self._limit = ch_in_flight_limit
        self._in_flight: dict[object, int] = {}
        self._waiting: dict[object, deque[DspRequest]] = {}
        self.sent = 0
        self.completed = 0

    def send(self, request: DspRequest) -> None:
        """Send ``request`` to its Comms Hub (``request.target``) now or when a slot frees."""
        limit = self._limit
        if limit is not None:
            target = request.target
            n = self._in_flight.get(target, 0)
            if n >= limit:
                waiting = self._waiting.get(target)
                if waiting is None:
                    waiting = self._waiting[target] = deque()
                waiting.append(request)
                return
            self._in_flight[target] = n + 1
        self.sent += 1
        now = self._clock.now()
        self._call_at(now + self._sample(), self._back_cb, request)

    def _back(self, request: DspRequest) -> None:
        self.completed += 1
        if self._limit is not None:
            target = request.target
            waiting = self._waiting.get(target) if self._waiting else None
            if waiting:
                nxt = waiting.popleft()
                if not waiting:
                    del self._waiting[target]
                self.sent += 1
                now = self._clock.now()
                self._call_at(now + self._sample(), self._back_cb, nxt)
            else:
                n = self._in_flight.pop(target) - 1
                if n:
                    self._in_flight[target] = n
        self._on_response(request)

    @property
    def in_flight(self) -> int:
        """Commands on the WAN now."""
        return self.sent - self.completed

    @property
    def waiting(self) -> int:
        """Commands waiting for a Comms Hub slot."""
        return sum(len(q) for q in self._waiting.values())
