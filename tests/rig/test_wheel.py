"""A normal (non-editable) install from a wheel runs the compiled DSP core and warns nothing:
staleness is decided by content (rig/_native.py), the default plan is in the package, and a
run inside pytest has nothing it cannot rewrite nor an unknown ini option."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: A folder holding an already built wheel of this checkout (.ci/run builds one); else one is
#: built here.
WHEEL_DIR_ENV = "RIG_WHEEL_DIR"

PLAN = """
def test_reads(rig):
    assert rig.read_supply_status("esme").ok
"""

PROBE = """
import rig._native as native, rig.gbcs.accel as accel, rig
print(native.compiled(), accel.WIRE is not None, rig.__file__)
"""


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with the wheel installed (without pip's dependency resolution: the
    dependencies come from this environment's site-packages through a .pth file)."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("RIG_PURE_PYTHON", "PYTHONPATH")}
    wheels = Path(os.environ.get(WHEEL_DIR_ENV) or tmp / "dist").resolve()
    if not list(wheels.glob("gb_smart_rig-*.whl")):
        pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels)]
        _run([*pip_wheel, str(ROOT)], tmp, env)
    (wheel,) = wheels.glob("gb_smart_rig-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp, env)
    python = venv / "bin" / "python"
    pip_install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    _run([*pip_install, "--no-deps", str(wheel)], tmp, env)
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp, env
    )
    ours = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    Path(purelib.stdout.strip(), "dependencies.pth").write_text("\n".join(ours) + "\n")
    return venv, env


@pytest.mark.slow
def test_the_wheel_runs_the_compiled_core_without_a_warning(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    venv, env = installed
    probe = _run([str(venv / "bin" / "python"), "-W", "error", "-c", PROBE], tmp_path, env)
    compiled, wire, where = probe.stdout.split()
    assert (compiled, wire) == ("True", "True"), probe.stdout + probe.stderr
    assert where.startswith(str(venv)) and not probe.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", ["pytest", "rig run", "rig demo"])
def test_a_run_from_the_wheel_warns_nothing(
    installed: tuple[Path, dict[str, str]], tmp_path: Path, command: str
) -> None:
    """No PytestAssertRewriteWarning (rig, devices, firmware_stubs), no ``Unknown config
    option: timeout``, no stale-build RuntimeWarning: nothing that says "warning"."""
    venv, env = installed
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\ntimeout = 300\n")
    (tmp_path / "test_plan.py").write_text(PLAN)
    args = {
        "pytest": [
            str(venv / "bin" / "python"),
            "-m",
            "pytest",
            "test_plan.py",
            "-p",
            "no:cacheprovider",
        ],
        "rig run": [str(venv / "bin" / "rig"), "run", "test_plan.py"],
        "rig demo": [str(venv / "bin" / "rig"), "demo"],
    }[command]
    done = _run(args, tmp_path, env)
    assert "passed" in done.stdout
    assert "warning" not in (done.stdout + done.stderr).lower(), done.stdout + done.stderr
