"""Scenario-scheduled TMM hot reloads (issue 3 §1): new ranks from the next dequeue, nothing
queued lost or duplicated, an invalid document refused with the reason in the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.sim.commands import summary_text
from rig.sim.runner import Run
from rig.sim.scenario import SCENARIOS_DIR, ScenarioError, load_scenario, scenario_path


@pytest.fixture(scope="module")
def report() -> dict:
    return Run(load_scenario(scenario_path("priority-reload"))).run()


def test_reloads_are_applied_or_refused_with_the_reason(report: dict) -> None:
    promote, invalid = report["tmm_reloads"]
    assert promote["at_s"] == 600.0 and promote["applied"] and promote["error"] is None
    assert promote["version_in_force"] == "rig-reload-demo-4.1.1-level-2"
    assert invalid["at_s"] == 900.0 and not invalid["applied"]
    assert 'levels."4.18" = 5' in invalid["error"] and "tmm-reload-invalid.toml" in invalid["error"]
    assert invalid["version_in_force"] == promote["version_in_force"]  # the old one stays
    assert "REFUSED" in summary_text(report)


def test_nothing_queued_is_lost_or_duplicated(report: dict) -> None:
    dsp = report["dsp"]
    assert dsp["submitted"] == dsp["admitted"] == dsp["dispatched"] == dsp["delivered"]
    by_srv = report["by_srv"]
    assert sum(s["submitted"] for s in by_srv.values()) == dsp["submitted"]
    assert all(s["delivered"] == s["submitted"] for s in by_srv.values())


def test_the_promoted_srv_overtakes_the_backlog_from_the_reload(report: dict) -> None:
    # Before the reload both SRVs are level 4 (one FIFO); after it 4.1.1 is level 2.
    assert set(report["by_level"]) == {"2", "4"}
    level_2 = report["by_level"]["2"]
    assert level_2["submitted"] > 0
    waits = {k: v["latency_s"]["dsp_queue"]["mean"] for k, v in report["by_level"].items()}
    assert waits["2"] < 0.05 * waits["4"]
    assert report["by_srv"]["4.1.1"]["latency_s"]["dsp_queue"]["mean"] < (
        report["by_srv"]["4.18"]["latency_s"]["dsp_queue"]["mean"] / 4
    )


def test_a_reload_entry_is_validated_naming_the_field(tmp_path: Path) -> None:
    text = (SCENARIOS_DIR / "priority-reload.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("at_s = 900.0", "at_s = -5.0"))
    with pytest.raises(ScenarioError, match=r"tmm_reloads\[1\]\.at_s = -5\.0: must be >= 0"):
        load_scenario(bad)
    bad.write_text(text.replace('tmm = "tmm-reload-invalid.toml"', "tmm = 3"))
    with pytest.raises(ScenarioError, match=r"tmm_reloads\[1\]\.tmm = 3"):
        load_scenario(bad)


def test_a_missing_reload_file_is_refused_at_run_time(tmp_path: Path) -> None:
    text = (SCENARIOS_DIR / "priority-reload.toml").read_text()
    path = tmp_path / "missing.toml"
    path.write_text(text.replace('tmm = "tmm-reload-promote.toml"', 'tmm = "nowhere.toml"'))
    run = Run(load_scenario(path).with_duration(620.0))
    first = run.run()["tmm_reloads"][0]
    assert not first["applied"] and "cannot read" in first["error"]
    assert first["version_in_force"] == run.tmm.version
