"""The DSP queue model: a pure, clock-injected scheduler (domain.md §1, §6; architecture.md).

Southbound, requests are acknowledged synchronously (``I99``), queued in TMM priority order
(SECMP0028) and served non-preemptively by ``servers`` parallel servers; each completed service
is handed to ``on_dispatch``. Northbound, responses and alerts are paced to ``on_deliver``.
All time comes from the injected :class:`~rig.clock.Clock`: no I/O, no wall clock, no threads.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple, Protocol

from rig.clock import Clock, TimerHandle
from rig.dsp.tmm import Mode, Rank, TrafficManagementDocument

ACK_CODE = "I99"
"""DUIS synchronous acknowledgement: accepted for sending to the Device (domain.md §6, §7.4)."""


@dataclass(slots=True, eq=False)
class DspRequest:
    """A Service Request as the DSP queue sees it; ``payload`` is opaque (the orchestrator's).

    ``target`` is the device EUI-64 string. The DSP fills ``submitted_at``/``acked_at`` on
    :meth:`Dsp.submit`, ``dequeued_at`` when a server takes it and ``dispatched_at`` when its
    service ends. Identity, not value, distinguishes two requests.
    """

    request_id: str
    srv: str
    mode: Mode
    user: str
    target: str
    payload: object
    submitted_at: float = 0.0
    acked_at: float | None = None
    dequeued_at: float | None = None
    dispatched_at: float | None = None


class Ack(NamedTuple):
    """The synchronous acknowledgement of a submitted request (domain.md §7.1).

    A named tuple: immutable and the cheapest record to build once per request.
    """

    code: str
    at: float


@dataclass(frozen=True, slots=True)
class DspCounters:
    """A snapshot of the DSP's running totals."""

    submitted: int
    dispatched: int
    delivered: int


class ServiceTime(Protocol):
    """How long a server holds one request, drawn from the DSP's seeded generator."""

    def sample(self, rng: random.Random) -> float: ...


@dataclass(frozen=True, slots=True)
class Fixed:
    """A constant service time in seconds."""

    seconds: float

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError(f"Fixed.seconds = {self.seconds!r}: must be >= 0")

    def sample(self, rng: random.Random) -> float:
        return self.seconds


@dataclass(frozen=True, slots=True)
class Exponential:
    """Exponentially distributed service time with the given mean in seconds (M/M/c)."""

    mean: float

    def __post_init__(self) -> None:
        if self.mean <= 0:
            raise ValueError(f"Exponential.mean = {self.mean!r}: must be > 0")

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean)


class Dsp:
    """The DSP southbound queue and northbound delivery, driven only by ``clock.call_at``.

    Southbound order is ``tmm.rank(srv, mode)`` then arrival (SECMP0028, domain.md §1); service
    is non-preemptive. ``northbound_rate`` is responses per second delivered to Users (``None``:
    delivered at once, in :meth:`respond`); the northbound queue is FIFO.
    """

    __slots__ = (
        "_busy",
        "_clock",
        "_delivered",
        "_dispatched",
        "_heap",
        "_nb_interval",
        "_nb_next_free",
        "_nb_queue",
        "_nb_timer",
        "_on_deliver",
        "_on_dispatch",
        "_ranks",
        "_rng",
        "_seq",
        "_servers",
        "_service_time",
        "_submitted",
        "_tmm",
    )

    def __init__(
        self,
        clock: Clock,
        tmm: TrafficManagementDocument,
        *,
        servers: int = 1,
        service_time: ServiceTime,
        on_dispatch: Callable[[DspRequest], None],
        on_deliver: Callable[[object], None],
        northbound_rate: float | None = None,
        seed: int = 0,
    ) -> None:
        if servers < 1:
            raise ValueError(f"servers = {servers!r}: must be >= 1")
        if northbound_rate is not None and northbound_rate <= 0:
            raise ValueError(f"northbound_rate = {northbound_rate!r}: must be > 0 or None")
        self._clock = clock
        self._tmm = tmm
        self._servers = servers
        self._service_time = service_time
        self._on_dispatch = on_dispatch
        self._on_deliver = on_deliver
        self._rng = random.Random(seed)
        self._heap: list[tuple[Rank, int, DspRequest]] = []
        self._seq = itertools.count()
        self._ranks: dict[tuple[str, Mode], Rank] = {}
        self._busy = 0
        self._submitted = 0
        self._dispatched = 0
        self._delivered = 0
        self._nb_interval = None if northbound_rate is None else 1.0 / northbound_rate
        self._nb_queue: deque[object] = deque()
        self._nb_next_free = float("-inf")
        self._nb_timer: TimerHandle | None = None

    # -- southbound ---------------------------------------------------------------------------

    def submit(self, request: DspRequest) -> Ack:
        """Acknowledge (``I99``), stamp and enqueue ``request``; start it if a server is free."""
        now = self._clock.now()
        request.submitted_at = now
        request.acked_at = now
        self._submitted += 1
        heapq.heappush(self._heap, (self._rank(request), next(self._seq), request))
        if self._busy < self._servers:
            self._start_service()
        return Ack(ACK_CODE, now)

    def reload(self, tmm: TrafficManagementDocument) -> None:
        """Hot-reload the TMM document (domain.md §1: "without a system outage").

        Queued requests are re-ranked under ``tmm`` for every later dequeue, keeping their
        arrival order for ties; requests in service are not touched (non-preemptive).
        """
        self._tmm = tmm
        self._ranks.clear()
        self._heap = [(self._rank(r), seq, r) for _, seq, r in self._heap]
        heapq.heapify(self._heap)

    def _rank(self, request: DspRequest) -> Rank:
        key = (request.srv, request.mode)
        rank = self._ranks.get(key)
        if rank is None:
            rank = self._ranks[key] = self._tmm.rank(request.srv, request.mode)
        return rank

    def _start_service(self) -> None:
        """Give the best-ranked queued request to a free server."""
        request = heapq.heappop(self._heap)[2]
        now = self._clock.now()
        request.dequeued_at = now
        self._busy += 1
        self._clock.call_at(
            now + self._service_time.sample(self._rng), partial(self._finish_service, request)
        )

    def _finish_service(self, request: DspRequest) -> None:
        request.dispatched_at = self._clock.now()
        self._busy -= 1
        self._dispatched += 1
        try:
            self._on_dispatch(request)
        finally:
            # on_dispatch may have submitted work, which may already have taken this server.
            if self._heap and self._busy < self._servers:
                self._start_service()

    # -- northbound ---------------------------------------------------------------------------

    def respond(self, item: object) -> None:
        """Queue a device response or alert for its User, delivered FIFO at the northbound rate."""
        if self._nb_interval is None:
            self._delivered += 1
            self._on_deliver(item)
            return
        self._nb_queue.append(item)
        if self._nb_timer is None:
            self._schedule_delivery()

    def _schedule_delivery(self) -> None:
        when = max(self._clock.now(), self._nb_next_free)
        self._nb_timer = self._clock.call_at(when, self._deliver_next)

    def _deliver_next(self) -> None:
        assert self._nb_interval is not None
        self._nb_timer = None
        self._nb_next_free = self._clock.now() + self._nb_interval
        self._delivered += 1
        try:
            self._on_deliver(self._nb_queue.popleft())
        finally:
            # on_deliver may have called respond(), which then scheduled the next delivery.
            if self._nb_queue and self._nb_timer is None:
                self._schedule_delivery()

    # -- observation --------------------------------------------------------------------------

    @property
    def tmm(self) -> TrafficManagementDocument:
        """The TMM document in force."""
        return self._tmm

    @property
    def queue_depth(self) -> int:
        """Southbound requests waiting for a server."""
        return len(self._heap)

    @property
    def in_service(self) -> int:
        """Southbound requests being served now (at most ``servers``)."""
        return self._busy

    @property
    def northbound_depth(self) -> int:
        """Responses and alerts waiting for northbound delivery."""
        return len(self._nb_queue)

    @property
    def counters(self) -> DspCounters:
        """Totals so far: requests submitted and dispatched, northbound items delivered."""
        return DspCounters(self._submitted, self._dispatched, self._delivered)
