"""The rig loop's busy polling ([host] busy_poll_us, rig/host/busy_poll.py)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from one_esme_bench import live_rig, write_bench

from rig.config.bench import BenchError, load_bench
from rig.host.busy_poll import PollingSelector

EVENT_READ = 1


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_a_ready_descriptor_is_returned_at_once(pair):
    a, b = pair
    with PollingSelector(0.005) as selector:
        selector.register(a, EVENT_READ)
        b.send(b"x")
        ((key, events),) = selector.select(1.0)
        assert key.fileobj is a and events == EVENT_READ


def test_nothing_ready_within_a_short_timeout_gives_nothing_after_it(pair):
    a, _ = pair
    with PollingSelector(0.005) as selector:
        selector.register(a, EVENT_READ)
        start = time.monotonic()
        assert selector.select(0.002) == []  # spun through the whole timeout
        assert time.monotonic() - start >= 0.002
        assert selector.select(0) == []


def test_after_the_window_it_sleeps_until_something_comes(pair):
    a, b = pair
    with PollingSelector(0.001) as selector:
        selector.register(a, EVENT_READ)
        sender = threading.Timer(0.05, b.send, (b"x",))
        sender.start()
        ready = selector.select(None)  # polls 1 ms, then blocks
        sender.join()
        assert [key.fileobj for key, _ in ready] == [a]
        start = time.monotonic()
        a.recv(1)
        assert selector.select(0.02) == []  # polled 1 ms, slept the remaining 19
        assert time.monotonic() - start >= 0.02


@pytest.mark.parametrize("window", [0.0, -1.0, 0.011])
def test_a_window_outside_its_bounds_is_refused(window):
    with pytest.raises(ValueError, match="must be 1-10000 µs"):
        PollingSelector(window)


@pytest.mark.parametrize(("value", "expected"), [("0", None), ("750", 0.00075)])
def test_the_bench_sets_the_window(tmp_path: Path, value, expected):
    bench = load_bench(write_bench(tmp_path, "poll", "pty", f"[host]\nbusy_poll_us = {value}"))
    assert bench.busy_poll_s == expected


def test_a_window_too_long_names_the_key(tmp_path: Path):
    path = write_bench(tmp_path, "poll", "pty", "[host]\nbusy_poll_us = 20000")
    with pytest.raises(BenchError, match=r"host\.busy_poll_us: expected 0 \(off\) or 1-10000"):
        load_bench(path)


def test_a_busy_polling_rig_answers(tmp_path: Path):
    with live_rig(tmp_path, "poll", "pty", "[host]\nbusy_poll_us = 500") as rig:
        assert isinstance(rig.loop._selector, PollingSelector)  # type: ignore[attr-defined]
        for _ in range(3):
            record = rig.read_supply_status("esme")
            assert record.ok, record.reason
