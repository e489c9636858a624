"""SECMP0067 in virtual time: a flooding User never pushes a User within its allocation past
its TRT, whatever the flood, the portfolios or the throttling action ([SEED 003]: Users "will
be forced to operate within that allocation"; issue 13, "Small Users fully protected")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rig.sim.runner import Run
from rig.sim.scenario import SCENARIOS_DIR, load_scenario

CAPACITY = 100.0
FLOOD_START, FLOOD_END, DURATION = 20.0, 60.0, 80.0
TRT = 30.0

SCENARIO = """\
name = "protection"
duration_s = {duration}
seed = {seed}
tmm = "tmm.toml"

[dsp]
servers = 5
service_time = {{ kind = "exponential", mean_s = 0.05 }}

[csp]
latency = {{ kind = "fixed", seconds = 2.0 }}

[northbound]
adapter_rate = 10000.0

[trt]
on_demand_s = {trt}
future_dated_s = {trt}
scheduled_s = 86400.0

[[users]]
name = "protected"
portfolio = {protected}

[[users]]
name = "flooder"
portfolio = {flooder}

[[arrivals]]
kind = "burst"
user = "protected"
count = {count}
spread_s = {duration}
start_s = 0.0
mix = {{ "2.2" = 0.3, "4.1.1" = 0.7 }}

[[arrivals]]
kind = "poisson"
user = "flooder"
profile = [[0, 1.0], [{start}, {flood}], [{end}, 1.0]]
mix = {{ "4.1.1" = 1.0 }}
"""


def run(write: Callable[..., Path], action: str, flood_multiple: float, share: float,
        within: float, seed: int = 5, poisson: bool = False) -> dict:  # fmt: skip
    """The flooder offers ``flood_multiple`` x capacity; the protected User, whose portfolio
    is ``share`` of the total, offers ``within`` x its allocation, evenly spaced."""
    tmm = (SCENARIOS_DIR / "tmm-throttling.toml").read_text()
    tmm = tmm.replace("capacity = 1000.0", f"capacity = {CAPACITY}")
    tmm = tmm.replace('action = "reject"', f'action = "{action}"')
    write(tmm, "tmm.toml")
    allocation = CAPACITY * share
    path = write(
        SCENARIO.format(
            duration=DURATION, seed=seed, trt=TRT, start=FLOOD_START, end=FLOOD_END,
            protected=round(share * 1000), flooder=round((1 - share) * 1000),
            count=round(within * allocation * DURATION), flood=flood_multiple * CAPACITY,
        )
    )  # fmt: skip
    if poisson:  # the same mean rate, Poisson: "within" on average, bursty at short scales
        text = path.read_text().replace(
            f'kind = "burst"\nuser = "protected"\ncount = {round(within * allocation * DURATION)}'
            f"\nspread_s = {DURATION}\nstart_s = 0.0",
            f'kind = "poisson"\nuser = "protected"\nrate = {within * allocation}',
        )
        assert 'kind = "poisson"\nuser = "protected"' in text
        path = write(text)
    return Run(load_scenario(path)).run()


@pytest.mark.parametrize("action", ["hold", "reject"])
@pytest.mark.parametrize("share", [0.1, 0.3, 0.6])
@pytest.mark.parametrize("flood_multiple", [2.0, 5.0, 10.0])
def test_a_flood_never_pushes_a_user_within_its_allocation_past_its_trt(
    scenario_file: Callable[..., Path], action: str, share: float, flood_multiple: float
) -> None:
    report = run(scenario_file, action, flood_multiple, share, within=0.95)
    assert report["dsp"]["throttling_activations"] >= 1
    protected, flooder = report["by_user"]["protected"], report["by_user"]["flooder"]
    assert protected["throttled"] == protected["rejected"] == 0  # never throttled
    assert protected["delivered"] == protected["submitted"]
    assert protected["latency_s"]["end_to_end"]["max"] <= TRT
    assert protected["trt"]["compliance"] == 1.0
    assert flooder["throttled"] > 0


@pytest.mark.parametrize("action", ["hold", "reject"])
@pytest.mark.parametrize("seed", [1, 2])
def test_poisson_traffic_within_its_allocation_is_protected_too(
    scenario_file: Callable[..., Path], action: str, seed: int
) -> None:
    report = run(scenario_file, action, 5.0, 0.3, within=0.8, seed=seed, poisson=True)
    protected = report["by_user"]["protected"]
    assert protected["submitted"] > 1500
    assert protected["throttled"] == 0
    assert protected["latency_s"]["end_to_end"]["max"] <= TRT


def test_the_shipped_flooding_scenario_holds_without_a_dump(
    scenario_file: Callable[..., Path],
) -> None:
    """The shipped ``flooding-user`` hold variant (shortened): when the flood ends the held
    requests leave paced, so the Users within their allocation wait no longer than in the
    reject variant (before: one dump of 20,000 held requests, then a 205 s wait)."""
    text = (SCENARIOS_DIR / "flooding-user.toml").read_text()
    scenario_file((SCENARIOS_DIR / "tmm-throttling.toml").read_text(), "tmm-throttling.toml")
    text = text.replace("[[0, 120.0], [600, 800.0], [1800, 120.0]]",
                        "[[0, 120.0], [60, 800.0], [180, 120.0]]")  # fmt: skip
    wan = 'kind = "lognormal", median_s = 3.0, sigma = 0.6'
    text = text.replace(wan, 'kind = "fixed", seconds = 3.0')  # no WAN tail: the DSP's own
    scenario = load_scenario(scenario_file(text)).with_duration(300.0)
    for variant in ("hold", "reject"):
        report = Run(scenario, variant).run()
        for user in ("supplier-a", "supplier-b"):
            row = report["by_user"][user]
            assert row["throttled"] == 0, (variant, user)
            assert row["latency_s"]["end_to_end"]["max"] < 6.0, (variant, user)
        assert report["by_user"]["flooder"]["throttled"] > 0
