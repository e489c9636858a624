"""Timers without slack for the rig's loop and the emulated devices it starts
(rig/host/timer_slack.py)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from one_esme_bench import live_rig

from rig.host import timer_slack

linux = pytest.mark.skipif(sys.platform != "linux", reason="timer slack is a Linux setting")


@linux
def test_tighten_sets_the_calling_thread_only():
    out = []

    def tighten() -> None:
        out.append((timer_slack.tighten(), timer_slack.current()))

    before = timer_slack.current()
    thread = threading.Thread(target=tighten)
    thread.start()
    thread.join()
    assert out == [(None, 1)]
    assert timer_slack.current() == before


@linux
def test_the_emulated_devices_inherit_the_loop_thread_slack(tmp_path: Path):
    with live_rig(tmp_path, "slack", "pty") as rig:
        pid = rig.devices["esme"].process.pid  # type: ignore[attr-defined]
        assert Path(f"/proc/{pid}/timerslack_ns").read_text().strip() == "1"
        assert rig.read_supply_status("esme").ok
