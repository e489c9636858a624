"""``rig benchmark cbke`` prints its three figures and the ratio (a run, not a timed test)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from rig.cli import main


def test_the_cbke_benchmark_prints_its_figures_and_ratio() -> None:
    result = CliRunner().invoke(main, ["benchmark", "cbke", "--repeat", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("sect283k1 scalar multiplication: ")
    assert lines[1].startswith("one CBKE, both sides")
    assert "P-256 ECDH in cryptography" in lines[2] and "x that" in lines[2]


def test_the_cbke_benchmark_json_and_a_bad_repeat() -> None:
    figures = json.loads(
        CliRunner().invoke(main, ["benchmark", "cbke", "--json", "--repeat", "1"]).stdout
    )
    assert set(figures) == {"scalar_multiplication_ms", "key_establishment_ms", "p256_ecdh_ms"}
    bad = CliRunner().invoke(main, ["benchmark", "cbke", "--repeat", "0"])
    assert bad.exit_code == 2 and "--repeat is at least 1" in bad.output
