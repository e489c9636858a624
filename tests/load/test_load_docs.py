"""docs/load.md's schedule example runs as written (it needs no bench)."""

from __future__ import annotations

from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "load.md"


def python_blocks(text: str) -> list[str]:
    return [
        block.split("\n", 1)[1] for block in text.split("```")[1::2] if block.startswith("python")
    ]


def test_the_schedule_example_runs(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(DOC.parents[1])
    (example,) = [b for b in python_blocks(DOC.read_text()) if "from rig.load import" in b]
    exec(compile(example, str(DOC), "exec"), {})
    assert "req/s requested" in capsys.readouterr().out
