"""The emulated premises process: one Comms Hub with its meters, behind one pty.

Run as ``python -m devices.emulated.hub DESCRIPTION.json [--report-state HOST:PORT]
[--tick-interval S] [--clock-skew SECONDS]``. It prints the emulator host's JSON "ready" line
naming its ``/dev/pts`` port, then routes the GBCS frames written there to the CHF, ESME, GSME,
PPMID or SAPC by the recipient EUI (:mod:`firmware_stubs.comms_hub`). The description format is
in docs/devices.md; key folders in it are relative to the description's own folder.
:func:`hub_argv` gives the command line for :func:`devices.emulated.host.spawn_emulator`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from devices.emulated.host import clock_skew_option, device_clock_offset, serve
from devices.transports.loopback import parse_loopback
from firmware_stubs.premises import Premises, PremisesSpec


def load_description(path: Path) -> PremisesSpec:
    """Read and check a premises description file; ValueError naming the file and key."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    return PremisesSpec.parse(data, str(path), base=path.parent)


def hub_argv(
    description: Path, *, report_state: str | None = None, clock_skew_s: float = 0.0
) -> list[str]:
    """The command line that serves ``description`` (for ``spawn_emulator``)."""
    return [
        sys.executable,
        "-m",
        "devices.emulated.hub",
        *hub_args(description, report_state, clock_skew_s),
    ]


def hub_args(
    description: Path, report_state: str | None = None, clock_skew_s: float = 0.0
) -> list[str]:
    """The hub process's arguments (after ``-m devices.emulated.hub``)."""
    argv = [str(description)]
    if report_state:
        argv += ["--report-state", report_state]
    return argv + (["--clock-skew", repr(clock_skew_s)] if clock_skew_s else [])


@click.command()
@click.argument("description", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--report-state",
    metavar="HOST:PORT",
    default=None,
    help="Send supply and valve state changes to this loopback UDP address (docs/bench-io.md).",
)
@click.option(
    "--tick-interval",
    type=float,
    default=1.0,
    show_default=True,
    help="Seconds between ticks (consumption, alerts).",
)
@clock_skew_option
def main(
    description: Path, report_state: str | None, tick_interval: float, clock_skew: float
) -> None:
    """Serve one emulated premises (Comms Hub and its devices) on a new pty.

    \b
    Example:
      python -m devices.emulated.hub bench/premises.json
    """
    try:
        spec = load_description(description)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="DESCRIPTION") from None
    premises = Premises(spec, wall_clock_offset=device_clock_offset(clock_skew))
    if report_state is None:
        serve(premises, tick_interval=tick_interval)
        return
    try:
        address = parse_loopback(report_state)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--report-state") from None
    serve(premises, tick_interval=tick_interval, observe=premises.observe, report_to=address)


if __name__ == "__main__":
    main()
