"""The simulate runner, its statistics and the CLI commands (issue 3 §5-§6)."""

from __future__ import annotations

import io
import json
import math
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console
from rich.progress import Progress

from rig.benchmarks.commands import benchmark_dsp
from rig.sim.commands import progress_task, simulate
from rig.sim.runner import Run
from rig.sim.scenario import SCENARIOS_DIR, load_scenario
from rig.sim.stats import LogHistogram
from rig.util.progress import simulation_progress

SCENARIOS = SCENARIOS_DIR

SMALL = """\
name = "small"
duration_s = 300.0
seed = 3
series_bin_s = 30.0

[dsp]
servers = 2
service_time = { kind = "exponential", mean_s = 0.05 }

[csp]
latency = { kind = "lognormal", median_s = 2.0, sigma = 0.5 }
ch_in_flight_limit = 1

[northbound]
adapter_rate = 100.0

[trt]
on_demand_s = 10.0
future_dated_s = 30.0
scheduled_s = 3600.0

[[users]]
name = "supplier"
portfolio = 1000

[[users]]
name = "dno"
portfolio = 500

[[arrivals]]
kind = "poisson"
user = "supplier"
rate = 4.0
mix = { "2.2" = 1.0, "4.1.1" = 1.0 }

[[arrivals]]
kind = "daily_read_burst"
user = "dno"
count = 12000
start_s = 0.0
duration_s = 300.0
mix = { "4.8.2" = 1.0 }

[[arrivals]]
kind = "alerts"
user = "supplier"
rate = 1.0
codes = [0x8F3E]
"""


@pytest.fixture
def small(scenario_file: Callable[..., Path]) -> Path:
    return scenario_file(SMALL, "small.toml")


# -- statistics --------------------------------------------------------------------------------


def test_histogram_quantiles_within_the_bucket_error() -> None:
    rng = random.Random(1)
    values = sorted(rng.lognormvariate(0.0, 1.5) for _ in range(50_000))
    hist = LogHistogram()
    for v in values:
        hist.record(v)
    hist.record(0.0)
    assert hist.count == 50_001
    for q in (0.5, 0.95, 0.99):
        exact = values[math.ceil(q * len(values)) - 1]
        assert hist.quantile(q) == pytest.approx(exact, rel=0.02)
    assert hist.max == values[-1]
    assert hist.summary()["mean"] == pytest.approx(sum(values) / 50_001)
    other = LogHistogram()
    other.record(1e6)
    hist.merge(other)
    assert hist.count == 50_002 and hist.max == 1e6


def test_empty_histogram_summary() -> None:
    assert LogHistogram().summary() == {
        "count": 0, "mean": None, "p50": None, "p95": None, "p99": None, "max": None,
    }  # fmt: skip


# -- the runner --------------------------------------------------------------------------------


def test_counts_balance_and_hops_add_up(small: Path) -> None:
    report = Run(load_scenario(small)).run()
    dsp = report["dsp"]
    assert dsp["submitted"] == dsp["admitted"] == dsp["dispatched"]
    assert (
        dsp["delivered"] == dsp["dispatched"] + report["alerts"]["by_user"]["supplier"]["delivered"]
    )
    by_srv = report["by_srv"]
    assert set(by_srv) == {"2.2", "4.1.1", "4.8.2"}
    assert sum(r["submitted"] for r in by_srv.values()) == dsp["submitted"]
    assert sum(r["delivered"] for r in report["by_level"].values()) == dsp["dispatched"]
    assert set(report["by_level"]) == {"1", "4"}
    assert report["by_mode"]["scheduled"]["submitted"] == by_srv["4.8.2"]["submitted"]
    for row in by_srv.values():
        lat = row["latency_s"]
        hops = sum(lat[h]["mean"] for h in ("throttle_hold", "dsp_queue", "dsp_service",
                                            "csp", "northbound"))  # fmt: skip
        assert hops == pytest.approx(lat["end_to_end"]["mean"])
        assert lat["csp"]["p50"] == pytest.approx(2.0, rel=0.1)
    series = report["series"]
    assert len(series["t_s"]) == len(series["queue_depth"]) >= 10
    alerts = report["alerts"]["by_user"]["supplier"]["raised"]
    assert report["run"]["messages"] == dsp["submitted"] * 2 + alerts
    json.dumps(report, allow_nan=False)


def without_cpu(report: dict) -> dict:
    """A report without its CPU figures (the rest is a function of the scenario and seed)."""
    report["run"].pop("cpu_s")
    report["run"].pop("messages_per_cpu_s")
    return report


def test_a_run_is_a_function_of_the_scenario_and_seed(small: Path) -> None:
    scenario = load_scenario(small)
    assert without_cpu(Run(scenario).run()) == without_cpu(Run(scenario).run())


def test_the_progress_bar_follows_simulated_time_and_messages(small: Path) -> None:
    progress = simulation_progress(Console(file=io.StringIO(), force_terminal=True, width=120))
    run = Run(load_scenario(small))
    seen: list[tuple[float, int]] = []
    advance = progress_task(progress, run, "small")

    def watch(sim_time_s: float, total_s: float) -> None:
        advance(sim_time_s, total_s)
        (task,) = progress.tasks
        seen.append((task.completed, task.fields["messages"]))

    report = run.run(progress=watch)
    (task,) = progress.tasks
    assert (task.completed, task.total) == (300.0, 300.0)
    assert task.description == "small: draining"
    assert seen == sorted(seen) and seen[-1] == (300.0, report["run"]["messages"])
    assert seen[0][0] < 300.0 and seen[0][1] < report["run"]["messages"]


def test_top_ups_overtake_the_scheduled_backlog(scenario_file: Callable[..., Path]) -> None:
    """SECMP0028 under a daily read burst (scaled down 40x from daily-read-burst-2024): the
    DSP runs over capacity, so scheduled reads queue while Priority Band 1 top-ups hardly wait."""
    path = scenario_file(
        SMALL.replace("count = 12000", "count = 13500")  # 45/s against a capacity of 40/s
        .replace('"2.2" = 1.0, "4.1.1" = 1.0', '"2.2" = 1.0')
        .replace("rate = 4.0", "rate = 2.0")
    )
    report = Run(load_scenario(path)).run()
    queue = {srv: report["by_srv"][srv]["latency_s"]["dsp_queue"] for srv in ("2.2", "4.8.2")}
    assert queue["4.8.2"]["p95"] > 10.0
    assert queue["2.2"]["p99"] < 0.2
    assert report["by_srv"]["2.2"]["trt"]["compliance"] > 0.99
    assert report["by_srv"]["4.8.2"]["trt"]["compliance"] == 1.0  # within the scheduled TRT


def test_outage_release_policies_side_by_side(scenario_file: Callable[..., Path]) -> None:
    """DP100 (outage-release.toml scaled down 10x): after a 20-minute outage, time-critical
    responses get out sooner when the release is prioritised; alerts go last."""
    text = (SCENARIOS / "outage-release.toml").read_text()
    replacements = [
        ("adapter_rate = 250.0", "adapter_rate = 25.0"),
        ("rate = 40.0", "rate = 4.0"),
        ("rate = 10.0", "rate = 1.0"),
        ('release_rate" = 250.0', 'release_rate" = 25.0'),
        ("start_s = 1200.0", "start_s = 300.0"),
        ("duration_s = 1800.0", "duration_s = 1200.0"),
        ("duration_s = 3600.0", "duration_s = 2400.0"),
    ]
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    path = scenario_file(text, "outage.toml")
    scenario = load_scenario(path)
    today, dp100 = (Run(scenario, v).run() for v in ("today", "dp100"))
    for report in (today, dp100):
        assert report["dsp"]["delivered"] == report["dsp"]["dispatched"] + sum(
            a["delivered"] for a in report["alerts"]["by_user"].values()
        )

    def mean(report: dict, level: str) -> float:
        return report["by_level"][level]["latency_s"]["end_to_end"]["mean"]

    assert mean(dp100, "1") < 0.9 * mean(today, "1")
    assert mean(dp100, "1") < 0.9 * mean(dp100, "4")
    assert mean(today, "1") == pytest.approx(mean(today, "4"), rel=0.1)  # irrespective of rank
    alerts = [r["alerts"]["by_user"]["supplier"]["latency_s"]["mean"] for r in (today, dp100)]
    assert alerts[1] > alerts[0]  # placed at the back


@pytest.mark.slow
def test_flooding_user_is_held_to_its_allocation(
    tmp_path: Path, scenario_file: Callable[..., Path]
) -> None:
    """SECMP0067: the flooder is throttled, the Users within their allocation are not."""
    text = (SCENARIOS / "flooding-user.toml").read_text()
    (tmp_path / "tmm-throttling.toml").write_text((SCENARIOS / "tmm-throttling.toml").read_text())
    path = scenario_file(text.replace("[[0, 120.0], [600, 800.0], [1800, 120.0]]",
                                 "[[0, 120.0], [60, 800.0], [120, 120.0]]"))  # fmt: skip
    report = Run(load_scenario(path).with_duration(150.0), "reject").run()
    users = report["by_user"]
    assert report["dsp"]["throttling_activations"] >= 1
    assert users["flooder"]["rejected"] > 10_000
    assert users["supplier-a"]["throttled"] == users["supplier-b"]["throttled"] == 0
    assert users["flooder"]["dsp_counters"]["rejected"] == users["flooder"]["rejected"]


@pytest.mark.slow
def test_alert_storm_protection_cuts_the_flood() -> None:
    scenario = load_scenario(SCENARIOS / "alert-storm.toml").with_duration(720.0)
    off, on = (Run(scenario, v).run() for v in ("no-protection", "secmp0062"))
    a_off, a_on = (r["alerts"]["by_user"]["supplier"] for r in (off, on))
    assert a_off["raised"] == a_on["raised"]
    assert a_on["delivered"] < 0.6 * a_off["delivered"]
    assert a_on["storm_summaries_delivered"] > 0
    assert on["alerts"]["dsp_storm_protection"]["storms"] > 0
    e2e = {n: r["by_srv"]["2.2"]["latency_s"]["northbound"]["p99"] for n, r in
           (("off", off), ("on", on))}  # fmt: skip
    assert e2e["on"] < e2e["off"]


# -- the commands --------------------------------------------------------------------------------


def test_simulate_prints_and_writes_json(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.json"
    result = CliRunner().invoke(simulate, [str(small), "--duration", "60", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "== small: TMM rig-default-2024-11" in result.output
    assert "level 1" in result.output and "4.8.2" in result.output
    report = json.loads(out.read_text())
    assert report["run"]["arrivals_until_s"] == 60.0


@pytest.mark.slow
def test_simulate_variants_side_by_side_and_plots(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = CliRunner().invoke(
        simulate,
        [str(SCENARIOS / "outage-release.toml"), "--duration", "1250",
         "--json", str(tmp_path / "r.json"), "--plot", str(tmp_path / "plots")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "[variant today]" in result.output and "[variant dp100]" in result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report["variants"]) == {"today", "dp100"}
    pngs = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert pngs == [
        "outage-release-dp100.png", "outage-release-today.png", "outage-release-variants.png",
    ]  # fmt: skip
    assert all((tmp_path / "plots" / p).read_bytes()[:4] == b"\x89PNG" for p in pngs)


@pytest.mark.parametrize(
    ("terminal", "args", "shown"),
    [(True, [], True), (True, ["--no-progress"], False), (False, [], False)],
    ids=["terminal", "no-progress", "not-a-terminal"],
)
def test_simulate_shows_a_bar_only_on_a_terminal(
    small: Path, monkeypatch: pytest.MonkeyPatch, terminal: bool, args: list[str], shown: bool
) -> None:
    bars: list[Progress] = []

    def recording_progress() -> Progress:
        bars.append(simulation_progress(Console(file=io.StringIO(), force_terminal=True)))
        return bars[-1]

    monkeypatch.setattr("rig.sim.commands.stderr_on_terminal", lambda: terminal)
    monkeypatch.setattr("rig.sim.commands.simulation_progress", recording_progress)
    result = CliRunner().invoke(simulate, [str(small), "--duration", "60", *args])
    assert result.exit_code == 0, result.output
    assert "== small" in result.output and "simulated s" not in result.output
    assert len(bars) == shown
    if shown:
        assert bars[0].tasks[0].completed == 60.0


def test_simulate_refuses_bad_input(small: Path, scenario_file: Callable[..., Path]) -> None:
    bad = scenario_file(SMALL.replace("rate = 4.0", "rate = -4.0"), "bad.toml")
    result = CliRunner().invoke(simulate, [str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: arrivals[0].rate = -4.0: must be >= 0" in result.output
    result = CliRunner().invoke(simulate, [str(small), "--variant", "nope"])
    assert result.exit_code == 2 and "nope" in result.output


def test_plot_without_matplotlib_says_how_to_install(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = CliRunner().invoke(simulate, [str(small), "--plot", str(tmp_path)])
    assert result.exit_code == 1
    assert "pip install 'gb-smart-rig[plot]'" in result.output


@pytest.mark.slow
def test_bench_dsp_runs_both_models_in_child_processes(tmp_path: Path) -> None:
    pytest.importorskip("simpy")
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        benchmark_dsp, ["--hours", "0.02", "--compare-hours", "0.01", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert figures["rig"]["messages"] > 0 and figures["rig"]["peak_rss_mb"] > 0
    assert figures["compare"]["simpy"]["messages"] > 0
    assert figures["compare"]["ratio"] > 1
    assert "messages/CPU-s" in result.output and "ratio" in result.output
