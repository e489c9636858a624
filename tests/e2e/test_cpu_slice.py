"""The short CPU slice of the rig's loop and the device processes it starts (rig/host/cpu_slice.py).

Where the kernel cannot give per-thread slices (not Linux, Linux < 6.12), ``request`` must say
why and change nothing; the tests that need the feature check the kernel first."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from one_esme_bench import live_rig, write_bench

from rig.config.bench import BenchError, load_bench
from rig.host import cpu_slice


def _bench(folder: Path, host: str = "") -> Path:
    """The one-ESME bench with a ``[host]`` table (it closes the device's table)."""
    return write_bench(folder, "slices", "pty", host)


def _in_thread(function):
    """Run ``function`` on a fresh thread (a slice stays with the thread that asked)."""
    out = []
    thread = threading.Thread(target=lambda: out.append(function()))
    thread.start()
    thread.join()
    return out[0]


def _supported() -> bool:
    return _in_thread(lambda: cpu_slice.request(cpu_slice.MIN_SLICE_S)) is None


needs_slices = pytest.mark.skipif(not _supported(), reason="no per-thread CPU slices here")


@needs_slices
def test_a_granted_slice_is_what_the_kernel_reports():
    def ask():
        before = cpu_slice.current()
        refused = cpu_slice.request(0.0003)
        return before, refused, cpu_slice.current()

    before, refused, after = _in_thread(ask)
    assert refused is None
    assert after == pytest.approx(0.0003)
    assert before != after


@pytest.mark.parametrize("seconds", [0.0, 50e-6, 0.2])
def test_a_slice_outside_the_kernel_bounds_is_refused(seconds):
    with pytest.raises(ValueError, match="must be 100-100000 µs"):
        cpu_slice.request(seconds)


@pytest.mark.parametrize(
    ("line", "expected"),
    [("cpu_slice_us = 0", None), ("cpu_slice_us = 250", 250e-6), ("", cpu_slice.MIN_SLICE_S)],
)
def test_the_bench_sets_the_slice(tmp_path: Path, line, expected):
    path = _bench(tmp_path, f"[host]\n{line}" if line else "")
    assert load_bench(path).cpu_slice_s == expected


@pytest.mark.parametrize("value", ["50", "200000", '"fast"'])
def test_a_bad_slice_names_the_key(tmp_path: Path, value):
    path = _bench(tmp_path, f"[host]\ncpu_slice_us = {value}")
    with pytest.raises(BenchError, match=r"bench\.toml: host\.cpu_slice_us: expected"):
        load_bench(path)


@needs_slices
def test_the_emulated_device_processes_run_on_the_rig_slice(tmp_path: Path):
    with live_rig(tmp_path, "slices", "pty") as rig:
        assert rig.cpu_slice_refused is None
        pid = rig.devices["esme"].process.pid  # type: ignore[attr-defined]
        assert cpu_slice.current(pid) == pytest.approx(cpu_slice.MIN_SLICE_S)


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="no scheduling policies here")
def test_a_thread_under_another_policy_is_told_why_and_left_alone():
    def ask():
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        before = cpu_slice.current()
        return cpu_slice.request(cpu_slice.MIN_SLICE_S), before, cpu_slice.current()

    refused, before, after = _in_thread(ask)
    assert refused == "the thread is not under the normal (SCHED_OTHER) policy"
    assert before == after
