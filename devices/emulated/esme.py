"""The emulated ESME process: the pure firmware stub served behind a pty pair.

Run by the rig as ``python -m devices.emulated.esme --eui EUI --keys DIR [--keys DIR …]
[--clock-skew SECONDS]``; it prints one JSON "ready" line naming its ``/dev/pts`` port, then
answers GBCS frames on it. With ``--eui`` repeated, one process serves every meter, each on its
own pty (the ready line's ``ports``, in ``--eui`` order).
"""

from __future__ import annotations

from pathlib import Path

import click

from devices.emulated.host import clock_skew_option, device_clock_offset, serve, serve_group
from devices.transports.loopback import parse_loopback
from firmware_stubs.esme import Esme, EsmeSettings
from rig.gbcs.eui import Eui64
from rig.keys.keystore import KeyStore


@click.command()
@click.option(
    "--eui",
    "euis",
    required=True,
    multiple=True,
    help="The meter's EUI-64; repeat it to serve several meters from this process.",
)
@click.option(
    "--keys",
    "key_dirs",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="Key folders, searched in order; must hold this meter's private keys.",
)
@click.option(
    "--processing-time",
    type=float,
    default=EsmeSettings.processing_time,
    show_default=True,
    help="Seconds the meter takes to answer.",
)
@click.option("--credit", type=int, default=0, show_default=True, help="Initial credit, pence.")
@click.option(
    "--report-supply",
    metavar="HOST:PORT",
    default=None,
    help="Send supply-state changes to this loopback UDP address (the bench I/O emulator's "
    "contactor sense; docs/bench-io.md).",
)
@clock_skew_option
def main(
    euis: tuple[str, ...],
    key_dirs: tuple[Path, ...],
    processing_time: float,
    credit: int,
    report_supply: str | None,
    clock_skew: float,
) -> None:
    """Serve an emulated ESME on a new pty (several: one pty each)."""
    keys = KeyStore(key_dirs)
    offset = device_clock_offset(clock_skew)

    def meter(text: str) -> Esme:
        device = Eui64.parse(text)
        esme = Esme(
            device,
            ka_private=keys.ka_private(device),
            ds_private=keys.ds_private(device),
            keys=keys,
            settings=EsmeSettings(processing_time=processing_time),
            wall_clock_offset=offset,
        )
        esme.state.credit_pence = credit
        return esme

    if len(euis) > 1:
        if report_supply is not None:
            raise click.BadParameter(
                "reports one meter's supply: give one --eui", param_hint="--report-supply"
            )
        serve_group([meter(eui) for eui in euis])
        return
    esme = meter(euis[0])
    device = esme.eui
    if report_supply is None:
        serve(esme)
        return
    try:
        address = parse_loopback(report_supply)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--report-supply") from None
    serve(
        esme,
        observe=lambda: {"device": str(device), "supply": esme.state.supply.name.lower()},
        report_to=address,
    )


if __name__ == "__main__":
    main()
