"""Key Establishment on the stack: the CBKE machines of :mod:`rig.zigbee.cbke.machine` carried in
ZCL cluster 0x0800 over APS data (SE 1.2a §C.3: the device, client, initiates after it joins;
the trust center, server, responds), each message APS-secured with the install-code link key
[ASSUMED: the brief of issue 15; the spec's own rule is to be checked against SE 1.2a §5.4.7].

On success both ends make the agreed key the APS link key, marked *established*, which the
Tunneling cluster requires (:class:`rig.zigbee.secured.SecuredAps`). The responder learns the
key first (Confirm Key Data Request) but must still send its Confirm Key Data Response under the
old key, so it **stages** the new one and installs it when that response is acknowledged, or as
soon as a frame arrives under it (the acknowledgement may be lost). A failure is a ``refused``
event ``Key Establishment: …`` on each end, with the Terminate status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rig.zigbee.cbke.curve import Point
from rig.zigbee.cbke.ecqv import Certificate, CertificateAuthority
from rig.zigbee.cbke.machine import (
    CLUSTER,
    Frame,
    Identity,
    Initiator,
    Responder,
    State,
    frame_from,
)
from rig.zigbee.codec import FrameError
from rig.zigbee.tunnel import SMART_ENERGY_PROFILE, ZclCommand, zcl_decode, zcl_encode

if TYPE_CHECKING:
    from rig.zigbee.node import Node

KEY_ESTABLISHMENT_CLUSTER = CLUSTER


@dataclass(frozen=True)
class Credentials:
    """What a node brings to Key Establishment (SE 1.2a Annex C, suite 2): its static private
    key and 74-byte certificate, and the certificate authority it trusts (issuer id and public
    key). :func:`issue` makes them from a test CA."""

    private: int
    certificate: Certificate
    ca_issuer: bytes
    ca_public: Point

    def identity(self, eui64: bytes) -> Identity:
        return Identity(eui64, self.private, self.certificate, self.ca_issuer, self.ca_public)


def issue(ca: CertificateAuthority, eui64: bytes, serial: int = 1) -> Credentials:
    """Credentials for ``eui64`` from the test certificate authority ``ca`` (ECQV, SEC 4)."""
    private, certificate = ca.issue(eui64, serial.to_bytes(8, "big"))
    return Credentials(private, certificate, ca.issuer, ca.public)


class KeyEstablishment:
    """One node's Key Establishment with its peers: the initiator side (a device) or the
    responder side (the trust center, one exchange per device)."""

    def __init__(self, node: Node, credentials: Credentials, *, initiator: bool) -> None:
        self.node = node
        self.identity = credentials.identity(node.eui64)
        self.initiator = initiator
        self.sessions: dict[bytes, Initiator | Responder] = {}

    def start(self, short: int, peer: bytes) -> None:
        """Initiate Key Establishment with ``peer`` (at ``short``)."""
        side = Initiator(self.identity, peer, self.node.clock)
        self.sessions[peer] = side
        self._send(short, peer, side.start())
        self._after(short, peer, side)

    def forget(self, peer: bytes) -> None:
        """``peer`` (re)joined: its exchange starts again."""
        self.sessions.pop(peer, None)

    def established(self, peer: bytes) -> bool:
        side = self.sessions.get(peer)
        return side is not None and side.state == State.DONE

    def receive(self, short: int, peer: bytes, asdu: bytes) -> None:
        """A cluster 0x0800 command from ``peer``."""
        command = zcl_decode(asdu)
        if command.from_server != self.initiator:
            raise FrameError(f"Key Establishment command 0x{command.command:02x} the wrong way")
        side = self.sessions.get(peer)
        if not self.initiator and (side is None or side.state in (State.DONE, State.FAILED)):
            side = self.sessions[peer] = Responder(self.identity, peer, self.node.clock)
        if side is None:
            raise FrameError("Key Establishment response with no exchange under way")
        try:
            frame = frame_from(command.command, command.body)
        except ValueError as exc:
            raise FrameError(str(exc)) from None
        answers = side.receive(frame)
        key = side.key if side.state == State.DONE else None
        if key is not None and not self.initiator:
            self.node.aps_security.stage_link_key(peer, key)
            self._send(short, peer, answers, key)
        else:
            self._send(short, peer, answers)
            if key is not None:
                self.node.aps_security.install_link_key(peer, key, established=True)
        self._after(short, peer, side)

    def _send(self, short: int, peer: bytes, frames: list[Frame], key: bytes | None = None) -> None:
        for frame in frames:
            asdu = zcl_encode(
                ZclCommand(not self.initiator, self.node._next_zcl(), frame.command, frame.payload)
            )
            done = None
            if key is not None:

                def done(peer: bytes = peer, key: bytes = key) -> None:
                    self.node.aps_security.install_link_key(peer, key, established=True)

            self.node.send_data(
                short, CLUSTER, SMART_ENERGY_PROFILE, asdu, secure=True, on_acked=done
            )

    def _who(self, peer: bytes) -> bytes:
        """Whom an event names: the device (the peer of the trust center, or this device)."""
        return self.node.eui64 if self.initiator else peer

    def _after(self, short: int, peer: bytes, side: Initiator | Responder) -> None:
        if side.state == State.DONE:
            self.node._event(
                "key-established", self._who(peer), "APS link key set up by CBKE (suite 2)"
            )
        elif side.state == State.FAILED:
            self.node._event("refused", self._who(peer), f"Key Establishment: {side.failure}")
        elif side.deadline is not None:
            self.node.clock.call_at(side.deadline, self._timeout, peer, side)

    def _timeout(self, peer: bytes, side: Initiator | Responder) -> None:
        if self.sessions.get(peer) is side and side.check_timeout():
            self.node._event("refused", self._who(peer), f"Key Establishment: {side.failure}")
