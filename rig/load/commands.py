"""``rig emulate``: serve a bench's emulated devices for a physical rig to mix in."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import click


def _show_log(device: str, line: str) -> None:
    """A line an emulated device logged, on the terminal (stderr: stdout is the snippet)."""
    click.echo(f"{device}: {line}", err=True)


@click.command("emulate")
@click.argument("bench", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Key folder parent.")
def emulate(bench: Path, out: Path | None) -> None:
    """Serve a bench's emulated devices so a physical rig can mix them in; Ctrl-C stops.

    Prints each device's port and a [[device]] snippet (and the key folder) for the other
    rig's bench file, then every line the devices log (kept in OUT/devices/<name>.log). A
    bench with an emulated [han] gets its HAN: the radio's pty (the other rig's [han] port),
    the meters on its air, and their test PKI in OUT/han/pki.

    \b
    Example:
      rig emulate rig/config/benches/emulated.toml
      rig emulate han                  # the shipped HAN bench: an RCP pty and two meters
    """
    from rig.config.bench import BenchError, load_bench
    from rig.live.emulate import Served, ServedHan, serve, snippet

    try:
        loaded = load_bench(bench)
    except BenchError as exc:
        raise click.ClickException(str(exc)) from exc
    run_dir = out or Path("runs") / datetime.now(UTC).strftime("emulate-%Y%m%dT%H%M%SZ")

    def ready(served: list[Served], keys: Path, han: ServedHan | None) -> None:
        if han is not None:
            click.echo(f"han radio\t{han.port}")
        for device in served:
            click.echo(f"{device.name}\t{device.eui}\t{device.port}")
        click.echo(snippet(served, keys.resolve(), han))
        click.echo("serving; Ctrl-C stops", err=True)

    try:
        asyncio.run(serve(loaded, run_dir, ready, _show_log))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("stopped", err=True)
