"""Scenario files: the shipped ones load; bad input is refused naming file, field and value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rig.dsp.distributions import Empirical, LogNormal
from rig.dsp.tmm import Mode
from rig.sim.scenario import SCENARIOS_DIR, ScenarioError, load_scenario

SCENARIOS = SCENARIOS_DIR
SHIPPED = sorted(p for p in SCENARIOS.glob("*.toml") if not p.name.startswith("tmm-"))

MINIMAL = """\
name = "minimal"
duration_s = 60.0
seed = 1

[dsp]
servers = 2
service_time = { kind = "exponential", mean_s = 0.1 }

[csp]
latency = { kind = "empirical", points = [[0.0, 1.0], [0.5, 2.0], [1.0, 5.0]] }

[trt]
on_demand_s = 30.0
future_dated_s = 30.0
scheduled_s = 3600.0

[[users]]
name = "u"
portfolio = 100

[[arrivals]]
kind = "poisson"
user = "u"
rate = 5.0
mix = { "2.2" = 1.0, "4.1.1" = 3.0 }

[provenance]
"dsp" = "[ASSUMED] test"
"""


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenarios_load_with_their_variants(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.users and scenario.arrivals
    assert scenario.provenance, "every shipped scenario says where its numbers come from"
    for variant in [None, *scenario.variants]:
        assert scenario.tmm(variant).version


def test_the_required_scenarios_are_shipped() -> None:
    names = {load_scenario(p).name for p in SHIPPED}
    assert {
        "quiet-hour",
        "daily-read-burst-2024",
        "national-day-2024",
        "flooding-user",
        "alert-storm",
        "outage-release",
    } <= names


def test_minimal_scenario_values(scenario_file: Callable[..., Path]) -> None:
    scenario = load_scenario(scenario_file(MINIMAL))
    assert scenario.servers == 2
    assert isinstance(scenario.latency, Empirical)
    assert scenario.trt("2.2", Mode.ON_DEMAND) == 30.0
    (arrivals,) = scenario.arrivals
    assert arrivals.mix == (("2.2", 1.0), ("4.1.1", 3.0))
    assert arrivals.profile == ((0.0, 5.0),) and arrivals.end_s == 60.0
    short = scenario.with_duration(10.0)
    assert short.duration_s == 10.0 and short.arrivals[0].end_s == 10.0


def test_arrival_kinds(scenario_file: Callable[..., Path]) -> None:
    text = MINIMAL.replace(
        "[provenance]",
        """[[arrivals]]
kind = "daily_read_burst"
user = "u"
count = 600
start_s = 10.0
duration_s = 30.0
mix = { "4.8.1" = 1.0 }

[[arrivals]]
kind = "burst"
user = "u"
count = 50
start_s = 5.0
spread_s = 10.0
mix = { "2.2" = 1.0 }

[[arrivals]]
kind = "alert_storm"
user = "u"
devices = 10
rate_per_device = 0.5
code = 0x8F01
start_s = 0.0
duration_s = 20.0

[csp.latency]
kind = "lognormal"
median_s = 2.0
sigma = 0.5

[provenance]""",
    ).replace(
        'latency = { kind = "empirical", points = [[0.0, 1.0], [0.5, 2.0], [1.0, 5.0]] }\n', ""
    )
    scenario = load_scenario(scenario_file(text))
    burst_reads, burst, storm = scenario.arrivals[1:]
    assert (burst_reads.kind, burst_reads.mode, burst_reads.profile) == (
        "poisson",
        Mode.SCHEDULED,
        ((10.0, 20.0),),
    )
    assert burst_reads.end_s == 40.0
    assert (burst.kind, burst.count, burst.spread_s) == ("burst", 50, 10.0)
    assert (storm.kind, storm.devices, storm.codes, storm.profile, storm.end_s) == (
        "alerts",
        10,
        (0x8F01,),
        ((0.0, 5.0),),
        20.0,
    )
    assert isinstance(scenario.latency, LogNormal)


BAD = [
    # (name, replace this, with this, field path in the message, value in the message)
    ("unknown SRV", '"2.2" = 1.0', '"2.9" = 1.0', 'arrivals[0].mix."2.9"', "'2.9'"),
    ("negative rate", "rate = 5.0", "rate = -5.0", "arrivals[0].rate", "-5.0"),
    ("rate not number", "rate = 5.0", 'rate = "fast"', "arrivals[0].rate", "'fast'"),
    ("missing field", "seed = 1\n", "", "seed", "None"),
    ("missing dsp field", "servers = 2\n", "", "dsp.servers", "None"),
    ("zero servers", "servers = 2", "servers = 0", "dsp.servers", "0"),
    ("unknown user", 'user = "u"', 'user = "x"', "arrivals[0].user", "'x'"),
    ("unknown kind", 'kind = "poisson"', 'kind = "gamma"', "arrivals[0].kind", "'gamma'"),
    ("unknown field", "seed = 1", "seed = 1\nsed = 2", "sed", "2"),
    ("negative duration", "duration_s = 60.0", "duration_s = -1.0", "duration_s", "-1.0"),
    ("bad distribution", '"exponential"', '"weibull"', "dsp.service_time.kind", "'weibull'"),
    ("bad empirical", "[1.0, 5.0]]", "[0.9, 5.0]]", "csp.latency.points", "[[0.0, 1.0]"),
    ("bad trt", "on_demand_s = 30.0", "on_demand_s = 0", "trt.on_demand_s", "0"),
    ("bad mode", "mix = {", 'mode = "later"\nmix = {', "arrivals[0].mode", "'later'"),
    ("provenance of nothing", '"dsp" = "[ASSUMED] test"', '"dps" = "x"', 'provenance.dps',
     "'x'"),
    ("bad variant", "[provenance]", '[variants.v]\n"outage_release.policy" = "never"\n\n'
     "[provenance]", "variants.v", "{'outage_release.policy': 'never'}"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "path", "value"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_scenarios_name_file_field_and_value(
    scenario_file: Callable[..., Path], old: str, new: str, path: str, value: str
) -> None:
    assert old in MINIMAL
    file = scenario_file(MINIMAL.replace(old, new, 1))
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    assert str(info.value).startswith(f"{file}: {path} = {value}"), str(info.value)


def test_a_bad_tmm_document_is_refused_naming_its_file_and_field(
    scenario_file: Callable[..., Path],
) -> None:
    """A level outside 1-4 in the scenario's TMM document."""
    tmm = scenario_file(
        'version = "t"\ndefault_level = 4\nmode_order = ["on_demand", "future_dated", '
        '"scheduled"]\npriority_band_1 = []\n[levels]\n"2.2" = 5\n',
        "tmm.toml",
    )
    file = scenario_file('tmm = "tmm.toml"\n' + MINIMAL)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    message = str(info.value)
    assert message.startswith(f"{file}: tmm = 'tmm.toml': invalid TMM document: ")
    assert f'{tmm}: levels."2.2" = 5: level must be 1..4' in message


def test_unreadable_scenario(tmp_path: Path, scenario_file: Callable[..., Path]) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "absent.toml")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(scenario_file("name = \n"))
