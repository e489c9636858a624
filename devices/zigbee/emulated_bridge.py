"""An emulated USB ZigBee bridge with one node on the air, for CI: ``python -m
devices.zigbee.emulated_bridge [--delay S]``.

It serves a pty like any emulator (the host's ready line names it). Bytes from the rig are
bridge ``TX`` messages; their PSDUs reach the node, which runs a firmware (here an echo: each
GBCS message comes back unchanged after ``--delay`` seconds); the node's answers go back as
``RX`` messages, fragmented as the air needs.
"""

from __future__ import annotations

import itertools

import click

from devices.emulated.host import EmulatorCore, Firmware, Output, serve
from devices.transports.hdlc import FrameError, FrameKind
from devices.zigbee.bridge_codec import (
    BridgeDecoder,
    BridgeError,
    BridgeMessage,
    MessageType,
    encode_message,
    rx_data,
)
from devices.zigbee.frames import MAX_GBCS, Encoder, Reassembler, Tunnel, ZigbeeFrameError
from devices.zigbee.link import NODE_TUNNEL


class BridgeCore(EmulatorCore):
    """The emulator core with the bridge's framing and the ZigBee stack of the node."""

    def __init__(self, firmware: Firmware, tunnel: Tunnel = NODE_TUNNEL) -> None:
        super().__init__(firmware, max_payload=MAX_GBCS)
        self.tunnel = tunnel
        self._bridge = BridgeDecoder()
        self._reassembler = Reassembler(tunnel)
        self._encoder = Encoder(tunnel)
        self._rx_seq = itertools.count()

    def receive(self, data: bytes, now: float) -> list[FrameError | Exception]:
        errors: list[FrameError | Exception] = []
        for item in self._bridge.feed(data):
            try:
                if isinstance(item, BridgeError):
                    raise ZigbeeFrameError(str(item))
                if item.type is not MessageType.TX:
                    raise ZigbeeFrameError(f"unexpected {item.type.name} message from the host")
                gbcs = self._reassembler.feed(item.data)
            except ZigbeeFrameError as exc:
                errors.append(exc)
                continue
            if gbcs is not None:
                self._schedule(now, self.firmware.handle(gbcs, now))
        return errors

    def _encode(self, kind: FrameKind, payload: bytes) -> bytes:
        return b"".join(
            encode_message(BridgeMessage(MessageType.RX, next(self._rx_seq) & 0xFF, rx_data(psdu)))
            for psdu in self._encoder.encode(payload)
        )


class Echo:
    """A node that returns every GBCS message unchanged after ``delay`` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def handle(self, frame: bytes, now: float) -> Output:
        return [(self.delay, frame)]


@click.command()
@click.option("--delay", type=float, default=0.0, show_default=True, help="Node reply delay, s.")
def main(delay: float) -> None:
    """Serve an emulated ZigBee bridge with an echo node on a new pty."""
    serve(Echo(delay), make_core=BridgeCore)


if __name__ == "__main__":
    main()
