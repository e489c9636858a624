"""``rig han``: the HAN's radio from the command line (docs/wiring.md "First contact with a
dongle")."""

from __future__ import annotations

import click

from devices.spinel.driver import DEFAULT_BAUDRATE


@click.group("han")
def han() -> None:
    """The HAN's radio: check a Spinel RCP dongle before a bench file names it.

    \b
    Example:
      rig han probe /dev/ttyACM0
    """


@han.command("probe")
@click.argument("port")
@click.option("--baudrate", type=int, default=DEFAULT_BAUDRATE, show_default=True)
@click.option(
    "--channel", type=click.IntRange(11, 26), default=15, show_default=True, help="Set and used."
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.05),
    default=2.0,
    show_default=True,
    help="Seconds to wait for each answer.",
)
@click.option(
    "--listen",
    "listen_s",
    type=click.FloatRange(0.0),
    default=0.5,
    show_default=True,
    help="Seconds to listen after the transmissions.",
)
def probe(port: str, baudrate: int, channel: int, timeout: float, listen_s: float) -> None:
    """Reset the RCP on PORT and check what the rig needs of it, one line a step: protocol
    version, capabilities, EUI-64, channel and PAN ID set and read back, a raw transmission
    with its TX status, what is heard. Exits 1 at the first step that fails.

    \b
    Example:
      rig han probe /dev/ttyACM0
      rig han probe /dev/ttyUSB0 --baudrate 115200 --channel 20
    """
    from devices.spinel.probe import run_probe

    click.echo(f"radio {port} at {baudrate} baud")
    steps, failure = run_probe(
        port, baudrate=baudrate, channel=channel, timeout=timeout, listen_s=listen_s
    )
    for step in steps:
        mark = click.style("ok    ", fg="green") if step.ok else click.style("FAILED", fg="red")
        click.echo(f"{mark} {step.what}: {step.said}")
    if failure is not None:
        if not steps or steps[-1].ok:  # a radio error, not a step's answer (shown above)
            click.echo(click.style("FAILED", fg="red") + f" {failure}")
        raise SystemExit(1)
    click.echo(f'ready: put port = "{port}" in the bench file\'s [han] table (docs/wiring.md)')
