"""Device-side commands for the ``rig`` CLI (the lead registers them): ``rig benchmark devices``:
the emulated ZigBee bridge's sustained frame rate, and how many emulated Comms Hubs one core
serves at one request per second each (:mod:`rig.benchmarks.farm`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import click

from devices.serial_device import TRANSPORTS, emulated_zigbee_echo
from devices.zigbee.frames import Encoder
from devices.zigbee.link import RIG_TUNNEL
from rig.benchmarks import han
from rig.benchmarks.farm import measure_farm
from rig.gbcs.eui import Eui64

_BENCH_EUI = Eui64.parse("00-DB-12-34-56-78-91-01")


@dataclass(frozen=True)
class Throughput:
    messages: int
    psdus: int
    seconds: float

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.seconds

    @property
    def psdus_per_second(self) -> float:
        return self.psdus / self.seconds


async def measure_zigbee(messages: int, size: int, window: int, transport: str) -> Throughput:
    """Echo ``messages`` GBCS messages of ``size`` bytes through the emulated bridge, at most
    ``window`` in flight; time from the first send to the last echo."""
    loop = asyncio.get_running_loop()
    received: asyncio.Queue[bytes] = asyncio.Queue()

    class Counter:
        def frame_received(self, device: object, frame: bytes, at: float) -> None:
            received.put_nowait(frame)

        def link_lost(self, device: object, reason: str) -> None:
            received.put_nowait(b"")

    device = emulated_zigbee_echo("bench", _BENCH_EUI, transport=transport)  # type: ignore[arg-type]
    await device.open(loop, Counter())
    payload = bytes(i % 251 for i in range(size))
    try:
        start = loop.time()
        sent = done = 0
        while done < messages:
            while sent < messages and sent - done < window:
                device.send(payload)
                sent += 1
            if not await asyncio.wait_for(received.get(), 30.0):
                raise click.ClickException("link lost during the measurement")
            done += 1
        elapsed = loop.time() - start
    finally:
        await device.close()
    per_message = len(Encoder(RIG_TUNNEL).encode(payload))
    return Throughput(messages, 2 * messages * per_message, elapsed)


@click.command("devices")
@click.option("--messages", default=500, show_default=True, help="GBCS messages to echo.")
@click.option("--size", default=40, show_default=True, help="GBCS message size, bytes.")
@click.option("--window", default=8, show_default=True, help="Messages in flight at once.")
@click.option("--transport", type=click.Choice(TRANSPORTS), default="pty", show_default=True)
@click.option(
    "--hubs",
    default=1000,
    show_default=True,
    help="Measure a hub farm of this many Comms Hubs (each with an ESME and a GSME), "
    "offered one request per hub per second; 0 skips it.",
)
@click.option("--farm-seconds", default=10, show_default=True, help="Length of the farm run.")
@han.han_options
def benchmark_devices(
    messages: int,
    size: int,
    window: int,
    transport: str,
    hubs: int,
    farm_seconds: int,
    **secured_han: float,
) -> None:
    """Sustained frames per second through the emulated ZigBee bridge (echo node), and the
    number of emulated Comms Hubs one core serves at 1 request/s each (--hubs 0 skips it).

    \b
    Examples:
      rig benchmark devices --messages 1000 --size 40 --window 8 --transport tcp
      rig benchmark devices --hubs 2000 --farm-seconds 20
      rig benchmark devices --hubs 0 --han-frame-seconds 2 --han-hubs 4 --han-seconds 10

    The secured HAN (docs/han.md "Speed of the secured HAN"): secured frames per CPU-second
    through the emulated RCP and air against the 250 kbit/s air, and secured HANs per core at
    1 request/s each.
    """
    if messages < 1 or size < 1 or window < 1:
        raise click.BadParameter("--messages, --size and --window must be positive")
    if hubs < 0 or farm_seconds < 1:
        raise click.BadParameter("--hubs must be >= 0 and --farm-seconds >= 1")
    han.report(**secured_han)  # type: ignore[arg-type]
    result = asyncio.run(measure_zigbee(messages, size, window, transport))
    click.echo(
        f"zigbee bridge ({transport}): {result.messages} x {size}-byte GBCS messages echoed in"
        f" {result.seconds:.3f} s: {result.messages_per_second:.0f} messages/s each way,"
        f" {result.psdus_per_second:.0f} 802.15.4 frames/s in total (window {window})"
    )
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
