"""DSP properties under hot reload: order follows the TMM in force; nothing lost or doubled."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from rig.clock import VirtualClock
from rig.dsp.model import Dsp, DspRequest, Exponential, Fixed
from rig.dsp.tmm import Mode, TrafficManagementDocument

SRVS = ("2.2", "7.4", "7.2", "4.1.1", "4.6.1")

srv_modes = st.tuples(st.sampled_from(SRVS), st.sampled_from(list(Mode)))
tmms = st.builds(
    lambda levels, band, modes: TrafficManagementDocument(
        version="generated", levels=levels, priority_band_1=frozenset(band), mode_order=modes
    ),
    st.dictionaries(st.sampled_from(SRVS), st.integers(1, 4)),
    st.sets(st.sampled_from(SRVS)),
    st.permutations(list(Mode)).map(tuple),
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
    """Random submissions, reloads, responses and time steps on a multi-server DSP."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock()
        self.dispatched: list[str] = []
        self.delivered: list[object] = []
        self.responded: list[object] = []
        self.servers = 3
        self.dsp = Dsp(
            self.clock,
            TrafficManagementDocument(version="start", levels={}),
            servers=self.servers,
            service_time=Exponential(1.0),
            on_dispatch=lambda r: self.dispatched.append(r.request_id),
            on_deliver=self.delivered.append,
            northbound_rate=2.0,
            seed=1,
        )
        self.submitted: list[str] = []

    @rule(srv_mode=srv_modes)
    def submit(self, srv_mode: tuple[str, Mode]) -> None:
        rid = f"r{len(self.submitted)}"
        self.submitted.append(rid)
        ack = self.dsp.submit(DspRequest(rid, *srv_mode, "u", "t", None))
        assert (ack.code, ack.at) == ("I99", self.clock.now())

    @rule(tmm=tmms)
    def reload(self, tmm: TrafficManagementDocument) -> None:
        self.dsp.reload(tmm)

    @rule()
    def respond(self) -> None:
        item = object()
        self.responded.append(item)
        self.dsp.respond(item)

    @precondition(lambda self: self.submitted or self.responded)
    @rule(dt=st.floats(0.0, 3.0))
    def advance(self, dt: float) -> None:
        self.clock.run(until=self.clock.now() + dt)

    @invariant()
    def accounting_balances(self) -> None:
        c = self.dsp.counters
        assert c.submitted == len(self.submitted)
        assert c.submitted == c.dispatched + self.dsp.queue_depth + self.dsp.in_service
        assert self.dsp.in_service == min(self.servers, c.submitted - c.dispatched)
        assert c.delivered + self.dsp.northbound_depth == len(self.responded)

    def teardown(self) -> None:
        self.clock.run()
        duplicates = [rid for rid, n in Counter(self.dispatched).items() if n > 1]
        assert not duplicates
        assert sorted(self.dispatched) == sorted(self.submitted)
        assert self.delivered == self.responded


TestDspUnderReload = DspUnderReload.TestCase
TestDspUnderReload.settings = settings(max_examples=60, stateful_step_count=40)
