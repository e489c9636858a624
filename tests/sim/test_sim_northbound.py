"""Northbound in virtual time: the TMM's northbound priority option lets top-ups overtake an
alert storm (DP100's intent, [SEED 004]); after an outage DP100 paces the held backlog only, so
recovery takes no longer than today's release all at once."""

from __future__ import annotations

import pytest

from rig.sim.runner import Run
from rig.sim.scenario import load_scenario, scenario_path


@pytest.mark.slow
def test_top_ups_overtake_an_alert_storm_with_northbound_priority() -> None:
    scenario = load_scenario(scenario_path("alert-storm")).with_duration(900.0)
    fifo, ranked = (
        Run(scenario, v).run()["by_srv"]["2.2"] for v in ("secmp0062", "northbound-priority")
    )
    # FIFO (today, the default): top-ups queue behind the storm until it is detected.
    assert fifo["latency_s"]["northbound"]["max"] > 10.0
    assert fifo["trt"]["compliance"] < 0.995
    # Prioritised: they never wait behind an alert for more than one delivery slot.
    assert ranked["latency_s"]["northbound"]["max"] < 0.1
    assert ranked["trt"]["compliance"] > 0.9995


@pytest.mark.slow
def test_dp100_paces_the_backlog_only_and_recovers_as_fast_as_today() -> None:
    scenario = load_scenario(scenario_path("outage-release")).with_duration(3100.0)
    today, dp100 = (Run(scenario, v).run() for v in ("today", "dp100"))
    assert dp100["run"]["drained_at_s"] <= today["run"]["drained_at_s"] + 5.0
    level = {r["variant"]: r["by_level"] for r in (today, dp100)}
    assert level["dp100"]["1"]["latency_s"]["end_to_end"]["mean"] < (
        level["today"]["1"]["latency_s"]["end_to_end"]["mean"] - 50.0
    )
    assert (
        level["dp100"]["1"]["latency_s"]["end_to_end"]["mean"]
        < level["dp100"]["2"]["latency_s"]["end_to_end"]["mean"]
        < level["dp100"]["4"]["latency_s"]["end_to_end"]["mean"]
    )
