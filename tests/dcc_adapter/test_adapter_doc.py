"""docs/adapter-test.md stays true: the by-hand commands name files, options and versions that
exist (the commands themselves are what test_adapter_dcc_boxed.py runs). No tools needed."""

from __future__ import annotations

import json
import re

from adapter_tools import HERE
from click.testing import CliRunner
from shared_dir import REPO

from rig.cli import main

DOC = (REPO / "docs" / "adapter-test.md").read_text()


def _commands() -> list[str]:
    (block,) = re.findall(r"```\n(.*?)```", DOC, re.S)
    return [line.split("#")[0].strip() for line in block.replace("\\\n", " ").splitlines()]


def test_the_pinned_versions_are_the_docs() -> None:
    pinned = json.loads((HERE / "package.json").read_text())["dependencies"]
    lock = json.loads((HERE / "package-lock.json").read_text())["packages"]
    for name, version in pinned.items():
        assert lock[f"node_modules/{name}"]["version"] == version
        assert f"`{name}` {version}" in DOC


def test_the_by_hand_commands_name_what_exists() -> None:
    commands = _commands()
    [serve] = [c for c in commands if c.startswith("rig serve")]
    [adapter] = [c for c in commands if c.startswith("node ")]
    words = serve.split()
    assert (REPO / words[2]).is_file() and words[2] == "tests/dcc_adapter/bench.toml"
    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    assert all(o in help_text for o in words if o.startswith("--"))
    script = adapter.split()[1]
    assert (REPO / script).is_file()
    source = (REPO / script).read_text()
    for option in re.findall(r"--([a-z-]+)", adapter):
        assert re.search(rf"'?{option}'?: {{ type:", source), option
    bench = (HERE / "bench.toml").read_text()
    listen = re.search(r"--listen (\S+)", adapter)
    assert listen and f'response_url = "http://{listen.group(1)}/duis"' in bench
