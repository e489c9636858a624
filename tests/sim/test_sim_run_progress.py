"""Run.run's optional progress callback (for rig simulate's progress bar)."""

from __future__ import annotations

from rig.sim.runner import Run
from rig.sim.scenario import SCENARIOS_DIR, load_scenario


def _report_without_cpu(report: dict) -> dict:
    report["run"] = {k: v for k, v in report["run"].items() if "cpu" not in k}
    return report


def test_progress_is_called_per_slice_then_drained_with_the_same_report() -> None:
    scenario = load_scenario(SCENARIOS_DIR / "quiet-hour.toml").with_duration(120.0)
    calls: list[tuple[float, float]] = []
    with_progress = Run(scenario).run(lambda now, total: calls.append((now, total)), slices=4)
    plain = Run(scenario).run()
    assert _report_without_cpu(with_progress) == _report_without_cpu(plain)
    assert [now for now, _ in calls[:4]] == [30.0, 60.0, 90.0, 120.0]
    assert {total for _, total in calls} == {120.0}
    assert calls[-1][0] >= with_progress["run"]["drained_at_s"] >= 120.0  # then the last tick
