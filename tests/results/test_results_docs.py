"""docs/load.md's ``rig benchmark results`` example runs as written."""

from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "load.md"


def test_the_results_bench_example_runs(capsys):
    blocks = DOC.read_text(encoding="utf-8").split("```")[1::2]
    (example,) = [b.split("\n", 1)[1] for b in blocks if "from rig.benchmarks.results import" in b]
    exec(compile(example, str(DOC), "exec"), {})
    assert "JSONL + SQLite" in capsys.readouterr().out
