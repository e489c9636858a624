"""The DSP queue model: a pure, clock-injected scheduler (domain.md §1-§6; architecture.md).

Southbound, a request is counted against SECMP0067 throttling (when the TMM document enables
it), acknowledged synchronously (``I99``, or the rig's own rejection code), queued in TMM
priority order (SECMP0028) and served non-preemptively by ``servers`` parallel servers; each
completed service is handed to ``on_dispatch``. Northbound, responses and alerts queue towards
each User's adapter and are delivered to ``on_deliver`` at the adapter's rate; alerts pass
SECMP0062 storm protection first; during an outage everything northbound is held, then released
by the TMM's DP100 policy. All time comes from the injected :class:`~rig.clock.Clock`: no I/O,
no wall clock, no threads, so one code base runs in virtual time (``rig simulate``) and live.
"""

from __future__ import annotations

import heapq
import logging
import random
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

from rig.clock import Clock, TimerHandle
from rig.dsp.alerts import AlertStormFilter, DeviceAlert
from rig.dsp.distributions import Distribution, Exponential, Fixed, sampler
from rig.dsp.records import ACK_CODE, Ack, DspCounters, DspRequest, UserCounters, _ack
from rig.dsp.throttle import ADMIT, HOLD, Throttle
from rig.dsp.tmm import (
    NUM_CLASSES,
    Mode,
    NorthboundOrder,
    ReleasePolicy,
    TmmError,
    TrafficManagementDocument,
    load_tmm,
)

__all__ = [
    "ACK_CODE",
    "Ack",
    "Dsp",
    "DspCounters",
    "DspRequest",
    "Exponential",
    "Fixed",
    "ServiceTime",
    "UserCounters",
]

log = logging.getLogger(__name__)

ServiceTime = Distribution
"""How long a server holds one request, drawn from the DSP's seeded generator."""

_OPAQUE_RANK: Final = NUM_CLASSES
_ALERT_RANK: Final = NUM_CLASSES + 1
"""Release order after an outage (DP100): responses by their request's southbound rank, then
items the DSP cannot rank (no request given), then alerts "placed at the back" ([SEED 004])."""


class _Adapter:
    """One User's northbound queue and adapter, ``interval`` seconds per item: ``fifo`` (today's
    order) or ``ranked`` (the TMM's northbound priority option), fed at once by new items and,
    after an outage, by the DP100 ``backlog`` at its own pace."""

    __slots__ = (
        "backlog", "backlog_timer", "fifo", "held", "interval", "next_free", "ranked", "timer",
    )  # fmt: skip

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.fifo: deque[object] = deque()
        self.ranked: list[tuple[int, int, object]] = []  # northbound priority heap
        self.backlog: list[tuple[int, int, object]] = []  # DP100 release heap
        self.held: list[tuple[int, object]] = []  # outage hold, arrival order
        self.next_free = float("-inf")
        self.timer: TimerHandle | None = None
        self.backlog_timer: TimerHandle | None = None


class Dsp:
    """The DSP southbound queue and northbound delivery, driven only by ``clock.call_at``.

    Southbound order is ``tmm.rank(srv, mode)`` then queue arrival (SECMP0028, domain.md §1);
    service is non-preemptive, its time drawn from ``service_time_by_srv``, else
    ``service_time_by_mode``, else ``service_time``. ``northbound_rate`` is the items/s each
    User's adapter accepts (``None``: unlimited), ``northbound_rates`` overrides it per User.
    ``portfolios`` (User -> portfolio size) sizes the SECMP0067 allocations when the TMM
    enables throttling.
    """

    __slots__ = (
        "_adapters",
        "_admitted",
        "_alerts",
        "_busy",
        "_call_at",
        "_classes",
        "_clock",
        "_dated",
        "_delivered",
        "_dispatched",
        "_finish",
        "_mask",
        "_nb_interval",
        "_nb_intervals",
        "_nb_ranked",
        "_next_seq",
        "_now",
        "_on_deliver",
        "_on_dispatch",
        "_outage",
        "_portfolios",
        "_queued",
        "_queues",
        "_rejected",
        "_rng",
        "_sample",
        "_samplers",
        "_servers",
        "_service_by_mode",
        "_service_by_srv",
        "_storms",
        "_submitted",
        "_throttle",
        "_throttled",
        "_tmm",
        "_users",
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
        northbound_rates: Mapping[str, float] | None = None,
        portfolios: Mapping[str, float] | None = None,
        seed: int = 0,
        service_time_by_srv: Mapping[str, ServiceTime] | None = None,
        service_time_by_mode: Mapping[Mode, ServiceTime] | None = None,
    ) -> None:
        if servers < 1:
            raise ValueError(f"servers = {servers!r}: must be >= 1")
        self._nb_intervals: dict[str | None, float] = {}
        rates: dict[str | None, float | None] = {None: northbound_rate}
        rates.update(northbound_rates or {})
        for user, rate in rates.items():
            if rate is not None and not rate > 0:
                name = "northbound_rate" if user is None else f"northbound_rates[{user!r}]"
                raise ValueError(f"{name} = {rate!r}: must be > 0 or None")
            self._nb_intervals[user] = 0.0 if rate is None else 1.0 / rate
        self._nb_interval = self._nb_intervals.pop(None)
        self._clock = clock
        self._now = clock.now
        self._call_at = clock.call_at
        self._servers = servers
        self._finish = self._finish_service  # bound once, not once per request
        self._rng = random.Random(seed)
        self._sample = sampler(service_time, self._rng)
        # Per-class service times: by SRV, else by mode, else service_time (one sampler per
        # (SRV, mode) met, all on the DSP's generator); None keeps the single-sampler path.
        self._service_by_srv = dict(service_time_by_srv or {})
        self._service_by_mode = dict(service_time_by_mode or {})
        self._samplers: dict[tuple[str, Mode], Callable[[], float]] | None = (
            {} if self._service_by_srv or self._service_by_mode else None
        )
        self._on_dispatch = on_dispatch
        self._on_deliver = on_deliver
        self._portfolios = dict(portfolios or {})
        # Southbound: one FIFO per rank class; bit c of _mask set <=> _queues[c] non-empty.
        self._queues: list[deque[DspRequest]] = [deque() for _ in range(NUM_CLASSES)]
        self._mask = 0
        self._queued = 0
        self._next_seq = 0
        self._classes: dict[tuple[str, Mode], int] = {}
        self._busy = 0
        self._dated = 0
        self._submitted = self._admitted = self._throttled = self._rejected = 0
        self._dispatched = self._delivered = self._alerts = 0
        self._users: dict[str, list[int]] = {}  # user -> [admitted, throttled, rejected]
        self._adapters: dict[str | None, _Adapter] = {}
        self._outage = False
        self._nb_ranked = False
        self._tmm = tmm
        self._throttle: Throttle | None = None
        self._storms: AlertStormFilter | None = None
        self._apply_sections(tmm)

    # -- southbound ---------------------------------------------------------------------------

    def submit(self, request: DspRequest) -> Ack:
        """Count, acknowledge and stamp ``request``; queue it, hold it or reject it (SECMP0067).

        Accepted (queued or held): ``Ack("I99", now)``. Rejected by throttling: the TMM's
        ``throttling.response_code``, and the request goes no further. An accepted request with
        a ``release_at`` still to come is held until then (a DSP future-dated request,
        domain.md §7.3: "the DSP holds it and releases it at the execution time"), then
        queued as any other.
        """
        now = self._now()
        request.submitted_at = now
        request.acked_at = now
        self._submitted += 1
        counts = self._users.get(request.user)
        if counts is None:
            counts = self._users[request.user] = [0, 0, 0]
        throttle = self._throttle
        if throttle is not None:
            outcome = throttle.offer(request, request.user, now)
            if outcome != ADMIT:
                counts[1] += 1
                self._throttled += 1
                if outcome == HOLD:
                    return _ack((ACK_CODE, now))
                counts[2] += 1
                self._rejected += 1
                return _ack((throttle.policy.response_code, now))
        if request.release_at is None:
            counts[0] += 1
            self._admit(request, now)
        else:
            self._admit_when_due(request, now)
        return _ack((ACK_CODE, now))

    def _release_held(self, request: object) -> None:
        """A request the throttle held is admitted now (or at its execution time)."""
        assert isinstance(request, DspRequest)
        self._admit_when_due(request, self._now())

    def _admit_when_due(self, request: DspRequest, now: float) -> None:
        """Admit ``request`` (counted for its User), or hold it until its ``release_at``."""
        release_at = request.release_at
        if release_at is not None and release_at > now:
            self._dated += 1
            self._call_at(release_at, self._release_dated, request)
            return
        self._users[request.user][0] += 1
        self._admit(request, now)

    def _release_dated(self, request: DspRequest) -> None:
        """A future-dated request's execution time has come: it is queued now."""
        self._dated -= 1
        self._admit_when_due(request, self._now())

    def _admit(self, request: DspRequest, now: float) -> None:
        request.admitted_at = now
        request.seq = self._next_seq
        self._next_seq += 1
        self._admitted += 1
        if self._busy < self._servers and not self._mask:
            self._serve(request, now)
            return
        key = (request.srv, request.mode)
        c = self._classes.get(key)
        if c is None:
            c = self._classes[key] = self._tmm.class_of(request.srv, request.mode)
        queue = self._queues[c]
        if not queue:
            self._mask |= 1 << c
        queue.append(request)
        self._queued += 1

    def _serve(self, request: DspRequest, now: float) -> None:
        request.dequeued_at = now
        self._busy += 1
        samplers = self._samplers
        if samplers is None:
            self._call_at(now + self._sample(), self._finish, request)
            return
        key = (request.srv, request.mode)
        sample = samplers.get(key)
        if sample is None:
            dist = self._service_by_srv.get(request.srv) or self._service_by_mode.get(request.mode)
            sample = samplers[key] = self._sample if dist is None else sampler(dist, self._rng)
        self._call_at(now + sample(), self._finish, request)

    def _finish_service(self, request: DspRequest) -> None:
        request.dispatched_at = self._now()
        self._busy -= 1
        self._dispatched += 1
        try:
            self._on_dispatch(request)
        finally:
            # on_dispatch may have submitted work, which may already have taken this server.
            if self._mask and self._busy < self._servers:
                self._serve(self._dequeue(), self._now())

    def _dequeue(self) -> DspRequest:
        """The best-ranked queued request: lowest non-empty class, FIFO within it."""
        mask = self._mask
        c = (mask & -mask).bit_length() - 1
        queue = self._queues[c]
        request = queue.popleft()
        if not queue:
            self._mask = mask ^ (1 << c)
        self._queued -= 1
        return request

    # -- the TMM document ---------------------------------------------------------------------

    def reload(self, tmm: TrafficManagementDocument) -> None:
        """Hot-reload the TMM document (domain.md §1: "without a system outage").

        Queued requests are re-ranked under ``tmm`` for every later dequeue, keeping their
        queue-arrival order within a rank; requests in service are not touched
        (non-preemptive); held requests stay held (or are admitted if throttling is now off);
        storm and throttling state carry over under the new parameters.
        """
        queued = sorted(
            (r for q in self._queues for r in q),
            key=lambda r: r.seq,
        )
        self._tmm = tmm
        self._classes.clear()
        for q in self._queues:
            q.clear()
        self._mask = 0
        for request in queued:
            c = self._classes.get((request.srv, request.mode))
            if c is None:
                c = self._classes[request.srv, request.mode] = tmm.class_of(
                    request.srv, request.mode
                )
            self._queues[c].append(request)
            self._mask |= 1 << c
        self._apply_sections(tmm)

    def reload_file(self, path: Path) -> TmmError | None:
        """Load ``path`` and reload it; if it is invalid, keep the document in force, log why
        and return the error (issue 3: "a reload with an invalid document keeps the old one")."""
        try:
            tmm = load_tmm(path)
        except TmmError as exc:
            log.warning("TMM reload refused, keeping version %r: %s", self._tmm.version, exc)
            return exc
        self.reload(tmm)
        return None

    def _apply_sections(self, tmm: TrafficManagementDocument) -> None:
        ranked = tmm.northbound.order is NorthboundOrder.PRIORITISED
        if not ranked and self._nb_ranked:
            for adapter in self._adapters.values():  # back to FIFO: ranked items first, in order
                items = [heapq.heappop(adapter.ranked)[2] for _ in range(len(adapter.ranked))]
                adapter.fifo.extendleft(reversed(items))
        self._nb_ranked = ranked
        policy = tmm.throttling
        if policy is None:
            if self._throttle is not None:
                throttle, self._throttle = self._throttle, None
                throttle.release_all()
        elif self._throttle is None:
            self._throttle = Throttle(self._clock, policy, self._portfolios, self._release_held)
        else:
            self._throttle.policy = policy
        storm = tmm.alert_storm
        if storm is None:
            self._storms = None
        elif self._storms is None:
            self._storms = AlertStormFilter(self._clock, storm, self._forward_alert)
        else:
            self._storms.policy = storm

    # -- northbound ---------------------------------------------------------------------------

    def respond(
        self, item: object, *, request: DspRequest | None = None, user: str | None = None
    ) -> None:
        """Queue a response (or any northbound item) for its User's adapter.

        ``request``, when given, is the request ``item`` answers: it is stamped
        ``responded_at``, names the User (unless ``user`` does) and ranks the item in a DP100
        release. Without either, the item goes to a shared default adapter.
        """
        now = self._now()
        if request is not None:
            request.responded_at = now
            if user is None:
                user = request.user
            self._northbound(user, item, request, now)
        else:
            self._northbound(user, item, None, now)

    def alert(self, alert: DeviceAlert) -> None:
        """A device alert for ``alert.user``: storm protection (SECMP0062), then northbound."""
        alert.received_at = self._now()
        self._alerts += 1
        storms = self._storms
        if storms is None:
            self._northbound(alert.user, alert, alert, alert.received_at)
        else:
            storms.offer(alert)

    def _forward_alert(self, alert: DeviceAlert) -> None:
        now = self._now()
        if alert.received_at is None:  # a storm summary, created now
            alert.received_at = now
        self._northbound(alert.user, alert, alert, now)

    def _northbound(self, user: str | None, item: object, source: object, now: float) -> None:
        adapter = self._adapters.get(user)
        if adapter is None:
            adapter = self._adapters[user] = _Adapter(
                self._nb_intervals.get(user, self._nb_interval)
            )
        if self._outage:
            adapter.held.append((self._release_rank(source), item))
        else:
            self._to_adapter(
                adapter, self._release_rank(source) if self._nb_ranked else 0, item, now
            )

    def _to_adapter(self, adapter: _Adapter, rank: int, item: object, now: float) -> None:
        """Deliver ``item`` now if the adapter is idle, else queue it (FIFO, or by ``rank``
        with northbound priority)."""
        if (
            adapter.timer is None
            and now >= adapter.next_free
            and not adapter.fifo
            and not adapter.ranked
        ):
            adapter.next_free = now + adapter.interval
            self._delivered += 1
            self._on_deliver(item)
            return
        if self._nb_ranked:
            heapq.heappush(adapter.ranked, (rank, self._next_seq, item))
            self._next_seq += 1
        else:
            adapter.fifo.append(item)
        if adapter.timer is None:
            adapter.timer = self._call_at(adapter.next_free, self._deliver, adapter)

    def _release_rank(self, source: object) -> int:
        if isinstance(source, DspRequest):
            return self._tmm.class_of(source.srv, source.mode)
        return _ALERT_RANK if isinstance(source, DeviceAlert) else _OPAQUE_RANK

    def _deliver(self, adapter: _Adapter) -> None:
        adapter.timer = None
        if self._outage:
            return  # resumed by end_outage()
        now = self._now()
        item = adapter.fifo.popleft() if adapter.fifo else heapq.heappop(adapter.ranked)[2]
        adapter.next_free = now + adapter.interval
        self._delivered += 1
        try:
            self._on_deliver(item)
        finally:
            # on_deliver may have called respond(), which then scheduled the next delivery.
            if (adapter.fifo or adapter.ranked) and adapter.timer is None and not self._outage:
                adapter.timer = self._call_at(adapter.next_free, self._deliver, adapter)

    def _release_backlog(self, adapter: _Adapter) -> None:
        """DP100: the best-ranked held item joins the adapter's queue; the next one follows
        ``1 / release_rate`` later. Only the backlog is paced: new items do not wait for it."""
        adapter.backlog_timer = None
        if self._outage or not adapter.backlog:
            return  # resumed by end_outage()
        rank, _, item = heapq.heappop(adapter.backlog)
        now = self._now()
        if adapter.backlog:
            rate = self._tmm.outage_release.release_rate
            gap = 1.0 / rate if rate else 0.0
            adapter.backlog_timer = self._call_at(now + gap, self._release_backlog, adapter)
        self._to_adapter(adapter, rank, item, now)

    # -- outages (DP100) ----------------------------------------------------------------------

    def begin_outage(self) -> None:
        """DCC systems restricted: northbound delivery stops and new items are held."""
        self._outage = True

    def end_outage(self) -> None:
        """Restored: release what was held under the TMM's ``outage_release`` policy (DP100).

        ALL_AT_ONCE (today's behaviour): everything goes to the adapters at once, in arrival
        order, behind anything already queued there. PRIORITISED: the held backlog joins each
        adapter's queue in rank order (time-critical responses first, alerts last), one item per
        ``1 / release_rate`` seconds per User; new items are not paced (they follow the
        adapter's order).
        """
        if not self._outage:
            return
        self._outage = False
        prioritised = self._tmm.outage_release.policy is ReleasePolicy.PRIORITISED
        now = self._now()
        for adapter in self._adapters.values():
            held, adapter.held = adapter.held, []
            if prioritised:
                for rank, item in held:
                    heapq.heappush(adapter.backlog, (rank, self._next_seq, item))
                    self._next_seq += 1
            elif self._nb_ranked:
                for rank, item in held:
                    heapq.heappush(adapter.ranked, (rank, self._next_seq, item))
                    self._next_seq += 1
            else:
                adapter.fifo.extend(item for _, item in held)
            if adapter.backlog and adapter.backlog_timer is None:  # (also one paused earlier)
                adapter.backlog_timer = self._call_at(now, self._release_backlog, adapter)
            if (adapter.fifo or adapter.ranked) and adapter.timer is None:
                when = max(now, adapter.next_free)
                adapter.timer = self._call_at(when, self._deliver, adapter)

    @property
    def in_outage(self) -> bool:
        return self._outage

    # -- observation --------------------------------------------------------------------------

    @property
    def tmm(self) -> TrafficManagementDocument:
        """The TMM document in force."""
        return self._tmm

    @property
    def queue_depth(self) -> int:
        """Southbound requests waiting for a server."""
        return self._queued

    @property
    def in_service(self) -> int:
        """Southbound requests being served now (at most ``servers``)."""
        return self._busy

    @property
    def held(self) -> int:
        """Southbound requests held by throttling now."""
        return 0 if self._throttle is None else self._throttle.held

    @property
    def dated(self) -> int:
        """Future-dated requests the DSP holds until their execution time now."""
        return self._dated

    @property
    def throttling_active(self) -> bool:
        """Whether the SECMP0067 mechanism is active now."""
        return self._throttle is not None and self._throttle.refresh(self._now())

    @property
    def throttling_activations(self) -> int:
        """How many times the SECMP0067 mechanism has activated (under the current policy)."""
        return 0 if self._throttle is None else self._throttle.activations

    @property
    def northbound_depth(self) -> int:
        """Responses and alerts waiting for northbound delivery (queued or held)."""
        return sum(
            len(a.fifo) + len(a.ranked) + len(a.backlog) + len(a.held)
            for a in self._adapters.values()
        )

    @property
    def storm_filter(self) -> AlertStormFilter | None:
        """The SECMP0062 filter, when the TMM enables storm protection."""
        return self._storms

    @property
    def counters(self) -> DspCounters:
        """Totals so far (see :class:`DspCounters`)."""
        storms = None if self._storms is None else self._storms.counters
        return DspCounters(
            self._submitted,
            self._dispatched,
            self._delivered,
            self._admitted,
            self._throttled,
            self._rejected,
            self._alerts,
            0 if storms is None else storms.discarded,
        )

    def user_counters(self, user: str) -> UserCounters:
        """``user``'s admitted, throttled and rejected totals (SECMP0067)."""
        return UserCounters(*self._users.get(user, (0, 0, 0)))

    @property
    def users(self) -> list[str]:
        """Users that have submitted requests, in order of first submission."""
        return list(self._users)
