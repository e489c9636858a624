"""``rig lab``: benches as labgrid places (docs/lab.md)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rig.config.bench import Bench

BENCH_ARGUMENT = click.argument(
    "bench", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)


def _tags(pairs: tuple[str, ...]) -> dict[str, str]:
    from rig.config.labgrid import check_tags

    tags = dict(pair.partition("=")[::2] for pair in pairs)
    try:
        check_tags(tags)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--tag") from None
    return tags


def _load(path: Path) -> Bench:
    """The bench file, or one line naming what is wrong in it (imported here: `rig --help`
    stays quick)."""
    from rig.config.bench import BenchError, load_bench

    try:
        return load_bench(path)
    except BenchError as exc:
        raise click.ClickException(str(exc)) from exc


PLACE_OPTION = click.option("--place", default=None, help="Place name [default: the bench name].")
EXPORTER_OPTION = click.option(
    "--exporter",
    default=socket.gethostname(),
    show_default="this host's name",
    help="The exporter's name (labgrid-exporter --name).",
)
TAG_OPTION = click.option(
    "--tag", "tags", multiple=True, metavar="KEY=VALUE", help="A place tag (pools); repeatable."
)


@click.group("lab")
def lab() -> None:
    """Benches as labgrid places: export a bench, serve an emulated one.

    \b
    Example:
      rig lab export lab-bench-3.toml --exporter bench-host-1 --tag pool=nightly --out lab/
    """


@lab.command("export")
@BENCH_ARGUMENT
@PLACE_OPTION
@EXPORTER_OPTION
@TAG_OPTION
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True
)
def export(bench: Path, place: str | None, exporter: str, tags: tuple[str, ...], out: Path) -> None:
    """Write a bench's labgrid exporter config and its place's labgrid-client commands.

    OUT/exporter.yaml is for `labgrid-exporter --name EXPORTER` on the bench host (meter serial
    ports and the HAN radio as RawSerialPorts served over RFC 2217 by ser2net, Modbus bench
    I/O as a ModbusTCPCoil); OUT/place.sh creates the place on the coordinator.

    \b
    Example:
      rig lab export lab-bench-3.toml --exporter bench-host-1 --tag pool=nightly --out lab/
    """
    from rig.config.bench import BenchError
    from rig.lab.export import bench_resources, exporter_config, place_commands

    loaded = _load(bench)
    name = place or loaded.name
    try:
        config = exporter_config(name, bench_resources(loaded))
    except BenchError as exc:
        raise click.ClickException(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    (out / "exporter.yaml").write_text(config)
    comment = f"bench {loaded.name} ({bench.name}) on {exporter}"
    (out / "place.sh").write_text(place_commands(name, exporter, _tags(tags), comment))
    click.echo(f"{out / 'exporter.yaml'}: labgrid-exporter --name {exporter} {out}/exporter.yaml")
    click.echo(f"{out / 'place.sh'}: LG_COORDINATOR=HOST:20408 sh {out}/place.sh")


@lab.command("serve")
@BENCH_ARGUMENT
@PLACE_OPTION
@EXPORTER_OPTION
@TAG_OPTION
@click.option("--coordinator", default=None, help="HOST:PORT [default: $LG_COORDINATOR].")
@click.option(
    "--hostname",
    default=socket.gethostname(),
    show_default="this host's name",
    help="The host the rig reaches the served ports on.",
)
@click.option(
    "--keys",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Key folder shared by hosts serving this bench (made if missing).",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
def serve(
    bench: Path,
    place: str | None,
    exporter: str,
    tags: tuple[str, ...],
    coordinator: str | None,
    hostname: str,
    keys: Path | None,
    out: Path,
) -> None:
    """Serve a bench's emulated meters on ptys behind a labgrid exporter; Ctrl-C stops.

    Prints each device's pty and the place script (OUT/place.sh) to run once.

    \b
    Example:
      rig lab serve rig/config/benches/emulated.toml --exporter ci-host-1 --out lab/host-1
    """
    from rig.config.labgrid import default_coordinator
    from rig.lab.place import PlaceError
    from rig.lab.serve import serve_bench
    from rig.live.emulate import Served

    loaded = _load(bench)

    def ready(served: list[Served], key_folder: Path, script: Path) -> None:
        for device in served:
            click.echo(f"{device.name}\t{device.eui}\t{device.port}")
        click.echo(f"keys: {key_folder.resolve()}")
        click.echo(f"place: sh {script}", err=True)
        click.echo("serving; Ctrl-C stops", err=True)

    try:
        serve_bench(
            loaded,
            out,
            exporter=exporter,
            coordinator=coordinator or default_coordinator(),
            hostname=hostname,
            place=place or loaded.name,
            tags=_tags(tags),
            keys=keys,
            on_ready=ready,
        )
    except (PlaceError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("stopped", err=True)
