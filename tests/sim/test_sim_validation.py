"""Scenario rules from the seeds and honest reports (issue 13, "Validation"): modes an SRV
cannot be sent in are refused, ``drained_at_s`` is when the system emptied, DP119 summaries are
counted, per-class service times, ``rig simulate --seed``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from rig.sim.commands import simulate
from rig.sim.runner import Run
from rig.sim.scenario import ScenarioError, load_scenario

BASE = """\
name = "validation"
duration_s = {duration}
seed = 4
series_bin_s = 60.0

[dsp]
servers = 2
service_time = {{ kind = "fixed", seconds = 0.01 }}
{dsp_extra}

[csp]
latency = {{ kind = "fixed", seconds = 2.0 }}

[trt]
on_demand_s = 30.0
future_dated_s = 30.0
scheduled_s = 86400.0

[[users]]
name = "supplier"
portfolio = 100

{arrivals}
"""


def scenario(write: Callable[..., Path], arrivals: str, duration: float = 10.0,
             dsp_extra: str = "", extra: str = "") -> Path:  # fmt: skip
    text = BASE.format(duration=duration, arrivals=arrivals, dsp_extra=dsp_extra) + extra
    return write(text)


TOP_UP_SCHEDULED = """\
[[arrivals]]
kind = "poisson"
user = "supplier"
rate = 1.0
mode = "scheduled"
mix = { "4.8.1" = 1.0, "2.2" = 1.0 }
"""


def test_an_srv_that_cannot_be_scheduled_is_refused(scenario_file: Callable[..., Path]) -> None:
    path = scenario(scenario_file, TOP_UP_SCHEDULED)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: arrivals[0].mix.\"2.2\" = '2.2': SRV 2.2 cannot be sent")
    assert "mode_override" in message


@pytest.mark.parametrize(
    ("mode", "srv"),
    [("future_dated", "2.2"), ("future_dated", "1.1.1"), ("on_demand", "11.1")],
)
def test_other_impossible_modes_are_refused(
    scenario_file: Callable[..., Path], mode: str, srv: str
) -> None:
    arrivals = TOP_UP_SCHEDULED.replace('"scheduled"', f'"{mode}"').replace(
        '{ "4.8.1" = 1.0, "2.2" = 1.0 }', f'{{ "{srv}" = 1.0 }}'
    )
    with pytest.raises(ScenarioError, match=rf"cannot be sent {mode}"):
        load_scenario(scenario(scenario_file, arrivals))


def test_a_reasoned_override_lets_the_scenario_model_it(scenario_file: Callable[..., Path]) -> None:
    arrivals = TOP_UP_SCHEDULED + 'mode_override = "what if top-ups were batched overnight"\n'
    loaded = load_scenario(scenario(scenario_file, arrivals))
    assert loaded.arrivals[0].mix == (("4.8.1", 1.0), ("2.2", 1.0))


ONE_REQUEST = """\
[[arrivals]]
kind = "burst"
user = "supplier"
count = 1
start_s = 1.0
mix = { "4.1.1" = 1.0 }
"""


def test_drained_at_is_the_last_delivery_not_the_last_series_tick(
    scenario_file: Callable[..., Path],
) -> None:
    report = Run(load_scenario(scenario(scenario_file, ONE_REQUEST))).run()
    # Submitted at 1 s, served 0.01 s, WAN 2 s: delivered at 3.01 s (the series ticks at 60 s).
    assert report["run"]["drained_at_s"] == pytest.approx(3.01)


def test_per_class_service_times(scenario_file: Callable[..., Path]) -> None:
    arrivals = """\
[[arrivals]]
kind = "poisson"
user = "supplier"
rate = 5.0
mix = { "1.1.1" = 1.0, "2.2" = 1.0 }

[[arrivals]]
kind = "daily_read_burst"
user = "supplier"
count = 20
start_s = 0.0
duration_s = 10.0
mix = { "4.8.1" = 1.0 }
"""
    extra = (
        'service_time_by_srv = { "1.1.1" = { kind = "fixed", seconds = 0.5 } }\n'
        'service_time_by_mode = { scheduled = { kind = "fixed", seconds = 0.2 } }'
    )
    report = Run(load_scenario(scenario(scenario_file, arrivals, 60.0, extra))).run()
    service = {
        srv: row["latency_s"]["dsp_service"]["mean"] for srv, row in report["by_srv"].items()
    }
    assert service["1.1.1"] == pytest.approx(0.5, rel=0.01)
    assert service["4.8.1"] == pytest.approx(0.2, rel=0.01)
    assert service["2.2"] == pytest.approx(0.01, rel=0.01)


def test_dp119_summaries_are_counted_per_user(scenario_file: Callable[..., Path]) -> None:
    """The Comms Hub's consolidated copies (DP119) are storm summaries too."""
    arrivals = """\
[[arrivals]]
kind = "alert_storm"
user = "supplier"
devices = 2
rate_per_device = 1.0
code = 0x8F01
start_s = 0.0
duration_s = 100.0
"""
    extra = "\n[ch_consolidation]\nwindow_s = 10.0\nthreshold = 2\nforward_period_s = 20.0\n"
    report = Run(load_scenario(scenario(scenario_file, arrivals, 120.0, extra=extra))).run()
    ch = report["alerts"]["ch_consolidation"]
    assert ch["summaries"] > 0
    dsp = report["alerts"]["dsp_storm_protection"]
    row = report["alerts"]["by_user"]["supplier"]
    assert row["storm_summaries_delivered"] == ch["summaries"] + dsp["summaries"]


def test_simulate_takes_a_seed(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    arrivals = TOP_UP_SCHEDULED.replace('"scheduled"', '"on_demand"').replace('"4.8.1"', '"4.1.1"')
    path = scenario(scenario_file, arrivals, 100.0)
    reports = []
    for seed in (None, 9):
        out = tmp_path / f"{seed}.json"
        args = [str(path), "--json", str(out), "--no-progress"]
        result = CliRunner().invoke(simulate, args + ([] if seed is None else ["--seed", "9"]))
        assert result.exit_code == 0, result.output
        reports.append(json.loads(out.read_text()))
    assert [r["seed"] for r in reports] == [4, 9]
    assert reports[0]["dsp"]["submitted"] != reports[1]["dsp"]["submitted"]
