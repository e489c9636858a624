"""Play a load schedule on the live rig, in real time, on the rig's own loop.

Every event is due at ``start + event.at`` on the loop's monotonic clock: one timer for the next
due event, and everything due when it fires is sent at once, so a late wake-up never shifts
later events (no drift; never ``sleep(1/rate)``). Requests are built on the loop (the User's
counter is allocated in send order) and go through the same path as a plan's own requests: the
DSP model, the codec and the device links. The result states the achieved against the requested
rate and how late the driver was (docs/load.md).
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rig.dsp.tmm import default_tmm_path
from rig.duis.request import ArmSupply, EnableSupply, ReadSupplyStatus, ServiceRequest
from rig.live.orchestrator import Rig
from rig.live.srv import Builder
from rig.load.schedule import (
    CONTROLS,
    Control,
    InjectAlert,
    Schedule,
    ScheduleError,
    Send,
    requested_rate,
)
from rig.results.record import RequestRecord
from rig.results.report import nearest_rank

#: Seconds between starting a run and its time zero: room to arm the first timer. [ASSUMED]
LEAD_S = 0.05
#: Top-up value of an SRV 2.2 in a load schedule (1p keeps a meter far below its maximum
#: credit for tens of thousands of top-ups). [ASSUMED]
LOAD_TOP_UP_PENCE = 1

_BODIES: dict[str, Callable[[], object]] = {
    "7.1": EnableSupply,
    "7.3": ArmSupply,
    "7.4": ReadSupplyStatus,
}


@dataclass
class LoadResult:
    """What a schedule did: every request's record and how well the driver kept time."""

    records: list[RequestRecord]
    requested_rate: float  # requests/s the schedule asked for
    achieved_rate: float  # requests/s actually submitted, over the span of the submissions
    completed_rate: float  # requests/s completed, from the first submission to the last answer
    max_lag_s: float  # worst lateness of a submission behind its due time
    p99_lag_s: float
    reload_errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[RequestRecord]:
        return [r for r in self.records if not r.ok]

    def count(self, **match: str) -> int:
        """Records whose attributes equal ``match`` (``count(user="a", outcome="ok")``)."""
        return sum(all(getattr(r, k) == v for k, v in match.items()) for r in self.records)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (written to the results as a ``load`` record)."""
        outcomes = Counter(r.outcome for r in self.records)
        return {
            "kind": "load",
            "requests": len(self.records),
            "outcomes": dict(outcomes),
            "requested_rate": self.requested_rate,
            "achieved_rate": self.achieved_rate,
            "completed_rate": self.completed_rate,
            "max_lag_s": self.max_lag_s,
            "p99_lag_s": self.p99_lag_s,
            "reload_errors": self.reload_errors,
        }


class LoadDriver:
    """Plays schedules on ``rig`` (the ``load`` fixture of a test plan)."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig

    @contextlib.contextmanager
    def using_tmm(self, path: Path) -> Iterator[None]:
        """Run with the TMM document at ``path`` (hot-reloaded), then reload the bench's own."""
        error = self.rig.reload_tmm(path)
        if error is not None:
            raise error
        try:
            yield
        finally:
            self.rig.reload_tmm(self.rig.bench.dsp.tmm or default_tmm_path())

    def run(self, schedule: Schedule, *, timeout: float | None = None) -> LoadResult:
        """Play ``schedule`` and wait until every request has completed (or ``timeout`` s
        after the last event, then raise TimeoutError)."""
        player = _Player(self.rig, schedule)
        self.rig.loop.call_soon_threadsafe(player.begin)
        span = schedule[-1].at if schedule else 0.0
        if not player.finished.wait(None if timeout is None else LEAD_S + span + timeout):
            raise TimeoutError(
                f"load: {player.outstanding} requests still outstanding {timeout} s after the "
                "last event"
            )
        if player.error is not None:
            raise player.error
        result = player.result()
        self.rig.note(result.summary())
        return result


class _Player:
    """The run of one schedule on the loop thread."""

    def __init__(self, rig: Rig, schedule: Schedule) -> None:
        self.rig = rig
        self.events = schedule
        self.makers: dict[tuple[str, str, str | None], Callable[[], ServiceRequest]] = {}
        for event in schedule:  # validate (and build the makers) before anything is sent
            if isinstance(event, Send):
                key = (event.device, event.srv, event.user)
                if key not in self.makers:
                    self.makers[key] = rig.request_maker(
                        event.device, self._builder(event), event.user
                    )
            elif isinstance(event, InjectAlert):
                rig.bench.device(event.device)
                rig.bench.user_named(event.user)
            elif isinstance(event, Control) and event.action not in CONTROLS:
                raise ScheduleError(f"control {event.action!r} unknown")
        self.default_user = rig.bench.user.name
        self.index = 0
        self.start = 0.0
        self.records: list[RequestRecord] = []
        self.lags: list[float] = []
        self.submitted_at: list[float] = []
        self.last_done = 0.0
        self.outstanding = 0
        self.reload_errors: list[str] = []
        self.error: BaseException | None = None
        self.finished = threading.Event()

    def _builder(self, event: Send) -> Builder:
        if event.srv == "2.2":
            return self.rig.top_up_builder(event.device, pence=LOAD_TOP_UP_PENCE)
        make = _BODIES.get(event.srv)
        if make is None:
            known = ", ".join(["2.2", *_BODIES])
            raise ScheduleError(f"load SRV {event.srv!r} unknown (known: {known})")
        body = make()
        return lambda _originator, _counter: body  # type: ignore[return-value]

    def begin(self) -> None:
        self.start = self.rig.loop.time() + LEAD_S
        self._arm()

    def _arm(self) -> None:
        if self.index < len(self.events):
            self.rig.loop.call_at(self.start + self.events[self.index].at, self._fire)
        elif not self.outstanding:
            self.finished.set()

    def _fire(self) -> None:
        loop, rig, events = self.rig.loop, self.rig, self.events
        now = loop.time()
        try:
            while self.index < len(events):
                event = events[self.index]
                due = self.start + event.at
                if due > now:
                    break
                self.index += 1
                if isinstance(event, Send):
                    self.outstanding += 1
                    self.lags.append(now - due)
                    self.submitted_at.append(now)
                    rig.enqueue(self.makers[event.device, event.srv, event.user](), self._done)
                elif isinstance(event, InjectAlert):
                    rig.alert_now(event.device, event.code, event.user or self.default_user)
                elif event.action == "reload_tmm":
                    assert event.path is not None
                    error = rig.reload_now(event.path)
                    if error is not None:
                        self.reload_errors.append(str(error))
                else:
                    rig.outage_now("begin" if event.action == "begin_outage" else "end")
                now = loop.time()
        except Exception as exc:  # surfaced to the caller, never lost in the loop
            self.error = exc
            self.finished.set()
            return
        self._arm()

    def _done(self, record: RequestRecord) -> None:
        self.records.append(record)
        self.outstanding -= 1
        self.last_done = self.rig.loop.time()
        if not self.outstanding and self.index == len(self.events):
            self.finished.set()

    def result(self) -> LoadResult:
        sent = self.submitted_at
        span = sent[-1] - sent[0] if len(sent) > 1 else 0.0
        achieved = (len(sent) - 1) / span if span > 0 else (math.inf if len(sent) > 1 else 0.0)
        busy = self.last_done - sent[0] if sent else 0.0
        lags = sorted(self.lags)
        return LoadResult(
            records=self.records,
            requested_rate=requested_rate(self.events),
            achieved_rate=achieved,
            completed_rate=len(self.records) / busy if busy > 0 else 0.0,
            max_lag_s=lags[-1] if lags else 0.0,
            p99_lag_s=nearest_rank(lags, 99) if lags else 0.0,
            reload_errors=self.reload_errors,
        )
