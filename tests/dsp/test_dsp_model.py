"""The DSP scheduler on a VirtualClock: ordering (SECMP0028), servers, northbound pacing."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from rig.clock import AsyncioClock, Clock, VirtualClock
from rig.dsp.model import Ack, Dsp, DspRequest, Exponential, Fixed, ServiceTime
from rig.dsp.tmm import Mode, TrafficManagementDocument, default_tmm

LEVELS = TrafficManagementDocument(
    version="levels", levels={"7.4": 1, "7.2": 2, "7.3": 3}, priority_band_1=frozenset({"2.2"})
)
_ids = itertools.count()


def req(srv: str = "4.1.1", mode: Mode = Mode.ON_DEMAND, rid: str | None = None) -> DspRequest:
    rid = rid if rid is not None else f"r{next(_ids)}"
    return DspRequest(rid, srv, mode, "user", "00-DB-12-34-56-78-90-A0", payload=None)


@dataclass
class Rig:
    """A Dsp wired to lists that record what it dispatches and (when) it delivers."""

    tmm: TrafficManagementDocument = field(default_factory=default_tmm)
    servers: int = 1
    service_time: ServiceTime = field(default_factory=lambda: Fixed(1.0))
    northbound_rate: float | None = None
    seed: int = 0
    clock: Clock = field(default_factory=VirtualClock)
    after_dispatch: Callable[[DspRequest], None] | None = None
    dispatched: list[DspRequest] = field(default_factory=list)
    delivered: list[tuple[float, object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dsp = Dsp(
            self.clock,
            self.tmm,
            servers=self.servers,
            service_time=self.service_time,
            on_dispatch=self._on_dispatch,
            on_deliver=lambda item: self.delivered.append((self.clock.now(), item)),
            northbound_rate=self.northbound_rate,
            seed=self.seed,
        )

    def _on_dispatch(self, request: DspRequest) -> None:
        self.dispatched.append(request)
        if self.after_dispatch is not None:
            self.after_dispatch(request)

    @property
    def order(self) -> list[str]:
        return [r.request_id for r in self.dispatched]

    def run(self, until: float | None = None) -> None:
        assert isinstance(self.clock, VirtualClock)
        self.clock.run(until)

    def submit_at(self, when: float, request: DspRequest) -> None:
        self.clock.call_at(when, lambda: self.dsp.submit(request))


def test_submit_acknowledges_synchronously_with_i99() -> None:
    rig = Rig()
    rig.run(until=5.0)
    request = req()
    assert rig.dsp.submit(request) == Ack("I99", 5.0)
    assert (request.submitted_at, request.acked_at, request.dequeued_at) == (5.0, 5.0, 5.0)
    assert request.dispatched_at is None
    assert (rig.dsp.in_service, rig.dsp.queue_depth) == (1, 0)
    rig.run()
    assert request.dispatched_at == 6.0
    assert rig.dispatched == [request]
    assert rig.dsp.counters.submitted == rig.dsp.counters.dispatched == 1


def test_strict_priority_order_regardless_of_arrival() -> None:
    rig = Rig(tmm=LEVELS)
    rig.dsp.submit(req(rid="blocker"))
    for srv, rid in [("4.1.1", "L4"), ("7.3", "L3"), ("7.2", "L2"), ("7.4", "L1")]:
        rig.dsp.submit(req(srv, rid=rid))
    rig.run()
    assert rig.order == ["blocker", "L1", "L2", "L3", "L4"]


def test_level_1_arrival_overtakes_queued_level_4() -> None:
    rig = Rig()
    for rid in ("blocker", "a", "b"):
        rig.dsp.submit(req(rid=rid))
    rig.submit_at(0.5, req("2.2", rid="topup"))
    rig.run()
    assert rig.order == ["blocker", "topup", "a", "b"]


def test_fifo_within_a_level() -> None:
    rig = Rig(tmm=LEVELS)
    ids = [f"r{i}" for i in range(20)]
    for i, rid in enumerate(ids):
        rig.dsp.submit(req("7.2" if i % 2 else "7.3", rid=rid))
    rig.run()
    assert rig.order == ids[:1] + ids[1::2] + ids[2::2]


def test_on_demand_ahead_of_scheduled_whatever_the_level() -> None:
    rig = Rig(tmm=LEVELS)
    rig.dsp.submit(req(rid="blocker"))
    rig.dsp.submit(req("7.4", Mode.SCHEDULED, rid="sched-L1"))
    rig.dsp.submit(req("4.1.1", Mode.FUTURE_DATED, rid="future-L4"))
    rig.dsp.submit(req("4.1.1", Mode.ON_DEMAND, rid="demand-L4"))
    rig.run()
    assert rig.order == ["blocker", "demand-L4", "future-L4", "sched-L1"]


def test_a_dsp_future_dated_request_is_held_until_its_execution_time() -> None:
    """domain.md §7.3, pattern "DSP": acknowledged at once, queued only at its release time,
    then ranked as future-dated behind the on-demand work queued by then."""
    rig = Rig(tmm=LEVELS)
    dated = req("4.1.1", Mode.FUTURE_DATED, rid="dated")
    dated.release_at = 3.5
    assert rig.dsp.submit(dated) == Ack("I99", 0.0)
    assert (rig.dsp.dated, rig.dsp.queue_depth, rig.dsp.in_service) == (1, 0, 0)
    rig.dsp.submit(req(rid="now"))
    rig.submit_at(3.0, req(rid="blocker"))
    rig.submit_at(3.2, req(rid="on-demand"))
    rig.run(until=3.4)
    assert dated.admitted_at is None and rig.order == ["now"]
    rig.run()
    assert dated.admitted_at == 3.5 and dated.dequeued_at == 5.0
    assert rig.order == ["now", "blocker", "on-demand", "dated"]
    assert rig.dsp.dated == 0


def test_a_future_dated_request_whose_time_has_passed_is_queued_at_once() -> None:
    rig = Rig()
    rig.run(until=2.0)
    late = req("4.1.1", Mode.FUTURE_DATED)
    late.release_at = 1.0
    rig.dsp.submit(late)
    assert late.admitted_at == 2.0 and rig.dsp.dated == 0


def test_band_1_ahead_of_other_on_demand_level_1() -> None:
    rig = Rig(tmm=LEVELS)
    rig.dsp.submit(req(rid="blocker"))
    rig.dsp.submit(req("7.4", rid="L1"))
    rig.dsp.submit(req("2.2", rid="band1-L4"))
    rig.run()
    assert rig.order == ["blocker", "band1-L4", "L1"]


def test_non_preemptive_level_4_in_service_is_not_interrupted() -> None:
    rig = Rig(service_time=Fixed(10.0))
    low = req(rid="low")
    high = req("2.2", rid="high")
    rig.dsp.submit(low)
    rig.submit_at(1.0, high)
    rig.run()
    assert rig.order == ["low", "high"]
    assert (low.dequeued_at, low.dispatched_at) == (0.0, 10.0)
    assert (high.submitted_at, high.dequeued_at, high.dispatched_at) == (1.0, 10.0, 20.0)


def test_n_servers_serve_in_parallel() -> None:
    rig = Rig(servers=3)
    requests = [req() for _ in range(7)]
    for r in requests:
        rig.dsp.submit(r)
    assert (rig.dsp.in_service, rig.dsp.queue_depth) == (3, 4)
    rig.run()
    assert [r.dispatched_at for r in requests] == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0]
    assert (rig.dsp.in_service, rig.dsp.queue_depth) == (0, 0)


def test_dispatch_callback_may_submit_more_work() -> None:
    follow_up = req(rid="follow-up")

    def after_dispatch(request: DspRequest) -> None:
        if request.request_id == "first":
            rig.dsp.submit(follow_up)

    rig = Rig(after_dispatch=after_dispatch)
    rig.dsp.submit(req(rid="first"))
    rig.dsp.submit(req(rid="queued"))
    rig.run()
    assert rig.order == ["first", "queued", "follow-up"]
    assert follow_up.dispatched_at == 3.0


def test_a_failing_dispatch_callback_does_not_stall_the_queue() -> None:
    def after_dispatch(request: DspRequest) -> None:
        if request.request_id == "bad":
            raise RuntimeError("orchestrator bug")

    rig = Rig(after_dispatch=after_dispatch)
    rig.dsp.submit(req(rid="bad"))
    rig.dsp.submit(req(rid="next"))
    with pytest.raises(RuntimeError):
        rig.run()
    rig.run()
    assert rig.order == ["bad", "next"]


def test_hot_reload_reranks_queued_work_only() -> None:
    rig = Rig()
    for rid, srv in [("in-service", "4.1.1"), ("disable", "7.2"), ("read", "4.1.1")]:
        rig.dsp.submit(req(srv, rid=rid))
    reads_first = TrafficManagementDocument(version="v2", levels={"4.1.1": 1})
    rig.dsp.reload(reads_first)
    assert rig.dsp.tmm is reads_first
    assert (rig.dsp.in_service, rig.dsp.queue_depth) == (1, 2)
    rig.run()
    assert rig.order == ["in-service", "read", "disable"]


def test_northbound_immediate_without_a_rate() -> None:
    rig = Rig()
    rig.dsp.respond("resp")
    assert rig.delivered == [(0.0, "resp")]
    assert rig.dsp.counters.delivered == 1


def test_northbound_rate_paces_fifo() -> None:
    rig = Rig(northbound_rate=2.0)
    for i in range(5):
        rig.dsp.respond(i)
    # The idle adapter takes the first item at once; the rest wait their turn.
    assert rig.delivered == [(0.0, 0)]
    assert rig.dsp.northbound_depth == 4
    rig.run()
    assert rig.delivered == [(0.0, 0), (0.5, 1), (1.0, 2), (1.5, 3), (2.0, 4)]
    # After an idle gap longer than the interval the next item goes at once; the one after
    # waits out the interval.
    rig.run(until=10.0)
    rig.dsp.respond("late")
    rig.clock.call_at(10.1, lambda: rig.dsp.respond("later"))
    rig.run()
    assert rig.delivered[-2:] == [(10.0, "late"), (10.5, "later")]
    assert rig.dsp.counters.delivered == 7


def test_exponential_service_is_deterministic_per_seed() -> None:
    def dispatch_times(seed: int) -> list[float | None]:
        rig = Rig(service_time=Exponential(2.0), seed=seed)
        for _ in range(50):
            rig.dsp.submit(req())
        rig.run()
        return [r.dispatched_at for r in rig.dispatched]

    assert dispatch_times(7) == dispatch_times(7)
    assert dispatch_times(7) != dispatch_times(8)


@pytest.mark.parametrize(
    "kwargs",
    [{"servers": 0}, {"northbound_rate": 0.0}, {"northbound_rate": -1.0}],
)
def test_bad_configuration_is_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Dsp(
            VirtualClock(),
            default_tmm(),
            service_time=Fixed(1.0),
            on_dispatch=print,
            on_deliver=print,
            **kwargs,  # type: ignore[arg-type]
        )


def test_bad_service_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="seconds"):
        Fixed(-1.0)
    with pytest.raises(ValueError, match="mean"):
        Exponential(0.0)


def test_same_code_runs_live_on_asyncio_clock() -> None:
    async def scenario() -> Rig:
        rig = Rig(
            clock=AsyncioClock(asyncio.get_running_loop()),
            service_time=Fixed(0.002),
            northbound_rate=1000.0,
        )
        for rid in ("blocker", "a", "b"):
            rig.dsp.submit(req(rid=rid))
        rig.dsp.submit(req("2.2", rid="topup"))
        rig.dsp.respond("resp")
        while rig.dsp.counters.dispatched < 4 or rig.dsp.counters.delivered < 1:
            await asyncio.sleep(0.001)
        return rig

    rig = asyncio.run(asyncio.wait_for(scenario(), timeout=5.0))
    assert rig.order == ["blocker", "topup", "a", "b"]
    assert [item for _, item in rig.delivered] == ["resp"]
