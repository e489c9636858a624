"""The compiled DSP core (rig/_native.py, setup.py): same results as the sources, and never a
stale build silently shadowing an edited source."""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rig import _native

REPORT = """
import json, sys
from rig import _native
from rig.sim.runner import Run
from rig.sim.scenario import SCENARIOS_DIR, load_scenario

scenario = load_scenario(SCENARIOS_DIR / sys.argv[1]).with_duration(float(sys.argv[2]))
report = Run(scenario).run()
for key in ("cpu_s", "messages_per_cpu_s"):
    report["run"].pop(key)
print(json.dumps({"compiled": _native.compiled(), "report": report}, sort_keys=True))
"""


def _report(scenario: str, duration_s: float, *, pure: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k != _native.PURE_ENV}
    if pure:
        env[_native.PURE_ENV] = "1"
    out = subprocess.run(
        [sys.executable, "-c", REPORT, scenario, str(duration_s)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize(
    ("scenario", "duration_s"),
    [("national-day-2024.toml", 240.0), ("outage-release.toml", 2400.0)],
)
def test_compiled_and_pure_python_runs_are_bit_identical(scenario: str, duration_s: float) -> None:
    if _native.stale_modules() != []:
        if os.environ.get("RIG_REQUIRE_COMPILED") == "1":  # set by .ci/run: CI has a compiler
            pytest.fail(f"the compiled DSP core is not built or stale; rebuild: {_native.REBUILD}")
        pytest.skip("the compiled DSP core is not built (or stale): nothing to compare")
    compiled = _report(scenario, duration_s, pure=False)
    pure = _report(scenario, duration_s, pure=True)
    assert compiled["compiled"] and not pure["compiled"]
    assert compiled["report"]["run"]["messages"] > 1000
    assert compiled["report"] == pure["report"]


def test_rig_pure_python_at_run_time_loads_the_sources() -> None:
    env = {**os.environ, _native.PURE_ENV: "1"}
    code = "import rig.dsp.model as m\nimport rig._native as n\nprint(n.compiled(), m.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    compiled, path = out.stdout.split()
    assert compiled == "False" and path.endswith("model.py")
    assert "RuntimeWarning" not in out.stderr  # a choice, not a stale build: no warning


def test_a_stale_build_loads_every_source_with_one_warning() -> None:
    code = """
import warnings
from rig import _native
_native.stale_modules = lambda: ["rig.dsp.csp"]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    _native.install()
import rig.clock, rig.dsp.csp
print(len(caught), rig.clock.__file__, rig.dsp.csp.__file__, _native.compiled())
print(caught[0].message)
"""
    env = {k: v for k, v in os.environ.items() if k != _native.PURE_ENV}
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    first, message = out.stdout.splitlines()
    count, clock_path, csp_path, compiled = first.split()
    assert count == "1" and compiled == "False"
    assert clock_path.endswith("clock.py") and csp_path.endswith("csp.py")
    assert "rig.dsp.csp" in message and "build_ext --inplace" in message


def test_stale_modules_compares_each_source_with_the_digest_the_build_recorded(
    tmp_path: Path,
) -> None:
    """By content: a wheel keeps no modification times (setup.py ``BuildExt`` records them)."""
    modules, library = ("pkg.a", "pkg.sub.b"), "pkg.lib__mypyc"
    so = importlib.machinery.EXTENSION_SUFFIXES[0]

    def stale() -> list[str] | None:
        return _native.stale_modules(modules, tmp_path, library)

    def write(name: str, text: str = "", mtime_s: int = 100) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.utime(path, (mtime_s, mtime_s))
        return path

    write("pkg/a.py", "a = 1")
    write("pkg/sub/b.py", "b = 2")
    assert stale() is None  # a pure install
    write(f"pkg/a{so}")
    write(f"pkg/lib__mypyc{so}")
    assert stale() == ["pkg.a", "pkg.sub.b"]  # no record of what was compiled: an older build
    record = _native.record_path(library, tmp_path)
    record.write_text(json.dumps(_native.source_digests(modules, tmp_path)))
    assert stale() == ["pkg.sub.b"]  # a shim missing
    write(f"pkg/sub/b{so}")
    assert stale() == []  # up to date
    write("pkg/sub/b.py", "b = 2", mtime_s=10**9)  # touched, or installed from a wheel
    assert stale() == []
    write("pkg/sub/b.py", "b = 3", mtime_s=50)  # edited, whatever the times say
    assert stale() == ["pkg.sub.b"]
    (tmp_path / f"pkg/lib__mypyc{so}").unlink()
    assert stale() == ["pkg.a", "pkg.sub.b"]  # no compiled code at all
