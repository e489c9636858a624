"""Shipped scenarios are package data: they load from a built package, not only a checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rig.sim
from rig.benchmarks.dsp import NATIONAL_SCENARIO
from rig.sim.scenario import SCENARIOS_DIR, ScenarioError, scenario_path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.stem for p in SCENARIOS_DIR.glob("*.toml") if not p.stem.startswith("tmm-"))


def test_national_scenario_is_inside_the_package() -> None:
    assert NATIONAL_SCENARIO.is_file()
    assert NATIONAL_SCENARIO.parent == SCENARIOS_DIR
    assert SCENARIOS_DIR.parent == Path(rig.sim.__file__).parent


def test_scenario_path_takes_a_file_or_a_shipped_name(tmp_path: Path) -> None:
    assert scenario_path("quiet-hour") == SCENARIOS_DIR / "quiet-hour.toml"
    assert scenario_path("quiet-hour.toml") == SCENARIOS_DIR / "quiet-hour.toml"
    own = tmp_path / "quiet-hour.toml"
    own.write_text("")
    assert scenario_path(own) == own
    with pytest.raises(ScenarioError, match=r"nope: .*no such file or shipped scenario"):
        scenario_path("nope")
    with pytest.raises(ScenarioError):
        scenario_path("elsewhere/quiet-hour")  # a path that is not a file is not a name


@pytest.mark.slow
def test_scenarios_load_from_a_built_package(tmp_path: Path) -> None:
    """setuptools' build_py (what a wheel holds) on a copy of the project, then every shipped
    scenario and the benchmark's national scenario load from the build, without site-packages
    (so not from this checkout)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "rig", src / "rig", ignore=shutil.ignore_patterns("__pycache__"))
    build = tmp_path / "build"
    subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py",
         "--build-lib", str(build)],
        cwd=src, check=True, capture_output=True,
    )  # fmt: skip
    check = (
        "import rig, rig.benchmarks.dsp as b\n"
        "from rig.sim.scenario import SCENARIOS_DIR, load_scenario, scenario_path\n"
        f"assert rig.__file__.startswith({str(build)!r}), rig.__file__\n"
        "load_scenario(b.NATIONAL_SCENARIO).tmm()\n"
        f"for name in {SHIPPED!r}:\n"
        "    s = load_scenario(scenario_path(name))\n"
        "    [s.tmm(v) for v in [None, *s.variants]]\n"
        "print(sorted(p.name for p in SCENARIOS_DIR.glob('*.toml')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", check],
        env={"PYTHONPATH": str(build)}, cwd=tmp_path, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert "national-day-2024.toml" in out.stdout and "tmm-throttling.toml" in out.stdout
