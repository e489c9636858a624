"""GBCS through a serial ZigBee bridge, behind the same link interface as ``SerialLink``.

Everything about the port (pty, ``socket://``, ``rfc2217://``, reader thread, link loss) is
``SerialLink``'s; this class only swaps the framing: GBCS message -> Tunneling TransferData
PSDUs (fragmented if need be) -> bridge ``TX`` messages out; bridge ``RX`` messages -> PSDUs ->
reassembled GBCS in. ``ZigbeeLink.factory(url)`` stacks under ``ReconnectingLink`` and
``FaultyLink`` like any link.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from devices.transports.hdlc import Frame, FrameKind
from devices.transports.link import (
    ClosedCallback,
    ErrorCallback,
    FrameCallback,
    log_closed,
    log_error,
)
from devices.transports.serial_link import SerialLink
from devices.zigbee.bridge_codec import (
    BridgeDecoder,
    BridgeError,
    BridgeMessage,
    MessageType,
    encode_message,
    split_rx,
)
from devices.zigbee.frames import MAX_GBCS, Encoder, Node, Reassembler, Tunnel, ZigbeeFrameError

#: The bench PAN: the rig acts as the Comms Hub (coordinator, tunnel server), the device is 0x0001.
DEFAULT_PAN = 0x4742
RIG_TUNNEL = Tunnel(DEFAULT_PAN, local=Node(0x0000, tunnel_server=True), remote=Node(0x0001))
#: The same tunnel seen from the device.
NODE_TUNNEL = RIG_TUNNEL.reversed()

#: ``capture(psdu, at)``: every PSDU sent or received, with its loop time (for a pcap).
Capture = Callable[[bytes, float], None]


class ZigbeeLink(SerialLink):
    """A link to one ZigBee node through a bridge on ``url``."""

    def __init__(
        self,
        url: str,
        *,
        on_frame: FrameCallback,
        on_error: ErrorCallback = log_error,
        on_closed: ClosedCallback = log_closed,
        tunnel: Tunnel = RIG_TUNNEL,
        capture: Capture | None = None,
        baudrate: int = 115200,
        write_timeout: float = 2.0,
    ) -> None:
        super().__init__(
            url,
            on_frame=on_frame,
            on_error=on_error,
            on_closed=on_closed,
            baudrate=baudrate,
            write_timeout=write_timeout,
            max_payload=MAX_GBCS,
        )
        self.tunnel = tunnel
        self.capture = capture
        self._encoder = Encoder(tunnel)
        self._tx_seq = itertools.count()
        self._bridge = BridgeDecoder()
        self._reassembler = Reassembler(tunnel)

    def send(self, payload: bytes, kind: FrameKind = FrameKind.GBCS) -> float:
        """Send one GBCS message (as one or more PSDUs, in a single write)."""
        if kind is not FrameKind.GBCS:
            raise ValueError("a ZigBee bridge carries GBCS messages only")
        psdus = self._encoder.encode(payload)
        wire = b"".join(
            encode_message(BridgeMessage(MessageType.TX, next(self._tx_seq) & 0xFF, psdu))
            for psdu in psdus
        )
        at = self._write(wire)
        if self.capture is not None:
            for psdu in psdus:
                self.capture(psdu, at)
        return at

    def _new_session(self) -> None:
        self._bridge = BridgeDecoder()
        self._reassembler = Reassembler(self.tunnel)

    def _deliver(self, data: bytes, received_at: float) -> None:
        for item in self._bridge.feed(data):
            if self._port is None:  # closed by a callback
                return
            try:
                gbcs = self._receive(item, received_at)
            except ZigbeeFrameError as exc:
                self._on_error(exc)
                continue
            if gbcs is None:
                continue
            try:
                self._on_frame(Frame(FrameKind.GBCS, gbcs), received_at)
            except Exception as exc:
                self._on_error(exc)

    def _receive(self, item: BridgeMessage | BridgeError, received_at: float) -> bytes | None:
        if isinstance(item, BridgeError):
            raise ZigbeeFrameError(str(item))
        if item.type is not MessageType.RX:
            raise ZigbeeFrameError(f"unexpected {item.type.name} message from the bridge")
        try:
            _, _, psdu = split_rx(item.data)
        except ValueError as exc:
            raise ZigbeeFrameError(str(exc)) from None
        if self.capture is not None:
            self.capture(psdu, received_at)
        return self._reassembler.feed(psdu)
