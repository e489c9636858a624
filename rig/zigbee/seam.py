"""The seams of the ZigBee stack: what it asks of security and of the radio.

**Security.** The stack builds and parses frames *unsecured*; where the ZigBee specification
(05-3474 §4.3 NWK, §4.4 APS) secures a frame it hands the frame to a :class:`NwkSecurity` or
:class:`ApsSecurity` and sends what comes back; every frame it receives goes through ``open``
first, which gives the frame with its security removed, or a :class:`Refusal` with the reason
(wrong MIC, stale counter, unsecured where security is required …). The stack then reports the
refusal as an event and drops the frame. :class:`NoSecurity` is both, for an open network (the
rig's tests until CCM* lands): it sends and opens frames as they are; a frame still flagged
secured after ``open`` is refused by the stack (there was no key to open it).

**The radio** (:class:`Radio`): transmit a MAC frame, and the source-match table that sets
"frame pending" in the ACK of a sleepy device's poll (``devices/spinel/driver.py``'s
``SpinelRadio`` fits it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Refusal:
    """Why a frame was not taken."""

    reason: str


class NwkSecurity(Protocol):
    """NWK-layer security with the network key (§4.3: level 5, CCM*, per-source counters)."""

    def secure(self, frame: bytes, *, source: bytes) -> bytes:
        """``frame`` (an unsecured NWK frame: header and payload) secured by ``source`` (the
        sender's EUI-64, for the auxiliary header and the nonce)."""
        ...

    def open(self, frame: bytes, *, allow_unsecured: bool) -> bytes | Refusal:
        """The unsecured NWK frame inside ``frame``, or why it is refused. An unsecured frame is
        taken only when ``allow_unsecured`` (a joiner before it holds the network key)."""
        ...

    def install(self, key: bytes, key_seq: int) -> None:
        """Use ``key`` as the network key from now on (delivered by Transport Key)."""
        ...


class ApsSecurity(Protocol):
    """APS-layer security with link keys (§4.4): ``peer`` is the other end's EUI-64;
    ``key_transport`` selects the key-transport key derived from the link key (§4.5.3: for
    APS Transport Key) rather than the link key itself."""

    def secure(self, frame: bytes, *, peer: bytes, key_transport: bool = False) -> bytes: ...

    def open(
        self, frame: bytes, *, peer: bytes, required: bool, established: bool = False
    ) -> bytes | Refusal:
        """The unsecured APS frame inside ``frame``, or why it is refused (an unsecured frame
        where ``required``, a key this end does not hold for ``peer``, a wrong MIC …; where
        ``established`` (Tunneling), a frame under a key Key Establishment did not set up)."""
        ...

    def install_link_key(self, peer: bytes, key: bytes, *, established: bool = False) -> None:
        """The link key shared with ``peer``, from now on: from its install code, or set up by
        Key Establishment (``established``)."""
        ...

    def stage_link_key(self, peer: bytes, key: bytes) -> None:
        """A key Key Establishment agreed with ``peer`` but not yet in use: frames under it are
        taken (and make it the link key); frames go out under the current one meanwhile."""
        ...

    def current_key(self, peer: bytes) -> bytes | None:
        """The link key frames to ``peer`` go out under, which is also the key the last frame
        ``open`` took from ``peer`` came under (None: no key, or no security). The stack
        checks with it that an ack comes under the key of the frame it acknowledges."""
        ...


class NoSecurity:
    """No security (both seams): frames go out and come in as they are (the stack refuses one
    that is still flagged secured)."""

    def secure(self, frame: bytes, **_: object) -> bytes:
        return frame

    def open(self, frame: bytes, **_: object) -> bytes | Refusal:
        return frame

    def install(self, key: bytes, key_seq: int) -> None:
        """Nothing to install: frames stay unsecured."""

    def install_link_key(self, peer: bytes, key: bytes, **_: object) -> None:
        """Nothing to install: frames stay unsecured."""

    def stage_link_key(self, peer: bytes, key: bytes) -> None:
        """Nothing to stage: frames stay unsecured."""

    def current_key(self, peer: bytes) -> bytes | None:
        """No key: every frame goes unsecured."""
        return None


class Radio(Protocol):
    """The radio under the stack: sends MAC frames (the radio adds the FCS, does CSMA-CA,
    ACKs and MAC retries) and keeps the source-match table for polls."""

    def transmit(self, mac_frame: bytes) -> object: ...

    def add_pending(self, address: int | bytes) -> None:
        """Polls from ``address`` (short, or EUI-64 as written) are ACKed with frame pending."""
        ...

    def clear_pending(self, address: int | bytes) -> None: ...


class DeviceRadio(Radio, Protocol):
    """A device's radio also takes the PAN and short address the device joined with (for its
    address filter and ACKs: ``SpinelRadio.set_pan``)."""

    def set_pan(self, pan_id: int, short_address: int) -> None: ...
