"""VirtualClock: the discrete-event side of the Clock seam (rig/clock.py)."""

from __future__ import annotations

import heapq
import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rig.clock import VirtualClock


def test_events_run_in_time_order_then_scheduling_order() -> None:
    clock = VirtualClock()
    seen: list[tuple[float, str]] = []
    for when, name in [(2.0, "c"), (1.0, "a"), (1.0, "b"), (0.5, "first")]:
        clock.call_at(when, lambda n=name: seen.append((clock.now(), n)))
    clock.run()
    assert seen == [(0.5, "first"), (1.0, "a"), (1.0, "b"), (2.0, "c")]


def test_past_times_run_now_and_call_later_is_relative() -> None:
    clock = VirtualClock(start=10.0)
    seen: list[float] = []
    clock.call_at(3.0, lambda: seen.append(clock.now()))
    clock.call_later(2.5, lambda: seen.append(clock.now()))
    clock.run()
    assert seen == [10.0, 12.5]


def test_cancelled_timers_never_run_and_are_not_pending() -> None:
    clock = VirtualClock()
    seen: list[str] = []
    keep = clock.call_at(1.0, lambda: seen.append("keep"))
    drop = clock.call_at(2.0, lambda: seen.append("drop"))
    drop.cancel()
    assert clock.pending == 1
    assert clock.step() is True
    assert clock.step() is False  # only the cancelled one was left
    assert seen == ["keep"] and clock.now() == 1.0
    keep.cancel()  # cancelling after it ran is harmless


def test_run_until_stops_before_later_events_and_advances_time() -> None:
    clock = VirtualClock()
    seen: list[float] = []
    for t in (1.0, 2.0, 3.0):
        clock.call_at(t, lambda: seen.append(clock.now()))
    clock.run(until=2.0)
    assert seen == [1.0, 2.0] and clock.now() == 2.0 and clock.pending == 1
    clock.run(until=2.5)
    assert clock.now() == 2.5
    clock.run()
    assert seen == [1.0, 2.0, 3.0]


def test_callbacks_may_schedule_more_events() -> None:
    clock = VirtualClock()
    count = 0

    def tick() -> None:
        nonlocal count
        count += 1
        if count < 100:
            clock.call_later(0.1, tick)

    clock.call_at(0.0, tick)
    clock.run()
    assert count == 100 and abs(clock.now() - 9.9) < 1e-9


def test_call_at_passes_arguments_without_a_partial() -> None:
    clock = VirtualClock()
    seen: list[tuple[float, str, int]] = []
    clock.call_at(2.0, lambda name, n: seen.append((clock.now(), name, n)), "b", 2)
    clock.call_later(1.0, lambda name, n: seen.append((clock.now(), name, n)), "a", 1)
    clock.run()
    assert seen == [(1.0, "a", 1), (2.0, "b", 2)]


@settings(max_examples=200, deadline=None)
@given(
    window_s=st.sampled_from([0.01, 0.125, 1.0, 100.0]),
    plan=st.lists(
        st.tuples(
            st.floats(min_value=-1.0, max_value=50.0, allow_nan=False),  # when (past: now)
            st.one_of(st.none(), st.floats(min_value=0.0, max_value=5.0)),  # delay of a child
            st.booleans(),  # cancel it before the run
        ),
        max_size=60,
    ),
    until=st.one_of(st.none(), st.floats(min_value=0.0, max_value=60.0)),
)
def test_two_tier_queue_runs_events_in_exact_heap_order(
    window_s: float, plan: list[tuple[float, float | None, bool]], until: float | None
) -> None:
    """The calendar in front of the heap changes nothing: events run by (time, scheduling
    order), whatever the window, including ones scheduled from callbacks and cancelled ones."""
    clock = VirtualClock(window_s=window_s)
    ran: list[tuple[float, int]] = []
    expected: list[tuple[float, int, bool]] = []  # (when, seq, cancelled) of the top level
    seq = itertools.count()

    def event(n: int, child_delay: float | None) -> None:
        ran.append((clock.now(), n))
        if child_delay is not None:
            clock.call_later(child_delay, event, next(seq) + 1000, None)

    for when, child, cancel in plan:
        n = next(seq)
        timer = clock.call_at(when, event, n, child)
        if cancel:
            timer.cancel()
        expected.append((max(when, 0.0), n, cancel))
    clock.run(until)
    times = [t for t, _ in ran]
    assert times == sorted(times)
    limit = math.inf if until is None else until
    top = [(w, n) for w, n, c in sorted(expected) if not c and w <= limit]
    assert [(t, n) for t, n in ran if n < 1000] == top
    clock.run()
    assert clock.pending == 0
    with pytest.raises(ValueError, match="window_s"):
        VirtualClock(window_s=0)


@settings(max_examples=200, deadline=None)
@given(
    window_s=st.sampled_from([0.01, 0.5, 100.0]),
    plan=st.lists(
        st.tuples(
            st.sampled_from([-1.0, 0.0, 0.5, 1.0]),  # when: many events at the same times
            st.one_of(st.none(), st.sampled_from([0.0, 0.5])),  # a child, often at once
            st.booleans(),  # cancel it before the run
        ),
        max_size=40,
    ),
)
def test_events_at_the_same_time_run_in_scheduling_order(
    window_s: float, plan: list[tuple[float, float | None, bool]]
) -> None:
    """Ties (the queue orders distinct times, with a FIFO per time): a child scheduled at the
    current time runs after every event already due then, cancelled ones never run."""
    clock = VirtualClock(window_s=window_s)
    ran: list[tuple[float, int]] = []
    model: list[tuple[float, int, int, float | None]] = []  # (when, seq, name, child delay)
    counter = itertools.count()

    def event(n: int, child_delay: float | None) -> None:
        ran.append((clock.now(), n))
        if child_delay is not None:
            clock.call_later(child_delay, event, n + 1000, None)

    for when, child, cancel in plan:
        n = next(counter)
        timer = clock.call_at(when, event, n, child)
        if cancel:
            timer.cancel()
        else:
            heapq.heappush(model, (max(when, 0.0), next(counter), n, child))
    expected: list[tuple[float, int]] = []
    while model:  # the reference: one heap ordered by (time, scheduling order)
        when, _, n, child = heapq.heappop(model)
        expected.append((when, n))
        if child is not None:
            heapq.heappush(model, (when + child, next(counter), n + 1000, None))
    clock.run()
    assert ran == expected
    assert clock.pending == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 5.0), max_size=30), st.floats(0.0, 6.0))
def test_next_due_is_the_earliest_time_left_across_windows(
    times: list[float], until: float
) -> None:
    """What the emulated HAN's host loop sleeps until (devices/han/emulated.py)."""
    clock = VirtualClock(window_s=0.25)
    for when in times:
        clock.call_at(when, lambda: None)
    clock.run(until)
    left = [t for t in times if t > until]
    assert clock.next_due() == (min(left) if left else None)
