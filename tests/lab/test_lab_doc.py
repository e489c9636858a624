"""docs/lab.md's examples as written: its bench file loads (with its [labgrid] table), and
`rig lab export` writes from it exactly the exporter config and place script the page shows."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from rig.cli import main
from rig.config.bench import load_bench

DOC = (Path(__file__).resolve().parents[2] / "docs" / "lab.md").read_text()
TOML = re.findall(r"```toml\n(.*?)```", DOC, re.S)
YAML = re.findall(r"```yaml\n(.*?)```", DOC, re.S)
SCRIPT = next(block for block in re.findall(r"```sh\n(.*?)```", DOC, re.S) if "#!/bin/sh" in block)


def test_the_bench_and_its_labgrid_table_load(tmp_path: Path) -> None:
    path = tmp_path / "lab_bench_3.toml"
    path.write_text(TOML[0] + TOML[1])
    bench = load_bench(path)
    assert bench.labgrid is not None and bench.labgrid.place == "lab_bench_3"
    assert bench.labgrid.coordinator == "lab-server:20408"


def test_rig_lab_export_writes_what_the_page_shows(tmp_path: Path) -> None:
    path = tmp_path / "lab_bench_3.toml"
    path.write_text(TOML[0])
    out = tmp_path / "lab"
    args = ["lab", "export", str(path), "--exporter", "bench-host-1", "--tag", "pool=nightly"]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "exporter.yaml").read_text() == YAML[0]
    assert (out / "place.sh").read_text() == SCRIPT
