"""The pure load schedule builders: timing, mixes, seeding and bad input."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rig.load import (
    Control,
    InjectAlert,
    ScheduleError,
    Send,
    alert_storm,
    background,
    flood,
    merge,
    outage,
    read_burst,
    reload_tmm,
    requested_rate,
)

DEVICES = ["m1", "m2", "m3"]


@settings(deadline=None)  # the machine is shared: no per-example time limit
@given(
    rate=st.floats(1, 5000),
    duration=st.floats(0.01, 3),
    start=st.floats(0, 10),
)
def test_background_is_evenly_spaced_at_the_rate(rate: float, duration: float, start: float):
    events = background(rate, duration, devices=DEVICES, start=start)
    assert len(events) == round(rate * duration)
    assert all(start <= e.at < start + duration + 1e-9 for e in events)
    assert all(b.at - a.at == pytest.approx(1 / rate) for a, b in itertools.pairwise(events))
    assert [e.device for e in events[:3]] == DEVICES[: len(events[:3])]


@settings(deadline=None)
@given(seed=st.integers(0, 2**32), poisson=st.booleans())
def test_a_schedule_is_a_pure_function_of_its_seed(seed: int, poisson: bool):
    def build() -> tuple:
        return background(
            200, 1.0, devices=DEVICES, mix={"7.4": 3, "2.2": 1}, users={"a": 1, "b": 2},
            poisson=poisson, seed=seed,
        )  # fmt: skip

    assert build() == build()


def test_the_mix_and_users_follow_their_weights():
    events = background(10_000, 1.0, devices=DEVICES, mix={"7.4": 3, "2.2": 1}, users=["a", "b"])
    share = sum(e.srv == "2.2" for e in events) / len(events)
    assert 0.22 < share < 0.28
    assert {e.user for e in events} == {"a", "b"}


def test_merge_orders_every_part_by_time():
    merged = merge(
        background(100, 1.0, devices=DEVICES),
        alert_storm(["m1", "m2"], 0x8F51, per_device=20, rate=40, start=0.25),
        outage(0.5, 0.2),
        reload_tmm(0.6, Path("tmm.toml")),
        read_burst(50, 0.1, devices=DEVICES, start=0.8),
        flood("b", 300, 0.2, devices=DEVICES, start=0.1),
    )
    assert [e.at for e in merged] == sorted(e.at for e in merged)
    kinds = {type(e) for e in merged}
    assert kinds == {Send, InjectAlert, Control}
    assert [e.action for e in merged if isinstance(e, Control)] == [
        "begin_outage", "reload_tmm", "end_outage",
    ]  # fmt: skip


def test_requested_rate_is_over_the_span_of_the_requests():
    assert requested_rate(background(250, 2.0, devices=DEVICES)) == pytest.approx(250)
    assert requested_rate(outage(0, 1)) == 0.0


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: background(-1, 1, devices=DEVICES), r"rate = -1: must be > 0"),
        (lambda: background(1, 1, devices=[]), r"devices: must name at least one"),
        (lambda: background(1, 1, devices=DEVICES, mix={"9.9": 1}), r"mix: SRV '9.9' unknown"),
        (lambda: background(1, 1, devices=DEVICES, users={"a": -2}), r"users\['a'\] = -2"),
        (lambda: read_burst(-5, 1, devices=DEVICES), r"count = -5"),
        (lambda: alert_storm(["m1"], 1, per_device=1, rate=0), r"rate = 0"),
        (lambda: outage(1, -1), r"duration = -1"),
    ],
)
def test_bad_arguments_are_named(build, message: str):
    with pytest.raises(ScheduleError, match=message):
        build()
