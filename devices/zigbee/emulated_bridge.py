"""An emulated USB ZigBee bridge with one node on the air, for CI: ``python -m
devices.zigbee.emulated_bridge [--delay S | --node PORT]``.

It serves a pty like any emulator (the host's ready line names it). Bytes from the rig are
bridge ``TX`` messages; their PSDUs reach the node, whose answers go back as ``RX`` messages,
fragmented as the air needs. The node is an echo (each GBCS message comes back unchanged after
``--delay`` seconds), or with ``--node PORT`` a device emulator on that HDLC port (the ESME
process, firmware and all): the bridge relays each reassembled GBCS message to it and puts
every GBCS frame it answers on the air. The node's process ending ends the bridge, so the rig
sees its link lost as it would on a pty.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import sys

import click

from devices.emulated.host import (
    MAX_BACKLOG,
    EmulatorCore,
    Firmware,
    Output,
    announce_ready,
    serve,
    stdin_is_parent_pipe,
)
from devices.transports.hdlc import Frame, FrameError, FrameKind
from devices.transports.pty_pair import PtyPair, open_pty_pair
from devices.transports.serial_link import SerialLink
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

_log = logging.getLogger(__name__)


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

    def emit(self, gbcs: bytes, now: float) -> bytes:
        """The wire bytes (RX messages) putting one GBCS message from the node on the air now:
        for a node whose answers do not come from ``firmware.handle`` (a relayed device)."""
        self._schedule(now, [(0.0, gbcs)])
        return b"".join(self.pop_due(now))

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


class _Forward:
    """The node's "firmware" when the node is a relayed device: hand each message on."""

    def __init__(self, link: SerialLink) -> None:
        self.link = link

    def handle(self, frame: bytes, now: float) -> Output:
        self.link.send(frame)
        return []


class _Relay:
    """The I/O shell of a relaying bridge: the pty the rig opens on one side, the node's HDLC
    port on the other, one :class:`BridgeCore` between them; runs until either side ends."""

    def __init__(self, pty: PtyPair, node_url: str) -> None:
        self._pty = pty
        self._fd = pty.master_fd
        self._loop = asyncio.get_running_loop()
        self._done: asyncio.Future[str] = self._loop.create_future()
        self._backlog = bytearray()
        self._node = SerialLink(node_url, on_frame=self._from_node, on_closed=self._stop)
        self._core = BridgeCore(_Forward(self._node))

    async def run(self) -> str:
        """Serve; return why it ended."""
        await self._node.open()
        os.set_blocking(self._fd, False)
        self._loop.add_reader(self._fd, self._from_rig)
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._loop.add_signal_handler(sig, self._stop, f"signal {sig.name}")
        if stdin_is_parent_pipe():
            self._loop.add_reader(sys.stdin.fileno(), self._stdin_readable)
        announce_ready(self._pty.slave_path)
        try:
            return await self._done
        finally:
            self._node.close()

    def _stop(self, reason: str) -> None:
        if not self._done.done():
            self._done.set_result(reason)

    def _stdin_readable(self) -> None:
        if not os.read(sys.stdin.fileno(), 4096):
            self._stop("stdin closed: the parent is gone")

    def _from_rig(self) -> None:
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        for error in self._core.receive(data, self._loop.time()):
            _log.warning("rejected %s", error)

    def _from_node(self, frame: Frame, at: float) -> None:
        if frame.kind is not FrameKind.GBCS:
            return
        wire = self._core.emit(frame.payload, at)
        if len(self._backlog) + len(wire) > MAX_BACKLOG:
            _log.warning("nobody is reading the port: dropped a %d-byte message", len(wire))
            return
        self._backlog += wire
        self._flush()

    def _flush(self) -> None:
        try:
            written = os.write(self._fd, self._backlog) if self._backlog else 0
        except BlockingIOError:
            written = 0
        del self._backlog[:written]
        self._loop.remove_writer(self._fd)
        if self._backlog:
            self._loop.add_writer(self._fd, self._flush)


@click.command()
@click.option("--delay", type=float, default=0.0, show_default=True, help="Echo node delay, s.")
@click.option(
    "--node",
    "node_port",
    default=None,
    metavar="PORT",
    help="The node is the device emulator on this HDLC serial port (instead of an echo).",
)
def main(delay: float, node_port: str | None) -> None:
    """Serve an emulated ZigBee bridge on a new pty: an echo node, or a relayed device."""
    if node_port is None:
        serve(Echo(delay), make_core=BridgeCore)
        return
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(name)s: %(message)s")

    async def relay() -> str:
        return await _Relay(pty, node_port).run()

    with open_pty_pair() as pty:
        _log.info("bridge stopped: %s", asyncio.run(relay()))


if __name__ == "__main__":
    main()
