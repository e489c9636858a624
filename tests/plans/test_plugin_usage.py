"""Bad input to the pytest plugin is one clear error: a missing or broken ``--bench`` and an
unknown ``--srv`` are usage errors (exit code 4) before any test runs; a test marked with an
unknown SRV errors instead of counting as covering it."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

PLAN = """
import pytest

def test_a(rig):
    pass

def test_b(rig):
    pass

@pytest.mark.srv("7.4")
def test_read():
    pass
"""


@pytest.mark.parametrize(
    ("bench", "reason"),
    [
        ("nope.toml", "nope.toml: bench file not found"),
        ("broken.toml", "not valid TOML"),
        ("rig/benches/han.toml", "not found (the shipped benches, by name or in "),
    ],
)
def test_a_bad_bench_file_is_one_usage_error(
    pytester: pytest.Pytester, bench: str, reason: str
) -> None:
    pytester.makepyfile(test_plan=PLAN)
    pytester.makefile(".toml", broken="[bench\n")
    result = pytester.runpytest_inprocess("--bench", bench, "--rig-results", "run")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR")]
    assert len(errors) == 1 and reason in errors[0]
    assert "passed" not in result.stdout.str() and not (pytester.path / "run").exists()


def test_a_shipped_bench_by_name_is_taken(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plan="def test_bench(bench):\n    assert bench.han is not None\n")
    result = pytester.runpytest_inprocess("--bench", "han", "--rig-results", "run")
    result.assert_outcomes(passed=1)


def test_an_unknown_srv_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plan=PLAN)
    result = pytester.runpytest_inprocess("--srv", "7.4", "--srv", "banana")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --srv: unknown SRV 'banana' (the SRV matrix has 1.1.1*"])


def test_a_test_marked_with_an_unknown_srv_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plan="""
import pytest

@pytest.mark.srv("7.44")
def test_typo():
    pass

@pytest.mark.srv("7.4")
def test_read():
    pass
"""
    )
    result = pytester.runpytest_inprocess("--rig-results", "run")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*test_typo*@pytest.mark.srv: unknown SRV '7.44'*"])


def test_a_bench_whose_port_does_not_open_is_one_usage_error(pytester: pytest.Pytester) -> None:
    """Issue 13: a missing serial port stops the session with one line naming the device and
    the port, not a traceback per test."""
    pytester.makepyfile(test_plan=PLAN)
    pytester.makefile(
        ".toml",
        lab="""
[bench]
name = "lab"
[keys]
dirs = ["@rtds"]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[[device]]
name = "esme"
kind = "esme"
eui = "00-DB-12-34-56-78-90-A0"
port = "/dev/ttyUSB9"
""",
    )
    result = pytester.runpytest_inprocess("--bench", "lab.toml", "--rig-results", "run")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = result.stdout.str()
    assert "esme" in out and "/dev/ttyUSB9" in out and "Traceback" not in out
    assert out.count("bench did not start") == 1 and " passed" not in out
