from pathlib import Path

import pytest
from click.testing import CliRunner

from rig.cli import main
from rig.config.bench import DEFAULT_BENCH
from rig.gbcs.eui import Eui64
from rig.keys.keystore import KeyStore
from rig.results.jsonl import RESULTS_FILE

DEVICE = "00-DB-12-34-56-78-91-01"
PARTY = "90-B3-D5-1F-30-01-00-00"


def test_keys_generate_writes_a_keystore_and_refuses_to_overwrite(tmp_path: Path) -> None:
    args = [
        "keys",
        "generate",
        "--out",
        str(tmp_path),
        "--party",
        PARTY,
        "--prepayment",
        PARTY,
        "--device",
        DEVICE,
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    store = KeyStore([tmp_path])
    assert store.ka_private(Eui64.parse(PARTY), prepayment=True)
    assert store.ds_public(Eui64.parse(DEVICE))
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 1
    assert "--overwrite" in again.output


def test_keys_generate_rejects_a_bad_eui(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["keys", "generate", "--out", str(tmp_path), "--device", "xyz"]
    )
    assert result.exit_code == 2
    assert "xyz" in result.output


def test_check_reports_each_device_and_report_reads_the_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "ok     esme: answered in" in result.output
    shown = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "7.4" in shown.output and "total" in shown.output


def test_check_takes_the_bench_as_an_argument(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(DEFAULT_BENCH), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "ok     esme: answered in" in result.output


def test_check_refuses_two_different_benches(tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text(DEFAULT_BENCH.read_text())
    result = CliRunner().invoke(main, ["check", str(other), "--bench", str(DEFAULT_BENCH)])
    assert result.exit_code == 2
    assert "two bench files given" in result.output


def test_check_names_the_shipped_benches_for_a_bench_not_found(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(tmp_path / "rig" / "benches" / "han.toml")])
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith("Error: ") and "bench file not found" in line
    assert line.endswith("benches/: emulated, han, premises)")


def test_report_names_a_broken_results_file(tmp_path: Path) -> None:
    (tmp_path / RESULTS_FILE).write_text('{"kind":\n{"kind": "request"}\n')
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{RESULTS_FILE}:1" in result.output


@pytest.mark.parametrize("name", ["codec", "devices", "dsp", "emulator", "fuzz", "load", "results"])
def test_the_old_bench_names_run_the_benchmarks_with_one_line_naming_the_new(name: str) -> None:
    """``rig bench NAME`` (the benchmarks' name until 0.1) still runs ``rig benchmark NAME``,
    after one line on stderr naming the new command; ``rig --help`` lists only the new."""
    old = CliRunner().invoke(main, ["bench", name, "--help"])
    new = CliRunner().invoke(main, ["benchmark", name, "--help"])
    assert old.exit_code == new.exit_code == 0, old.output
    assert old.stdout.replace("main bench ", "main benchmark ", 1) == new.stdout
    note = old.stderr.splitlines()
    assert len(note) == 1 and f"use rig benchmark {name}" in note[0], old.stderr
    assert not new.stderr
    listed = CliRunner().invoke(main, ["--help"]).stdout
    assert "  benchmark " in listed and "  bench " not in listed


def test_the_old_measure_path_still_imports_with_a_deprecation_warning() -> None:
    """Plans written before issue 14 import ``rig.measure``: it works for one more release."""
    import importlib
    import sys

    sys.modules.pop("rig.measure", None)
    with pytest.warns(DeprecationWarning, match=r"rig\.results\.measure"):
        old = importlib.import_module("rig.measure")
    from rig.results.measure import Limit

    assert old.Limit is Limit
