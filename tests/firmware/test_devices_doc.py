"""The Python example of docs/devices.md runs as written (from the repository root)."""

from __future__ import annotations

import re

import pytest
from shared_dir import REPO


def test_devices_doc_example_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (REPO / "docs" / "devices.md").read_text()
    [block] = re.findall(r"```python\n(.*?)```", text, re.S)
    monkeypatch.chdir(REPO)
    exec(compile(block, "docs/devices.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "ReadSupplyStatusEsmeResponse" in printed and "'supply': 'connected'" in printed
    assert "value=7)" in printed  # set in the ESME's object model, read back by ECS26c
