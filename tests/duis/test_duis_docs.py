"""docs/duis.md's Python examples run, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "duis.md"


def test_examples_run(shared_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("RIG_SHARED_DIR", str(shared_dir))
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 5
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert "signed" in namespace and "typed" in namespace  # the SRV 1.1.1 example ran
