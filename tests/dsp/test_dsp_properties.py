"""DSP properties under hot reload: order follows the TMM in force; nothing lost or doubled."""

from __future__ import annotations

import dataclasses
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from rig.clock import VirtualClock
from rig.dsp.model import Dsp, DspRequest, Exponential, Fixed
from rig.dsp.tmm import (
    CapRule,
    Mode,
    NorthboundOrder,
    NorthboundPolicy,
    OutageReleasePolicy,
    ReleasePolicy,
    ThrottleAction,
    ThrottlingPolicy,
    TrafficManagementDocument,
)

SRVS = ("2.2", "7.4", "7.2", "4.1.1", "4.6.1")

srv_modes = st.tuples(st.sampled_from(SRVS), st.sampled_from(list(Mode)))
tmms = st.builds(
    lambda levels, band, modes: TrafficManagementDocument(
        version="generated",
        levels=levels,
        priority_band_1=frozenset(band),
        mode_order=modes,
        mode_order_override="any order: the scheduler must honour whatever is in force",
    ),
    st.dictionaries(st.sampled_from(SRVS), st.integers(1, 4)),
    st.sets(st.sampled_from(SRVS)),
    st.permutations(list(Mode)).map(tuple),
)
throttlings = st.one_of(
    st.none(),
    st.builds(
        lambda capacity, action: ThrottlingPolicy(
            capacity=capacity,
            activate_at=0.9,
            deactivate_at=0.5,
            window_s=1.0,
            allocation_pool=0.8,
            cap_rule=CapRule.ALLOCATION,
            action=action,
            hold_limit=5,
            burst_s=1.0,
            response_code="RIG-THROTTLED",
        ),
        st.floats(0.5, 20.0),
        st.sampled_from(list(ThrottleAction)),
    ),
)
releases = st.one_of(
    st.just(OutageReleasePolicy(policy=ReleasePolicy.ALL_AT_ONCE)),
    st.floats(0.5, 10.0).map(
        lambda r: OutageReleasePolicy(policy=ReleasePolicy.PRIORITISED, release_rate=r)
    ),
)
full_tmms = st.builds(
    lambda doc, throttling, release, order: dataclasses.replace(
        doc,
        throttling=throttling,
        outage_release=release,
        northbound=NorthboundPolicy(order=order),
    ),
    tmms,
    throttlings,
    releases,
    st.sampled_from(list(NorthboundOrder)),
)


@given(
    work=st.lists(srv_modes, min_size=1, max_size=40),
    before=tmms,
    after=tmms,
    reload_after=st.integers(0, 40),
)
def test_each_dequeue_takes_the_best_under_the_tmm_in_force(
    work: list[tuple[str, Mode]],
    before: TrafficManagementDocument,
    after: TrafficManagementDocument,
    reload_after: int,
) -> None:
    """All work arrives at t=0; service takes 1 s; the TMM changes at t = reload_after + 0.5.

    Oracle (SECMP0028, domain.md §1): the first arrival starts at once; the dequeue at t = j
    takes the queued request with the smallest (rank, arrival) under the document then in force.
    """
    clock = VirtualClock()
    dispatched: list[DspRequest] = []
    dsp = Dsp(clock, before, service_time=Fixed(1.0), on_dispatch=dispatched.append, on_deliver=id)
    requests = [DspRequest(str(i), srv, mode, "u", "t", None) for i, (srv, mode) in enumerate(work)]
    for request in requests:
        dsp.submit(request)
    clock.call_at(reload_after + 0.5, lambda: dsp.reload(after))
    clock.run()

    queued = list(enumerate(requests[1:], start=1))
    expected = [requests[0]]
    for j in range(1, len(requests)):
        tmm = before if j <= reload_after else after
        best = min(queued, key=lambda item: (tmm.rank(item[1].srv, item[1].mode), item[0]))
        queued.remove(best)
        expected.append(best[1])
    assert [r.request_id for r in dispatched] == [r.request_id for r in expected]


class DspUnderReload(RuleBasedStateMachine):
    """Random submissions, reloads (throttling, release policy), outages, responses and time
    steps on a multi-server DSP: nothing queued, held or responded is lost or duplicated."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock()
        self.dispatched: list[str] = []
        self.delivered: list[object] = []
        self.responded: list[object] = []
        self.rejected: list[str] = []
        self.servers = 3
        self.dsp = Dsp(
            self.clock,
            TrafficManagementDocument(version="start", levels={}),
            servers=self.servers,
            service_time=Exponential(1.0),
            on_dispatch=lambda r: self.dispatched.append(r.request_id),
            on_deliver=self.delivered.append,
            northbound_rate=2.0,
            portfolios={"u": 3, "v": 1},
            seed=1,
        )
        self.submitted: list[str] = []

    @rule(srv_mode=srv_modes, user=st.sampled_from(["u", "v", "w"]))
    def submit(self, srv_mode: tuple[str, Mode], user: str) -> None:
        rid = f"r{len(self.submitted)}"
        self.submitted.append(rid)
        ack = self.dsp.submit(DspRequest(rid, *srv_mode, user, "t", None))
        assert ack.at == self.clock.now()
        assert ack.code in ("I99", "RIG-THROTTLED")
        if ack.code != "I99":
            self.rejected.append(rid)

    @rule(srv_mode=srv_modes, user=st.sampled_from(["u", "v"]), ahead=st.floats(-1.0, 5.0))
    def submit_dated(self, srv_mode: tuple[str, Mode], user: str, ahead: float) -> None:
        """A DSP future-dated request, its execution time ``ahead`` (past when negative)."""
        rid = f"r{len(self.submitted)}"
        self.submitted.append(rid)
        request = DspRequest(rid, *srv_mode, user, "t", None)
        request.release_at = self.clock.now() + ahead
        if self.dsp.submit(request).code != "I99":
            self.rejected.append(rid)

    @rule(tmm=full_tmms)
    def reload(self, tmm: TrafficManagementDocument) -> None:
        self.dsp.reload(tmm)

    @rule(user=st.sampled_from(["u", "v", None]))
    def respond(self, user: str | None) -> None:
        item = object()
        self.responded.append(item)
        self.dsp.respond(item, user=user)

    @rule()
    def outage(self) -> None:
        if self.dsp.in_outage:
            self.dsp.end_outage()
        else:
            self.dsp.begin_outage()

    @precondition(lambda self: self.submitted or self.responded)
    @rule(dt=st.floats(0.0, 3.0))
    def advance(self, dt: float) -> None:
        self.clock.run(until=self.clock.now() + dt)

    @invariant()
    def accounting_balances(self) -> None:
        c = self.dsp.counters
        assert c.submitted == len(self.submitted)
        assert c.rejected == len(self.rejected)
        assert c.submitted == c.admitted + c.rejected + self.dsp.held + self.dsp.dated
        assert c.admitted == c.dispatched + self.dsp.queue_depth + self.dsp.in_service
        assert self.dsp.in_service == min(self.servers, c.admitted - c.dispatched)
        assert c.delivered + self.dsp.northbound_depth == len(self.responded)
        users = [self.dsp.user_counters(u) for u in self.dsp.users]
        assert sum(u.admitted for u in users) == c.admitted
        assert sum(u.rejected for u in users) == c.rejected

    def teardown(self) -> None:
        self.dsp.end_outage()
        self.clock.run()
        assert self.dsp.dated == 0
        duplicates = [rid for rid, n in Counter(self.dispatched).items() if n > 1]
        assert not duplicates
        assert sorted(self.dispatched) == sorted(set(self.submitted) - set(self.rejected))
        assert sorted(map(id, self.delivered)) == sorted(map(id, self.responded))


TestDspUnderReload = DspUnderReload.TestCase
TestDspUnderReload.settings = settings(max_examples=60, stateful_step_count=40)
