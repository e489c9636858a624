"""``rig benchmark emulator``: the emulator's CPU per SRV 7.4 request, measured in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rig.benchmarks.emulator import benchmark_emulator, measure


def test_measure_answers_every_command() -> None:
    result = measure(requests=20, repeats=2)
    assert (result.requests, result.repeats) == (20, 2)
    assert result.emulator_us > 0 and result.command_encode_us > 0
    assert result.response_decode_us > 0


def test_measure_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        measure(requests=0)


@pytest.mark.slow
def test_measure_over_a_pty_counts_the_emulator_process() -> None:
    result = measure(requests=50, repeats=1, rate=1_000.0, pty=True)
    if Path("/proc/self/schedstat").exists():
        assert result.pty_emulator_us is not None and result.pty_emulator_us > 0


def test_command_prints_json() -> None:
    out = CliRunner().invoke(benchmark_emulator, ["--requests", "10", "--repeats", "1", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["requests"] == 10


def test_the_docs_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "load.md"
    blocks = [b.split("\n", 1)[1] for b in doc.read_text().split("```")[1::2]]
    (example,) = [b for b in blocks if "from rig.benchmarks.emulator import" in b]
    exec(compile(example, str(doc), "exec"), {})
    assert "emulator" in capsys.readouterr().out
