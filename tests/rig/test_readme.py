"""The newcomer's path: the README opens with the two set-up commands, and CI runs the second."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def code_blocks(text: str) -> list[str]:
    parts = text.split("```")
    return [block.split("\n", 1)[1].strip() for block in parts[1::2]]


def test_readme_opens_with_the_demo_and_the_test_command_and_ci_runs_the_latter():
    readme = (ROOT / "README.md").read_text()
    demo, tests = code_blocks(readme)[:2]
    assert demo.endswith("rig demo")
    assert tests.endswith("pytest")
    assert tests in (ROOT / ".ci" / "run").read_text().splitlines()
