"""Device-side commands for the ``rig`` CLI (the lead registers them): ``rig benchmark devices``:
how many emulated Comms Hubs one core serves at one request per second each
(:mod:`rig.benchmarks.farm`)."""

from __future__ import annotations

import click

from rig.benchmarks import han
from rig.benchmarks.farm import measure_farm


@click.command("devices")
@click.option(
    "--hubs",
    default=1000,
    show_default=True,
    help="Measure a hub farm of this many Comms Hubs (each with an ESME and a GSME), "
    "offered one request per hub per second; 0 skips it.",
)
@click.option("--farm-seconds", default=10, show_default=True, help="Length of the farm run.")
@han.han_options
def benchmark_devices(hubs: int, farm_seconds: int, **secured_han: float) -> None:
    """The secured HAN's frames per CPU-second and HANs per core, and the number of emulated
    Comms Hubs one core serves at 1 request/s each (--hubs 0 skips it).

    \b
    Examples:
      rig benchmark devices --hubs 2000 --farm-seconds 20
      rig benchmark devices --hubs 0 --han-frame-seconds 2 --han-hubs 4 --han-seconds 10

    The secured HAN (docs/han.md "Speed of the secured HAN"): secured frames per CPU-second
    through the emulated RCP and air against the 250 kbit/s air, and secured HANs per core at
    1 request/s each.
    """
    if hubs < 0 or farm_seconds < 1:
        raise click.BadParameter("--hubs must be >= 0 and --farm-seconds >= 1")
    han.report(**secured_han)  # type: ignore[arg-type]
    if not hubs:
        click.echo("hub farm: not measured (--hubs 0)")
        return
    farm = measure_farm(hubs, farm_seconds)
    click.echo(
        f"hub farm: {farm.hubs} hubs (ESME + GSME each) offered 1 request/s each for"
        f" {farm.seconds:.0f} s: {farm.answered}/{farm.sent} answered, farm CPU"
        f" {farm.cpu_per_request * 1e3:.2f} ms per request ({farm.core_share:.0%} of a core);"
        f" one core serves {farm.hubs_per_core:.0f} hubs at 1 request/s each;"
        f" ESME round trip p50 {farm.esme_p50 * 1e3:.0f} ms, p99 {farm.esme_p99 * 1e3:.0f} ms"
    )
