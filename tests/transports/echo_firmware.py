"""A test-only firmware behind the real host: ``python echo_firmware.py [--delay S] [--alerts S]``.

It answers each GBCS frame ``X`` with ``ECHO:X`` after ``--delay`` seconds; ``CRASH`` makes it
raise. With ``--alerts S`` it also sends ``ALERT:n`` every S seconds.
"""

from __future__ import annotations

import argparse

from devices.emulated.host import Output, serve


class EchoFirmware:
    def __init__(self, delay: float) -> None:
        self.delay = delay

    def handle(self, frame: bytes, now: float) -> Output:
        if frame == b"CRASH":
            raise RuntimeError("echo firmware told to crash")
        return [(self.delay, b"ECHO:" + frame)]


class AlertingEchoFirmware(EchoFirmware):
    def __init__(self, delay: float) -> None:
        super().__init__(delay)
        self.alerts = 0

    def tick(self, now: float) -> Output:
        self.alerts += 1
        return [(0.0, b"ALERT:%d" % self.alerts)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--alerts", type=float, default=None, metavar="SECONDS")
    args = parser.parse_args()
    if args.alerts is None:
        serve(EchoFirmware(args.delay))
    else:
        serve(AlertingEchoFirmware(args.delay), tick_interval=args.alerts)


if __name__ == "__main__":
    main()
