"""SECMP0067 throttling, SECMP0062 storms, DP100 outage release, per-User adapters, the CSP."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from rig.clock import VirtualClock
from rig.dsp.alerts import AlertStormFilter, DeviceAlert, ch_summary
from rig.dsp.csp import Csp
from rig.dsp.distributions import Empirical, Exponential, Fixed, LogNormal
from rig.dsp.model import Dsp, DspRequest, UserCounters
from rig.dsp.tmm import (
    AlertStormPolicy,
    CapRule,
    Mode,
    NorthboundOrder,
    NorthboundPolicy,
    OutageReleasePolicy,
    ReleasePolicy,
    ThrottleAction,
    ThrottlingPolicy,
    TrafficManagementDocument,
    UnusedAllocation,
    default_tmm_path,
)


def throttling(**overrides: object) -> ThrottlingPolicy:
    fields: dict[str, object] = {
        "capacity": 100.0,
        "activate_at": 0.9,
        "deactivate_at": 0.5,
        "window_s": 1.0,
        "allocation_pool": 0.8,
        "cap_rule": CapRule.ALLOCATION,
        "action": ThrottleAction.REJECT,
        "hold_limit": 1000,
        "burst_s": 1.0,
        "response_code": "RIG-THROTTLED",
    }
    fields.update(overrides)
    return ThrottlingPolicy(**fields)  # type: ignore[arg-type]


def tmm(**sections: object) -> TrafficManagementDocument:
    return TrafficManagementDocument(
        version="t", levels={"2.2": 1, "7.2": 2}, priority_band_1=frozenset({"2.2"}), **sections
    )  # type: ignore[arg-type]


class Sim:
    """A Dsp on a VirtualClock whose dispatches answer at once through respond()."""

    def __init__(self, doc: TrafficManagementDocument, **kwargs: object) -> None:
        self.clock = VirtualClock()
        self.delivered: list[tuple[float, object]] = []
        self.dsp = Dsp(
            self.clock,
            doc,
            service_time=kwargs.pop("service_time", Fixed(0.0)),  # type: ignore[arg-type]
            on_dispatch=lambda r: self.dsp.respond(r, request=r),
            on_deliver=lambda item: self.delivered.append((self.clock.now(), item)),
            **kwargs,  # type: ignore[arg-type]
        )
        self.acks: dict[str, list[str]] = {}

    def offer(self, user: str, rate: float, start: float, end: float, srv: str = "4.1.1") -> None:
        """``user`` submits at ``rate``/s, evenly spaced, from ``start`` to ``end``."""
        n = round((end - start) * rate)
        for i in range(n):
            self.clock.call_at(start + i / rate, lambda: self.submit(user, srv))

    def submit(self, user: str, srv: str = "4.1.1") -> None:
        request = DspRequest("r", srv, Mode.ON_DEMAND, user, "ch", None)
        self.acks.setdefault(user, []).append(self.dsp.submit(request).code)


# -- SECMP0067 throttling ----------------------------------------------------------------------


def test_throttling_inactive_below_threshold_lets_users_borrow() -> None:
    sim = Sim(tmm(throttling=throttling()), portfolios={"big": 9, "small": 1})
    sim.offer("small", 80.0, 0.0, 10.0)  # 10x its allocation of 8/s, total below 90/s
    sim.clock.run()
    assert set(sim.acks["small"]) == {"I99"}
    assert not sim.dsp.throttling_active
    assert sim.dsp.user_counters("small") == UserCounters(800, 0, 0)


def test_throttling_activates_at_threshold_and_holds_users_to_allocation() -> None:
    sim = Sim(tmm(throttling=throttling()), portfolios={"big": 9, "small": 1})
    sim.offer("big", 60.0, 0.0, 20.0)  # allocation 72/s: never over it
    sim.offer("small", 40.0, 0.0, 20.0)  # allocation 8/s
    sim.clock.run(until=20.0)
    assert sim.dsp.throttling_active
    big, small = sim.dsp.user_counters("big"), sim.dsp.user_counters("small")
    assert big == UserCounters(1200, 0, 0)
    # First window (1 s) unthrottled, then ~8/s (plus one bucket of 8 at activation).
    assert 40 + 8 * 19 <= small.admitted <= 40 + 8 * 19 + 10
    assert small.throttled == small.rejected == 800 - small.admitted
    assert "RIG-THROTTLED" in sim.acks["small"]
    c = sim.dsp.counters
    assert c.submitted == c.admitted + c.rejected + sim.dsp.held


def test_cap_rule_greater_of_allocation_and_threshold_share() -> None:
    rule = CapRule.GREATER_OF_ALLOCATION_AND_THRESHOLD_SHARE
    sim = Sim(tmm(throttling=throttling(cap_rule=rule)), portfolios={"big": 9, "small": 1})
    sim.offer("big", 60.0, 0.0, 20.0)
    sim.offer("small", 40.0, 0.0, 20.0)
    sim.clock.run(until=20.0)
    small = sim.dsp.user_counters("small")
    # Held to the threshold share 0.9 x 100 x 0.1 = 9/s, not the allocation 8/s.
    assert 40 + 9 * 19 <= small.admitted <= 40 + 9 * 19 + 11


def test_throttling_hysteresis_deactivates_below_the_lower_mark() -> None:
    sim = Sim(tmm(throttling=throttling()), portfolios={"a": 1})
    sim.offer("a", 95.0, 0.0, 5.0)  # over 90: activates
    sim.offer("a", 70.0, 5.0, 10.0)  # between 50 and 90 offered: stays active
    sim.clock.run(until=9.5)
    assert sim.dsp.throttling_active
    sim.offer("a", 40.0, 10.0, 15.0)  # below 50: deactivates
    sim.clock.run(until=15.0)
    assert not sim.dsp.throttling_active


def test_held_requests_are_admitted_later_in_order_and_none_lost() -> None:
    policy = throttling(action=ThrottleAction.HOLD, hold_limit=50)
    sim = Sim(tmm(throttling=policy), portfolios={"a": 1, "b": 1})
    sim.offer("a", 95.0, 0.0, 5.0)
    sim.clock.run(until=5.0)
    held_then = sim.dsp.held
    assert 49 <= held_then <= 50  # the hold limit (50): beyond it, rejected
    a = sim.dsp.user_counters("a")
    assert a.rejected > 0 and a.throttled >= a.rejected + held_then
    assert "RIG-THROTTLED" in sim.acks["a"]
    sim.clock.run()
    assert sim.dsp.held == 0 and not sim.dsp.throttling_active
    c = sim.dsp.counters
    assert c.submitted == c.admitted + c.rejected
    assert c.admitted == c.dispatched == c.delivered
    requests = [item for _, item in sim.delivered]
    assert [r.seq for r in requests] == sorted(r.seq for r in requests)
    held = [r for r in requests if r.admitted_at > r.submitted_at]
    assert len(held) >= held_then
    assert [r.submitted_at for r in held] == sorted(r.submitted_at for r in held)


def test_throttling_reacts_within_a_fraction_of_the_window() -> None:
    """A sliding window: the submission that takes the rate to the operating threshold
    activates the mechanism (before: only at the end of a whole window)."""
    sim = Sim(tmm(throttling=throttling()), portfolios={"a": 1, "b": 1})
    sim.offer("a", 500.0, 0.0, 10.0)  # 5x capacity
    sim.clock.run(until=0.5)
    assert sim.dsp.throttling_active
    a = sim.dsp.user_counters("a")
    # Active at the 81st request (0.9 x 100/s over the 0.9 s the window spans), then one
    # bucket (40) and 40/s.
    assert a.admitted <= 81 + 40 + 40 * 0.5 + 1
    assert a.rejected >= 250 - 142


def test_held_requests_leave_paced_and_count_as_load() -> None:
    """When the mechanism deactivates, held requests are not dumped in one go: they leave
    under the activation mark (and at least at the User's cap), each counted as offered load,
    so a User that was never throttled never queues behind a dump (SECMP0067, issue 13)."""
    policy = throttling(action=ThrottleAction.HOLD, hold_limit=10_000, allocation_pool=1.0)
    sim = Sim(tmm(throttling=policy), portfolios={"flooder": 1, "steady": 1})
    sim.offer("flooder", 300.0, 0.0, 10.0)
    sim.offer("steady", 20.0, 0.0, 30.0)
    sim.clock.run()
    c = sim.dsp.counters
    assert c.submitted == c.admitted == c.delivered == 3000 + 600
    requests = [item for _, item in sim.delivered]
    steady = [r for r in requests if r.user == "steady"]
    assert all(r.admitted_at == r.submitted_at for r in steady)  # never throttled
    admitted = sorted(r.admitted_at for r in requests)
    # In every 1 s after the flood, at most the activation mark (90) plus one bucket (50).
    for start in range(10, 40):
        n = sum(1 for t in admitted if start <= t < start + 1)
        assert n <= 90 + 50 + 1, (start, n)
    flooder = [r for r in requests if r.user == "flooder"]
    assert [r.submitted_at for r in flooder] == sorted(r.submitted_at for r in flooder)


def test_a_user_within_its_allocation_is_never_throttled() -> None:
    """Allocations share out the whole capacity by default (allocation_pool 1): a User offering
    25/s with 30 % of a 100/s capacity keeps every request while another floods."""
    policy = ThrottlingPolicy(
        capacity=100.0, activate_at=0.9, deactivate_at=0.5, window_s=1.0,
        cap_rule=CapRule.ALLOCATION, action=ThrottleAction.REJECT, hold_limit=0,
        burst_s=1.0, response_code="RIG-THROTTLED",
    )  # fmt: skip
    sim = Sim(tmm(throttling=policy), portfolios={"small": 3, "flooder": 7})
    sim.offer("small", 25.0, 0.0, 30.0)
    sim.offer("flooder", 400.0, 0.0, 30.0)
    sim.clock.run()
    assert sim.dsp.user_counters("small") == UserCounters(750, 0, 0)
    assert sim.dsp.user_counters("flooder").rejected > 8000


def test_unused_allocation_shared_when_the_option_says_so() -> None:
    """``kept`` (default): held to its allocation (50/s); ``shared``: it borrows what the idle
    User leaves, while the admitted load stays under the lower mark (0.8 x 100/s)."""
    admitted = {}
    for option in UnusedAllocation:
        policy = throttling(allocation_pool=1.0, deactivate_at=0.8, unused_allocation=option)
        sim = Sim(tmm(throttling=policy), portfolios={"a": 1, "idle": 1})
        sim.offer("a", 200.0, 0.0, 10.0)
        sim.clock.run()
        admitted[option] = sim.dsp.user_counters("a").admitted
    assert admitted[UnusedAllocation.KEPT] <= 81 + 50 + 50 * 10
    assert 80 * 10 <= admitted[UnusedAllocation.SHARED] <= 81 + 50 + 80 * 10


def test_reload_switching_throttling_off_admits_everything_held() -> None:
    sim = Sim(tmm(throttling=throttling(action=ThrottleAction.HOLD)), portfolios={"a": 1})
    sim.offer("a", 200.0, 0.0, 3.0)
    sim.clock.run(until=3.0)
    assert sim.dsp.held > 0
    sim.dsp.reload(tmm())
    assert sim.dsp.held == 0
    sim.clock.run()
    assert sim.dsp.counters.delivered == 600


def test_user_without_portfolio_has_no_allocation_when_active() -> None:
    sim = Sim(tmm(throttling=throttling()), portfolios={"a": 1})
    sim.offer("a", 95.0, 0.0, 3.0)
    sim.offer("stranger", 1.0, 0.0, 3.0)
    sim.clock.run()
    assert sim.dsp.user_counters("stranger").rejected == 2  # all but the first window's


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("capacity", -1.0, "must be > 0"),
        ("activate_at", 1.5, "fraction"),
        ("deactivate_at", 0.95, "below activate_at"),
        ("response_code", "E99", "RIG-"),
        ("response_code", "THROTTLED", "RIG-"),
        ("hold_limit", -1, ">= 0"),
    ],
)
def test_bad_throttling_policy_names_the_field(field: str, value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=rf"throttling\.{field} = .*{reason}"):
        tmm(throttling=throttling(**{field: value}))


# -- SECMP0062 alert storms and DP119 ------------------------------------------------------------

STORM = AlertStormPolicy(
    window_s=10.0, threshold=3, forward_period_s=60.0, excluded_codes=frozenset({0x8F75})
)


def alert(device: object = "d1", code: int = 0x8F3E, user: str = "u") -> DeviceAlert:
    return DeviceAlert(user, device, code, raised_at=0.0)


def test_alerts_below_threshold_all_forwarded() -> None:
    sim = Sim(tmm(alert_storm=STORM))
    for t in (0.0, 1.0, 2.0, 11.0, 12.0, 13.0):  # 3 per window, twice
        sim.clock.call_at(t, lambda: sim.dsp.alert(alert()))
    sim.clock.run()
    assert len(sim.delivered) == 6
    assert all(a.throttled_count is None for _, a in sim.delivered)


def test_storm_discards_excess_and_forwards_one_summary_per_period() -> None:
    sim = Sim(tmm(alert_storm=STORM))
    for i in range(100):  # one a second for 100 s
        sim.clock.call_at(float(i), lambda: sim.dsp.alert(alert()))
    sim.clock.call_at(50.0, lambda: sim.dsp.alert(alert(device="d2")))  # other device: passes
    sim.clock.run()
    alerts = [a for _, a in sim.delivered]
    assert [a.device for a in alerts[:3]] == ["d1"] * 3  # the first 3 within the window pass
    summaries = [a for a in alerts if a.throttled_count is not None]
    # Storm from t=3: summaries at t=63 (t=3..63 discarded: 61, the alert due at 63 was
    # scheduled first) and t=123 (the other 36); the quiet period to t=183 ends it.
    assert [(t, a.throttled_count) for t, a in sim.delivered if a.throttled_count] == [
        (63.0, 61),
        (123.0, 36),
    ]
    assert len({a.throttled_sequence_id for a in summaries}) == 1
    assert summaries[0].throttled_sequence_id is not None
    assert sum(a.throttled_count for a in summaries) + 3 == 100
    assert any(a.device == "d2" for a in alerts)
    counters = sim.dsp.storm_filter.counters  # type: ignore[union-attr]
    assert (counters.offered, counters.discarded, counters.summaries, counters.storms) == (
        101,
        97,
        2,
        1,
    )
    assert sim.dsp.storm_filter.storms_in_progress == 0  # type: ignore[union-attr]
    assert sim.dsp.counters.alerts == 101


def test_excluded_codes_are_never_throttled() -> None:
    sim = Sim(tmm(alert_storm=STORM))
    for i in range(50):
        sim.clock.call_at(float(i) / 10, lambda: sim.dsp.alert(alert(code=0x8F75)))
    sim.clock.run()
    assert len(sim.delivered) == 50


def test_storm_windows_are_forgotten_after_they_close() -> None:
    clock = VirtualClock()
    out: list[DeviceAlert] = []
    storm_filter = AlertStormFilter(clock, STORM, out.append)
    for i in range(10_000):
        clock.call_at(float(i), lambda i=i: storm_filter.offer(alert(device=i)))
    clock.run()
    assert len(out) == 10_000
    assert len(storm_filter._windows) <= 21  # the bound on memory


def test_ch_consolidation_feeds_the_dsp_fewer_alerts() -> None:
    """DP119: the same filter in the Comms Hub, upstream of the DSP."""
    sim = Sim(tmm(alert_storm=STORM))
    ch = AlertStormFilter(sim.clock, STORM, sim.dsp.alert, summarise=ch_summary)
    for i in range(100):
        sim.clock.call_at(float(i), lambda: ch.offer(alert()))
    sim.clock.run()
    assert sim.dsp.counters.alerts == 3 + 2  # three first, two CH summaries
    assert [a.ch_count for _, a in sim.delivered if a.ch_count] == [61, 36]


# -- northbound adapters and DP100 outage release --------------------------------------------------


def test_each_user_has_its_own_adapter_rate() -> None:
    sim = Sim(tmm(), northbound_rate=1.0, northbound_rates={"fast": 10.0})
    for user in ("slow", "fast"):
        for _ in range(3):
            sim.dsp.respond(user, user=user)
    sim.clock.run()
    times = {u: [t for t, item in sim.delivered if item == u] for u in ("slow", "fast")}
    assert times == {"slow": [0.0, 1.0, 2.0], "fast": [0.0, 0.1, 0.2]}


def outage_run(policy: OutageReleasePolicy) -> list[tuple[float, object]]:
    sim = Sim(tmm(outage_release=policy, alert_storm=None), northbound_rate=100.0)
    sim.dsp.begin_outage()
    for i in range(3):
        sim.dsp.alert(alert(device=i))
        sim.submit("u", "4.1.1")
        sim.submit("u", "2.2")
    sim.clock.run(until=1.0)
    assert sim.delivered == [] and sim.dsp.northbound_depth == 9
    sim.clock.call_at(10.0, sim.dsp.end_outage)
    sim.clock.call_at(10.0, lambda: sim.submit("u", "7.2"))  # arrives during the release
    sim.clock.run()
    return sim.delivered


def label(item: object) -> str:
    return "alert" if isinstance(item, DeviceAlert) else item.srv  # type: ignore[attr-defined]


def test_outage_release_all_at_once_is_arrival_order() -> None:
    delivered = outage_run(OutageReleasePolicy(policy=ReleasePolicy.ALL_AT_ONCE))
    # Alerts reached the DSP at t=0; responses in southbound dispatch order (the first 4.1.1
    # took the idle server, then Priority Band 1 went ahead); the late 7.2 behind them all.
    expected = ["alert"] * 3 + ["4.1.1"] + ["2.2"] * 3 + ["4.1.1"] * 2 + ["7.2"]
    assert [label(i) for _, i in delivered] == expected
    assert delivered[0][0] == 10.0
    assert delivered[-1][0] == pytest.approx(10.09)  # behind the whole backlog


def test_outage_release_prioritised_is_ranked_and_paced() -> None:
    delivered = outage_run(OutageReleasePolicy(policy=ReleasePolicy.PRIORITISED, release_rate=2.0))
    labels = [label(i) for _, i in delivered]
    # The backlog by rank, paced at 2/s: Band 1 (2.2) first, level 4, alerts at the back. The
    # new 7.2 is not part of the backlog: it goes at the adapter's rate (100/s), unpaced.
    assert labels == ["2.2", "7.2", "2.2", "2.2"] + ["4.1.1"] * 3 + ["alert"] * 3
    backlog = [10.0 + 0.5 * i for i in range(9)]
    assert [t for t, _ in delivered] == pytest.approx([10.0, 10.01, *backlog[1:]])


def storm_then_top_up(order: NorthboundOrder) -> list[str]:
    """Ten alerts queue at a 1/s adapter, then a top-up response arrives."""
    sim = Sim(tmm(northbound=NorthboundPolicy(order=order)), northbound_rate=1.0)
    for i in range(10):
        sim.dsp.alert(alert(device=i))
    sim.clock.call_at(0.5, lambda: sim.submit("u", "2.2"))
    sim.clock.run()
    return [label(i) for _, i in sim.delivered]


def test_northbound_is_fifo_by_default_and_prioritised_as_an_option() -> None:
    """Today's DCC (the reference): FIFO, the top-up waits behind the storm. The TMM's
    northbound priority option (DP100's intent, [SEED 004]): it overtakes the queued alerts."""
    assert storm_then_top_up(NorthboundOrder.FIFO) == ["alert"] * 10 + ["2.2"]
    assert storm_then_top_up(NorthboundOrder.PRIORITISED) == ["alert", "2.2"] + ["alert"] * 9


def test_northbound_after_release_is_fifo_again() -> None:
    policy = OutageReleasePolicy(policy=ReleasePolicy.PRIORITISED, release_rate=10.0)
    sim = Sim(tmm(outage_release=policy))
    sim.dsp.begin_outage()
    sim.dsp.respond("held", user="u")
    sim.dsp.end_outage()
    sim.clock.run(until=5.0)
    sim.dsp.respond("later", user="u")
    assert [i for _, i in sim.delivered] == ["held", "later"]


def test_reload_file_keeps_the_old_document_when_the_new_one_is_invalid(tmp_path: Path) -> None:
    sim = Sim(tmm())
    bad = tmp_path / "bad.toml"
    bad.write_text(default_tmm_path().read_text().replace("threshold = 10", "threshold = 0"))
    error = sim.dsp.reload_file(bad)
    assert error is not None and error.path == "alert_storm.threshold"
    assert sim.dsp.tmm.version == "t"
    assert sim.dsp.reload_file(default_tmm_path()) is None
    assert sim.dsp.tmm.version == "rig-default-2024-11"


# -- the CSP -------------------------------------------------------------------------------------


def test_csp_limits_commands_in_flight_per_comms_hub() -> None:
    clock = VirtualClock()
    back: list[tuple[float, str]] = []
    csp = Csp(
        clock,
        latency=Fixed(2.0),
        on_response=lambda r: back.append((clock.now(), r.request_id)),
        ch_in_flight_limit=1,
    )
    for rid, ch in [("a1", "A"), ("a2", "A"), ("b1", "B"), ("a3", "A")]:
        csp.send(DspRequest(rid, "4.1.1", Mode.ON_DEMAND, "u", ch, None))
    assert (csp.in_flight, csp.waiting) == (2, 2)
    clock.run()
    assert back == [(2.0, "a1"), (2.0, "b1"), (4.0, "a2"), (6.0, "a3")]
    assert (csp.in_flight, csp.waiting) == (0, 0)


def test_latency_models_have_the_right_means() -> None:
    rng = random.Random(5)
    table = Empirical.of([(0.0, 1.0), (0.5, 2.0), (0.9, 4.0), (1.0, 10.0)])
    for dist in (Fixed(3.0), Exponential(2.0), LogNormal(median=2.0, sigma=0.5), table):
        n = 40_000
        mean = sum(dist.sample(rng) for _ in range(n)) / n
        assert mean == pytest.approx(dist.mean, rel=0.03), dist
    assert table.mean == pytest.approx(0.5 * 1.5 + 0.4 * 3.0 + 0.1 * 7.0)


@pytest.mark.parametrize(
    "build",
    [
        lambda: LogNormal(median=0.0, sigma=1.0),
        lambda: LogNormal(median=1.0, sigma=-1.0),
        lambda: Empirical.of([(0.0, 1.0)]),
        lambda: Empirical.of([(0.0, 1.0), (0.5, 0.5), (1.0, 2.0)]),
        lambda: Empirical.of([(0.1, 1.0), (1.0, 2.0)]),
    ],
)
def test_bad_latency_models_are_refused(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]
