"""A test-only stand-in for a Comms Hub: several ESME firmware stubs behind one pty, on the real
host. ``python esme_hub.py --keys DIR [--keys DIR …] EUI [EUI …]``.

Every frame is offered to every meter; each answers only what is addressed to it (the stub
discards the rest), so what comes back up the one link is from several originators.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from devices.emulated.host import Output, serve
from firmware_stubs.esme import Esme, EsmeSettings
from rig.gbcs.eui import Eui64
from rig.keys.keystore import KeyStore


class Meters:
    def __init__(self, meters: list[Esme]) -> None:
        self.meters = meters

    def handle(self, frame: bytes, now: float) -> Output:
        return [out for meter in self.meters for out in meter.handle(frame, now)]

    def tick(self, now: float) -> Output:
        ticking = [m for m in self.meters if hasattr(m, "tick")]
        return [out for meter in ticking for out in meter.tick(now)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=Path, action="append", required=True)
    parser.add_argument("euis", nargs="+")
    args = parser.parse_args()
    keys = KeyStore(args.keys)
    meters = []
    for text in args.euis:
        eui = Eui64.parse(text)
        meters.append(
            Esme(
                eui,
                ka_private=keys.ka_private(eui),
                ds_private=keys.ds_private(eui),
                keys=keys,
                settings=EsmeSettings(processing_time=0.001),
                wall_clock_offset=time.time() - time.monotonic(),
            )
        )
    serve(Meters(meters))


if __name__ == "__main__":
    main()
