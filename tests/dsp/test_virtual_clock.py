"""VirtualClock: the discrete-event side of the Clock seam (rig/clock.py)."""

from __future__ import annotations

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
