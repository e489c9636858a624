"""Every bench file in docs/bench-files.md loads as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rig.config.bench import load_bench

DOC = Path(__file__).resolve().parents[2] / "docs" / "bench-files.md"
EXAMPLES = re.findall(r"```toml\n(.*?)```", DOC.read_text(), re.S)


def test_the_doc_has_examples() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("text", EXAMPLES)
def test_each_example_loads(tmp_path: Path, text: str) -> None:
    (tmp_path / "bench-keys").mkdir()
    path = tmp_path / "bench.toml"
    path.write_text(text)
    bench = load_bench(path)
    assert bench.devices
