"""The Python examples of docs/gbcs-codec.md run as written (from the repository root)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from shared_dir import REPO

pytestmark = pytest.mark.shared


def test_doc_examples_run(rtds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (REPO / "docs" / "gbcs-codec.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    monkeypatch.chdir(REPO)
    if not (REPO.parent / "shared").is_dir():
        pytest.skip(f"the examples read ../shared; RTDS is at {os.fspath(rtds)}")
    exec(compile("\n".join(blocks), "docs/gbcs-codec.md", "exec"), {})
