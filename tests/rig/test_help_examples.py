"""Every ``rig`` command and subcommand shows an example in its ``--help`` (the hidden,
deprecated ``rig bench`` aliases show their new name's)."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from rig.cli import main


def command_paths(
    command: click.Command, path: tuple[str, ...] = (), parent: click.Context | None = None
) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1] if path else "rig", parent=parent)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            if sub.hidden:
                continue
            yield from command_paths(sub, (*path, name), ctx)


@pytest.mark.parametrize("path", list(command_paths(main)), ids=lambda p: " ".join(("rig", *p)))
def test_help_shows_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"rig {' '.join(path)} --help has no example"
    example = result.output.split("Example", 1)[1]
    assert f"rig {' '.join(path)}".strip() in example or not path, "the example runs it"
