"""What both roles of the stack share: MAC frames out through the :class:`~rig.zigbee.seam.Radio`,
frames in through the security seams, and APS data with acknowledgements, retries, duplicate
rejection and fragmentation (ZigBee specification 05-3474 §2.2.8.4: apsMaxFrameRetries 3,
apsAckWaitDuration; window size 1, so each block is acknowledged before the next goes).
An ack is APS-secured as the frame it acknowledges was, under the same link key, and an ack that
is not is refused (:meth:`Node._ack`, :meth:`Node._on_ack`; docs/han.md "APS acks").

Sans-I/O: a node is fed MAC frames (``receive``), reads the time from an injected
:class:`~rig.clock.Clock` and schedules its timers on it; what happens is appended to ``events``.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from rig.clock import Clock, TimerHandle
from rig.zigbee import codec
from rig.zigbee.aps import Reassembly, fragments
from rig.zigbee.codec import ApsFrame, FrameError, MacFrame, NwkFrame
from rig.zigbee.keyest import KEY_ESTABLISHMENT_CLUSTER, Credentials, KeyEstablishment
from rig.zigbee.seam import ApsSecurity, NwkSecurity, Radio, Refusal
from rig.zigbee.tunnel import SMART_ENERGY_PROFILE, TUNNELING_CLUSTER

#: aMaxPHYPacketSize less the FCS: the largest MAC frame.
MAX_MAC_FRAME = 125
#: What surrounds an ASDU in the largest secured frame: the MAC header of a data frame with short
#: addresses and PAN compression (9), the NWK header with the extended source (16), the APS
#: data header with the extended header of a fragment (11), NWK security (auxiliary header with
#: the extended nonce and key sequence number, 14, and the MIC, 4) and APS security (auxiliary
#: header with the extended nonce, 13, and the MIC, 4) (05-3474 §3.3.1, §2.2.5.1, §4.5.1).
_OVERHEAD = 9 + 16 + 11 + 14 + 4 + 13 + 4
MAX_ASDU = MAX_MAC_FRAME - _OVERHEAD
MAX_BLOCK = MAX_ASDU - 2
#: Endpoint of the Smart Energy application on every node [ASSUMED: 1, as GBCS devices use].
SE_ENDPOINT = 1
#: How many of its latest events a node keeps in ``events`` [ASSUMED: a test's or a debugging
#: session's look back; each event also reaches ``on_event`` as it happens, where the rig writes
#: it to the results, so a soak run's memory stays flat and nothing is lost].
EVENT_HISTORY = 1000


@dataclass(frozen=True)
class Event:
    """Something the stack did or refused: ``kind`` (``associated``, ``joined``, ``refused``,
    ``key-established``,
    ``announced``, ``rejoined``, ``rejoin-failed``, ``left``, ``tunnel-open``, ``transfer-data``,
    ``expired``,
    ``aps-retry``, ``aps-failed``, ``dropped``), the device's EUI-64 (hex) when one is concerned,
    a reason or detail, and data (the GBCS of a TransferData; of an ``aps-failed`` one, the GBCS
    it carried)."""

    at: float
    kind: str
    device: str = ""
    detail: str = ""
    data: bytes = b""


@dataclass(frozen=True)
class StackConfig:
    """Timings, each with its source."""

    #: apsAckWaitDuration (§2.2.7.1, Table 2.24: 0.05 x 2 x nwkcMaxDepth + security time)
    #: [ASSUMED: nwkcMaxDepth 15 and 0.1 s for security: 1.6 s].
    aps_ack_wait: float = 1.6
    #: apsMaxFrameRetries (Table 2.24).
    aps_max_retries: int = 3
    #: macTransactionPersistenceTime (IEEE 802.15.4-2006 Table 86: 0x01F4 unit periods of
    #: aBaseSuperframeDuration, 960 symbols of 16 µs, in a non-beacon network): 7.68 s.
    persistence: float = 7.68
    #: macResponseWaitTime (Table 86: 32 x aBaseSuperframeDuration): 0.49152 s.
    response_wait: float = 0.49152
    #: How long a joiner listens for beacons [ASSUMED: a one-channel bench; scan duration 3 is
    #: (2^3 + 1) x 15.36 ms = 0.138 s].
    scan_duration: float = 0.138
    #: A sleepy device's poll period [ASSUMED: GSMEs poll often while joining and talking].
    poll_interval: float = 1.0
    #: The trust center's wait for Device Announce after Transport Key [ASSUMED].
    join_timeout: float = 10.0
    #: How long a rejoining device waits for the Rejoin Response before it joins afresh with its
    #: install code [ASSUMED: 05-3474 §3.6.1.4.2 leaves the wait to the stack; past a sleepy
    #: device's poll (1 s) and its held frame's round trip].
    rejoin_timeout: float = 3.0
    #: How many GBCS frames the trust center holds for a device's tunnel while the device
    #: rejoins and runs Key Establishment again, before it refuses more [ASSUMED: a bench
    #: figure above the 50 round trips the load plans queue at once].
    tunnel_queue: int = 256


@dataclass
class _Transfer:
    """One APS data transmission awaiting its acknowledgements, block by block."""

    dst: int
    counter: int
    frames: list[ApsFrame]
    secure: bool
    on_acked: Callable[[], None] | None = None
    index: int = 0
    tries: int = 0
    timer: TimerHandle | None = None
    #: The link key the block in flight went out under (None: APS-unsecured), which its ack
    #: must come under too.
    key: bytes | None = None

    @property
    def asdu(self) -> bytes:
        """The whole ASDU, its blocks joined."""
        return b"".join(frame.payload for frame in self.frames)


class Node:
    """The shared core of the coordinator and the device."""

    def __init__(
        self,
        eui64: bytes,
        clock: Clock,
        radio: Radio,
        *,
        nwk_security: NwkSecurity,
        aps_security: ApsSecurity,
        config: StackConfig | None = None,
        credentials: Credentials | None = None,
        initiator: bool = False,
    ) -> None:
        if len(eui64) != 8:
            raise ValueError("an EUI-64 is 8 bytes")
        self.eui64 = eui64
        self.clock = clock
        self.radio = radio
        self.nwk_security = nwk_security
        self.aps_security = aps_security
        self.config = config or StackConfig()
        #: The latest events, oldest first: between :data:`EVENT_HISTORY` and twice as many.
        self.events: list[Event] = []
        #: Called with each event as it happens (an I/O shell's hook), if set.
        self.on_event: Callable[[Event], None] | None = None
        self.pan_id = codec.BROADCAST_PAN
        self.short = 0xFFFE
        self._mac_seq = itertools.count()
        self._nwk_seq = itertools.count()
        self._aps_counter = itertools.count()
        self._zcl_seq = itertools.count()
        #: Per destination, its transfers in order: the first is in flight.
        self._waiting: dict[int, deque[_Transfer]] = {}
        self._reassembly: dict[int, Reassembly] = {}
        self._seen: deque[tuple[int, int, int]] = deque(maxlen=32)
        #: Key Establishment (CBKE) with peers, when this node has credentials.
        self.cbke = (
            KeyEstablishment(self, credentials, initiator=initiator) if credentials else None
        )

    # --- what the subclasses give -----------------------------------------------------------

    def eui_of(self, short: int) -> bytes | None:
        """The EUI-64 of the node with this short address, if known."""
        raise NotImplementedError

    def _mac_frame(self, mac: MacFrame) -> None:
        """A beacon or a MAC command frame came in."""
        raise NotImplementedError

    def _nwk_command(self, mac: MacFrame, nwk: NwkFrame) -> None:
        raise NotImplementedError

    def _aps_command(self, nwk: NwkFrame, aps: ApsFrame) -> None:
        raise NotImplementedError

    def _deliver(self, src: int, aps: ApsFrame, asdu: bytes) -> None:
        """A whole APS data message came in."""
        raise NotImplementedError

    def _key_establishment_peer(self, src: int) -> bytes | None:
        """The EUI-64 of ``src`` if it may run Key Establishment with this node."""
        raise NotImplementedError

    def _allow_unsecured_nwk(self) -> bool:
        raise NotImplementedError

    def _secures_nwk_to(self, dst: int) -> bool:
        raise NotImplementedError

    def _send_mac(self, mac: MacFrame) -> None:
        """Put a MAC frame on its way (the coordinator holds some for sleepy children)."""
        self.radio.transmit(codec.mac_encode(mac))

    def _ack_wait(self, dst: int) -> float:
        return self.config.aps_ack_wait

    # --- helpers ------------------------------------------------------------------------------

    def _event(self, kind: str, device: bytes | None = None, detail: str = "", **kw: bytes) -> None:
        who = device.hex().upper() if device else ""
        event = Event(self.clock.now(), kind, who, detail, **kw)
        events = self.events
        events.append(event)
        if len(events) > 2 * EVENT_HISTORY:
            del events[:EVENT_HISTORY]
        if self.on_event is not None:
            self.on_event(event)

    def _next_zcl(self) -> int:
        return next(self._zcl_seq) & 0xFF

    def _mac(
        self,
        *,
        frame_type: int,
        dst: codec.Address | None,
        payload: bytes,
        command: int | None = None,
        src: codec.Address | None = None,
        dst_pan: int | None = None,
        src_pan: int | None = None,
        pending: bool = False,
    ) -> MacFrame:
        """A MAC frame from this node (its short address unless ``src``), acknowledged when
        unicast."""
        unicast = dst is not None and dst != codec.BROADCAST
        pan = self.pan_id
        return MacFrame(
            frame_type,
            next(self._mac_seq) & 0xFF,
            unicast,
            pending,
            None if dst is None else pan if dst_pan is None else dst_pan,
            dst,
            pan if src_pan is None else src_pan,
            self.short if src is None else src,
            command,
            payload,
        )

    def send_nwk(
        self,
        dst: int,
        frame_type: int,
        payload: bytes,
        *,
        secure: bool | None = None,
        mac_dst: codec.Address | None = None,
        mac_src: codec.Address | None = None,
    ) -> None:
        """A NWK frame to ``dst`` (one hop: the coordinator and its children), secured by the
        NWK seam when ``secure`` (default: as the role decides for ``dst``)."""
        secured = self._secures_nwk_to(dst) if secure is None else secure
        nwk = NwkFrame(
            frame_type,
            dst,
            self.short,
            next(self._nwk_seq),
            payload,
            src_ext=self.eui64 if secured or mac_src is not None else None,
        )
        data = codec.nwk_encode(nwk)
        if secured:
            data = self.nwk_security.secure(data, source=self.eui64)
        mac_to = codec.BROADCAST if dst >= 0xFFFC else dst if mac_dst is None else mac_dst
        self._send_mac(
            self._mac(frame_type=codec.FRAME_DATA, dst=mac_to, payload=data, src=mac_src)
        )

    def _send_aps(
        self,
        dst: int,
        aps: ApsFrame,
        *,
        secure: bool,
        key_transport: bool = False,
        nwk_secure: bool | None = None,
        peer: bytes | None = None,
    ) -> None:
        """APS frame ``aps`` to ``dst``, APS-secured when ``secure`` under the link key with
        ``peer`` (default: the EUI-64 of ``dst``)."""
        data = codec.aps_encode(aps)
        if secure:
            peer = peer or self.eui_of(dst) or bytes(8)
            data = self.aps_security.secure(data, peer=peer, key_transport=key_transport)
        self.send_nwk(dst, codec.NWK_DATA, data, secure=nwk_secure)

    # --- APS data with acks and retries ---------------------------------------------------

    def send_data(
        self,
        dst: int,
        cluster: int,
        profile: int,
        asdu: bytes,
        *,
        secure: bool,
        endpoint: int = SE_ENDPOINT,
        on_acked: Callable[[], None] | None = None,
    ) -> None:
        """APS data to ``dst``, acknowledged and retried, in blocks when it does not fit;
        ``on_acked`` is called once the last block is acknowledged. The APS counter is taken
        when the transfer starts (:meth:`_start`), so a queue longer than the counter's 256
        values never holds two transfers in flight under one counter."""
        frames = [
            ApsFrame(
                codec.APS_DATA,
                0,
                chunk,
                endpoint,
                cluster,
                profile,
                endpoint,
                ack_request=True,
                fragmentation=kind,
                block=block,
            )
            for kind, block, chunk in fragments(asdu, MAX_ASDU, MAX_BLOCK)
        ]
        transfer = _Transfer(dst, 0, frames, secure, on_acked)
        waiting = self._waiting.setdefault(dst, deque())
        waiting.append(transfer)
        if len(waiting) == 1:
            self._start(transfer)

    def _start(self, transfer: _Transfer) -> None:
        counter = transfer.counter = next(self._aps_counter) & 0xFF
        for frame in transfer.frames:  # the transfer's own frames, not yet sent
            frame.counter = counter
        self._send_block(transfer)

    def _finished(self, transfer: _Transfer) -> None:
        """One transfer to a peer at a time [ASSUMED: the receiver reassembles one message per
        source, so blocks of two messages must not interleave]: the next one starts."""
        waiting = self._waiting[transfer.dst]
        waiting.popleft()
        if waiting:
            self._start(waiting[0])

    def _undelivered(self, cluster: int, asdu: bytes) -> bytes:
        """What an ``aps-failed`` event carries of the transfer that failed: nothing here (the
        coordinator gives the GBCS of a TransferData, for the request that sent it)."""
        return b""

    def take_back(self, dst: int, cluster: int) -> list[bytes]:
        """Withdraw the APS data transfers of ``cluster`` to ``dst``, the one in flight too (a
        peer that rejoined takes them only under a new key): their ASDUs, in order; the other
        transfers to ``dst`` go on."""
        waiting = self._waiting.get(dst, deque())
        taken = [t for t in waiting if t.frames[0].cluster == cluster]
        if not taken:
            return []
        in_flight = waiting[0]
        if in_flight.frames[0].cluster == cluster and in_flight.timer is not None:
            in_flight.timer.cancel()
        left = self._waiting[dst] = deque(t for t in waiting if t.frames[0].cluster != cluster)
        if left and left[0] is not in_flight:
            self._start(left[0])
        return [t.asdu for t in taken]

    def send_unacked(
        self,
        dst: int,
        cluster: int,
        profile: int,
        asdu: bytes,
        *,
        endpoint: int,
        broadcast: bool = False,
    ) -> None:
        counter = next(self._aps_counter) & 0xFF
        aps = ApsFrame(
            codec.APS_DATA, counter, asdu, endpoint, cluster, profile, endpoint, broadcast=broadcast
        )
        self._send_aps(dst, aps, secure=False)

    def _send_block(self, transfer: _Transfer) -> None:
        transfer.tries += 1
        self._send_aps(transfer.dst, transfer.frames[transfer.index], secure=transfer.secure)
        peer = self.eui_of(transfer.dst) or bytes(8)
        transfer.key = self.aps_security.current_key(peer) if transfer.secure else None
        at = self.clock.now() + self._ack_wait(transfer.dst)
        transfer.timer = self.clock.call_at(at, self._ack_timeout, transfer)

    def _ack_timeout(self, transfer: _Transfer) -> None:
        peer = self.eui_of(transfer.dst)
        if transfer.tries > self.config.aps_max_retries:
            self._finished(transfer)
            self._event(
                "aps-failed",
                peer,
                f"APS counter {transfer.counter}: no ack after "
                f"{self.config.aps_max_retries} retries",
                data=self._undelivered(transfer.frames[0].cluster, transfer.asdu),
            )
            return
        self._event("aps-retry", peer, f"APS counter {transfer.counter} block {transfer.index}")
        self._send_block(transfer)

    def _on_ack(self, src: int, aps: ApsFrame, key: bytes | None) -> None:
        """An ack that came under the link key ``key`` (None: APS-unsecured). The ack to an
        APS-secured block must be secured under the key the block went under (05-3474
        §2.2.8.4.2, §4.4.1.1); one that is not is refused and the block is sent again when its
        ack wait ends, as for a lost ack. An unsecured block's ack may come either way."""
        waiting = self._waiting.get(src)
        transfer = waiting[0] if waiting else None
        block = aps.block if aps.fragmentation else 0
        if transfer is None or aps.counter != transfer.counter or block != transfer.index:
            return  # a late or duplicated ack
        if transfer.key is not None and key != transfer.key:
            why = (
                "unsecured ack to a secured frame"
                if key is None
                else "ack under another link key than the frame it acknowledges"
            )
            self._event("refused", self.eui_of(src), f"APS: {why}")
            return
        if transfer.timer is not None:
            transfer.timer.cancel()
        transfer.index, transfer.tries = transfer.index + 1, 0
        if transfer.index == len(transfer.frames):
            self._finished(transfer)
            if transfer.on_acked is not None:
                transfer.on_acked()
        else:
            self._send_block(transfer)

    def _ack(self, src: int, aps: ApsFrame, secured_by: bytes | None) -> None:
        """Acknowledge ``aps``, which came APS-secured under the link key with ``secured_by``
        (an EUI-64) or unsecured (None): the ack is secured as the frame was, under the same
        key (05-3474 §2.2.8.4.2, §4.4.1.1): the peer's current key, which is the one the frame
        has just opened under (``ApsSecurity.current_key``)."""
        ack = ApsFrame(
            codec.APS_ACK,
            aps.counter,
            b"",
            aps.src_endpoint,
            aps.cluster,
            aps.profile,
            aps.dst_endpoint,
            fragmentation=aps.fragmentation,
            block=0 if aps.fragmentation == codec.FRAGMENT_FIRST else aps.block,
            ack_bitfield=1 if aps.fragmentation else 0,
        )
        self._send_aps(src, ack, secure=secured_by is not None, peer=secured_by)

    # --- frames in ----------------------------------------------------------------------------

    def receive(self, mac_frame: bytes) -> None:
        """One MAC frame from the radio (without FCS): never raises; a frame that is not
        well formed or not taken becomes a ``dropped`` or ``refused`` event."""
        try:
            mac = codec.mac_decode(mac_frame)
            if mac.frame_type == codec.FRAME_DATA:
                self._receive_nwk(mac)
            else:
                self._mac_frame(mac)
        except FrameError as exc:
            self._event("dropped", None, str(exc))

    def _receive_nwk(self, mac: MacFrame) -> None:
        opened = self.nwk_security.open(mac.payload, allow_unsecured=self._allow_unsecured_nwk())
        if isinstance(opened, Refusal):
            who = self.eui_of(mac.src) if isinstance(mac.src, int) else ext_address(mac.src)
            self._event("refused", who, f"NWK: {opened.reason}")
            return
        nwk = codec.nwk_decode(opened)
        if nwk.secured:
            self._event("refused", nwk.src_ext, "NWK-secured frame this end cannot open")
            return
        if nwk.dst != self.short and nwk.dst < 0xFFFC:
            return  # not for us (no routing: the HAN is a star here)
        if nwk.frame_type == codec.NWK_COMMAND:
            self._nwk_command(mac, nwk)
        else:
            self._receive_aps(nwk)

    def _receive_aps(self, nwk: NwkFrame) -> None:
        head = codec.aps_decode(nwk.payload)
        peer = self.eui_of(nwk.src) or nwk.src_ext or bytes(8)
        data = head.frame_type == codec.APS_DATA and head.profile == SMART_ENERGY_PROFILE
        tunneling = data and head.cluster == TUNNELING_CLUSTER
        required = head.frame_type == codec.APS_COMMAND or (
            data and head.cluster in (TUNNELING_CLUSTER, KEY_ESTABLISHMENT_CLUSTER)
        )
        opened = self.aps_security.open(
            nwk.payload, peer=peer, required=required, established=tunneling
        )
        if isinstance(opened, Refusal):
            self._event("refused", peer, f"APS: {opened.reason}")
            return
        aps = codec.aps_decode(opened)
        if aps.secured:
            self._event("refused", peer, "APS-secured frame this end cannot open")
            return
        if aps.frame_type == codec.APS_ACK:
            key = self.aps_security.current_key(peer) if head.secured else None
            self._on_ack(nwk.src, aps, key)
        elif aps.frame_type == codec.APS_COMMAND:
            self._aps_command(nwk, aps)
        else:
            self._receive_data(nwk.src, aps, peer if head.secured else None)

    def _forget(self, src: int) -> None:
        """A node (re)joined: its APS counter starts again, so forget what it sent before."""
        self._seen = deque((k for k in self._seen if k[0] != src), maxlen=self._seen.maxlen)
        self._reassembly.pop(src, None)

    def _receive_data(self, src: int, aps: ApsFrame, secured_by: bytes | None) -> None:
        if aps.ack_request and not aps.broadcast:
            self._ack(src, aps, secured_by)
        block = aps.block if aps.fragmentation == codec.FRAGMENT_MORE else 0
        key = (src, aps.counter, block)
        if key in self._seen:
            return  # a retry whose ack was lost: acknowledged again, delivered once
        self._seen.append(key)
        reassembly = self._reassembly.setdefault(src, Reassembly())
        asdu = reassembly.feed(aps.counter, aps.fragmentation, aps.block, aps.payload)
        if asdu is None:
            return
        if (aps.profile, aps.cluster) == (SMART_ENERGY_PROFILE, KEY_ESTABLISHMENT_CLUSTER):
            peer = self._key_establishment_peer(src)
            if self.cbke is None or peer is None:
                self._event("refused", self.eui_of(src), "Key Establishment not taken here")
            else:
                self.cbke.receive(src, peer, asdu)
        else:
            self._deliver(src, aps, asdu)


def ext_address(address: codec.Address | None) -> bytes | None:
    return address if isinstance(address, bytes) else None
