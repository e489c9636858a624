"""``rig --help`` answers at once: ``rig.cli`` imports none of the heavy libraries, the commands
of other modules load lazily, and what ``rig --help`` lists for them is their own short help."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import click
import pytest
from click.testing import CliRunner

from rig.cli import LazyGroup, main

#: Libraries (and rig parts) that `rig --help` and `rig --version` must not import.
HEAVY = (
    "cryptography",
    "scapy",
    "lxml",
    "pymodbus",
    "serial",
    "rich.console",
    "pytest",
    "rig.gbcs",
    "rig.dsp",
    "devices",
    "firmware_stubs",
)

PROBE = """
import json, sys
from rig.cli import main
try:
    main([sys.argv[1]], prog_name="rig")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_rig_help_imports_no_heavy_module(option: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, option], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout.splitlines()[-1]))
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(f"{h}.") for h in HEAVY))
    assert not heavy, f"rig {option} imported {heavy}"


def test_rig_version_is_the_installed_distributions() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"rig, version {version('gb-smart-rig')}\n"


def _lazy_groups() -> list[tuple[str, LazyGroup]]:
    ctx = click.Context(main, info_name="rig")
    groups = [("rig", main)]
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        if isinstance(command, LazyGroup):
            groups.append((f"rig {name}", command))
    return groups


@pytest.mark.parametrize(("path", "group"), _lazy_groups(), ids=lambda p: str(p))
def test_listed_short_help_is_the_commands_own(path: str, group: LazyGroup) -> None:
    ctx = click.Context(group, info_name=path)
    for name, (_, listed) in group.lazy.items():
        command = group.get_command(ctx, name)
        assert command is not None, f"{path} {name} does not load"
        assert listed == command.get_short_help_str(limit=10_000), f"{path} {name}"
