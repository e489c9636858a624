"""Emulated RCPs on one emulated air, each on a pty of its own, in one process, for CI:
``python -m devices.spinel.emulated --radios 2 [--loss P] [--delay S] [--seed N]``.

The rig opens each port as it would a dongle's: HDLC-Lite framed Spinel both ways. The select
loop is the emulator host's (devices/emulated/host.py); :class:`RcpCore` only changes the
framing and wakes the loop for the air's events (a frame's end, an ACK, a retry).
"""

from __future__ import annotations

import heapq
import logging

import click

from devices.emulated.host import EmulatorCore, Firmware, serve_group
from devices.spinel import hdlc_lite
from devices.spinel.rcp import Air, AirConfig, EmulatedRcp
from devices.transports.hdlc import FrameError, FrameKind

_log = logging.getLogger(__name__)

#: The emulated radios' EUI-64s: this prefix and the radio's number [ASSUMED: a test OUI].
HWADDR_PREFIX = bytes.fromhex("00124B00524947")


class RcpCore(EmulatorCore):
    """The emulator core of one :class:`EmulatedRcp`: HDLC-Lite in and out, and the air's
    events run when due (``next_due`` and ``pop_due`` see them)."""

    def __init__(self, firmware: Firmware) -> None:
        if not isinstance(firmware, EmulatedRcp):
            raise TypeError("RcpCore serves an EmulatedRcp")
        super().__init__(firmware, max_payload=hdlc_lite.MAX_FRAME)
        self.rcp = firmware
        self.hdlc = hdlc_lite.HdlcLiteDecoder()

    def receive(self, data: bytes, now: float) -> list[FrameError | Exception]:
        errors: list[FrameError | Exception] = []
        for item in self.hdlc.feed(data):
            if isinstance(item, hdlc_lite.HdlcError):
                errors.append(ValueError(str(item)))
            else:
                self._schedule(now, self.rcp.handle(item, now))
        return errors

    def next_due(self) -> float | None:
        due = earliest(super().next_due(), self.rcp.air.next_due())
        return earliest(due, self.rcp.outbox_due())

    def pop_due(self, now: float) -> list[bytes]:
        self.rcp.air.advance(now)
        for at, frame in self.rcp.take_outbox():
            heapq.heappush(self._queue, (at, next(self._seq), self._encode(FrameKind.GBCS, frame)))
        return super().pop_due(now)

    def _encode(self, kind: FrameKind, payload: bytes) -> bytes:
        return hdlc_lite.encode(payload)


def earliest(first: float | None, second: float | None) -> float | None:
    """The earlier of two due times, None for none."""
    if first is None:
        return second
    return first if second is None or first <= second else second


def make_radios(count: int, config: AirConfig) -> tuple[Air, list[EmulatedRcp]]:
    """An air and ``count`` radios on it (EUI-64 ``00:12:4B:00:52:49:47:<n>``, n from 1)."""
    air = Air(config)
    return air, [EmulatedRcp(air, HWADDR_PREFIX + bytes([n])) for n in range(1, count + 1)]


@click.command()
@click.option("--radios", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option(
    "--loss",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Probability that a frame or ACK does not reach a radio.",
)
@click.option(
    "--delay",
    "delay_s",
    type=click.FloatRange(0.0),
    default=0.0,
    show_default=True,
    help="Seconds added to every frame's and ACK's travel.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the loss RNG.")
def main(radios: int, loss: float, delay_s: float, seed: int) -> None:
    """Serve emulated OpenThread RCPs sharing one air, one pty each (the ready line names them)."""
    _, rcps = make_radios(radios, AirConfig(loss=loss, delay_s=delay_s, seed=seed))
    serve_group(rcps, make_core=RcpCore)


if __name__ == "__main__":
    main()
