"""The coordinator and trust center: the rig as Comms Hub of the HAN.

- Beacon requests get a beacon with the association permit and the extended PAN ID
  (IEEE 802.15.4-2006 §7.5.2.4.3, ZigBee 05-3474 §3.6.7).
- MAC association (§7.5.3.1): the **device log** (EUI-64 → install code with its CRC, as SRV 8.11
  fills it) decides; a device not on it, or whose code's CRC is wrong, is answered "PAN access
  denied" and a ``refused`` event says why. An accepted one gets a short address, its link key
  (AES-MMO of the install code, Annex B.6) is installed in the APS seam, and the network key
  goes to it in an APS Transport Key (§4.6.3.2: NWK unsecured, APS secured with the
  key-transport key). Device Announce completes the join; none within ``join_timeout``
  (a joiner that could not open the key: a wrong install code) is a ``refused`` event.
- **Indirect transmission** (§7.5.6.3) for sleepy children and association responses: frames are
  held until the device polls (MAC Data Request), the radio's source-match table sets "frame
  pending" in the ACK of the poll, and a held frame expires after macTransactionPersistenceTime
  (an ``expired`` event).
- Secure rejoin (§3.6.1.4.2), leave both ways (§3.6.1.10), the Tunneling server (GBCS both ways).
- **The device log changes live** (SRV 8.11: CCS01 :meth:`Coordinator.log_device`, CCS02
  :meth:`Coordinator.unlog_device`): a device added may join from then on; a device removed is
  refused at its next join or rejoin and, if it is on the network, asked to leave (NWK Leave with
  the request bit, §3.4.4, §3.6.1.10.2) and forgotten by the trust center at once.
- **A tunnel across a rejoin**: a device that rejoins (or joins again) after it had a tunnel
  takes Tunneling only once Key Establishment has run again (SE 1.2a §5.4.7), so from the rejoin
  until it asks for its tunnel again the GBCS for it is **held** (up to
  ``StackConfig.tunnel_queue`` frames, then refused with the reason), the TransferData in flight
  to it taken back into that queue, and all of it sent in order once the tunnel is open again.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from rig.clock import Clock, TimerHandle
from rig.zigbee import codec
from rig.zigbee.codec import ApsFrame, MacFrame, NwkFrame
from rig.zigbee.keyest import Credentials
from rig.zigbee.mmo import InstallCodeError, link_key
from rig.zigbee.node import Node, StackConfig, ext_address
from rig.zigbee.seam import ApsSecurity, NoSecurity, NwkSecurity, Radio
from rig.zigbee.tunnel import (
    GB_HRGP,
    REQUEST_TUNNEL,
    REQUEST_TUNNEL_RESPONSE,
    SERVER_TRANSFER_DATA,
    SMART_ENERGY_PROFILE,
    TUNNEL_PROTOCOL_NOT_SUPPORTED,
    TUNNEL_SUCCESS,
    TUNNELING_CLUSTER,
    RequestTunnel,
    RequestTunnelResponse,
    ZclCommand,
    transfer_data,
    transfer_data_decode,
    zcl_decode,
    zcl_encode,
)


@dataclass
class Child:
    """A device that associated: its address, capability and where its join stands
    (``associated`` → ``key-sent`` → ``joined``)."""

    eui64: bytes
    short: int
    capability: int
    state: str = "associated"
    tunnel_id: int | None = None
    join_timer: TimerHandle | None = None

    @property
    def sleepy(self) -> bool:
        return not self.capability & codec.CAP_RX_ON_IDLE


@dataclass
class _Held:
    frames: deque[tuple[MacFrame, TimerHandle]] = field(default_factory=deque)


class Coordinator(Node):
    """The PAN coordinator and trust center (short address 0x0000)."""

    def __init__(
        self,
        eui64: bytes,
        clock: Clock,
        radio: Radio,
        *,
        pan_id: int,
        extended_pan_id: bytes,
        network_key: bytes,
        device_log: dict[bytes, bytes],
        nwk_security: NwkSecurity | None = None,
        aps_security: ApsSecurity | None = None,
        config: StackConfig | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        super().__init__(
            eui64,
            clock,
            radio,
            nwk_security=nwk_security or NoSecurity(),
            aps_security=aps_security or NoSecurity(),
            config=config,
            credentials=credentials,
            initiator=False,
        )
        self.pan_id, self.short = pan_id, codec.COORDINATOR
        self.extended_pan_id = extended_pan_id
        self.network_key = network_key
        self.key_seq = 0
        #: EUI-64 → install code with its CRC (the Comms Hub's device log).
        self.device_log = device_log
        self.permit_joining = True
        self.children: dict[bytes, Child] = {}
        self._held: dict[codec.Address, _Held] = {}
        #: Per device whose tunnel is held across its rejoin: the GBCS waiting for it.
        self._tunnel_held: dict[bytes, deque[bytes]] = {}
        self.nwk_security.install(network_key, self.key_seq)

    # --- the API ------------------------------------------------------------------------------

    def send_transfer_data(self, eui64: bytes, gbcs: bytes) -> None:
        """GBCS to a device through its open tunnel (TransferData, server to client), or held
        for it while it rejoins; ValueError with the reason if neither."""
        held = self._tunnel_held.get(eui64)
        if held is not None:
            if len(held) >= self.config.tunnel_queue:
                raise ValueError(
                    f"device {eui64.hex().upper()} is rejoining and {len(held)} GBCS frames "
                    "already wait for its tunnel (StackConfig.tunnel_queue)"
                )
            held.append(gbcs)
            return
        child = self._joined(eui64)
        if child.tunnel_id is None:
            raise ValueError(f"device {eui64.hex().upper()} has no tunnel open")
        asdu = transfer_data(True, self._next_zcl(), child.tunnel_id, gbcs)
        self.send_data(child.short, TUNNELING_CLUSTER, SMART_ENERGY_PROFILE, asdu, secure=True)

    def request_leave(self, eui64: bytes) -> None:
        """Ask a device to leave the network (NWK Leave with the request bit)."""
        child = self._joined(eui64)
        self.send_nwk(
            child.short,
            codec.NWK_COMMAND,
            codec.nwk_command(codec.NWK_LEAVE, options=codec.LEAVE_REQUEST),
        )

    @property
    def holding(self) -> int:
        """How many frames wait for a sleepy child's poll."""
        return sum(len(held.frames) for held in self._held.values())

    def log_device(self, eui64: bytes, install_code: bytes) -> None:
        """Put ``eui64`` on the device log with ``install_code`` (with its CRC): it may join from
        now on. A device already on the network keeps its place; the new code is its link key
        from its next join [ASSUMED: the trust center changes keys only at a join]."""
        self.device_log[eui64] = install_code

    def unlog_device(self, eui64: bytes) -> None:
        """Take ``eui64`` off the device log: refused at its next join or rejoin. If it is on
        the network it is asked to leave (NWK Leave, request bit) and forgotten at once, so
        nothing more of it is taken (its Tunneling, a Device Announce) whether or not it obeys
        [ASSUMED: 05-3474 §4.6.3.6 has the trust center remove a device through its parent,
        here itself; a Network Key update after a removal is not modelled]."""
        self.device_log.pop(eui64, None)
        child = self.children.get(eui64)
        if child is None:
            return
        if child.state == "joined":
            self.request_leave(eui64)
        self._tunnel_held.pop(eui64, None)
        if self.cbke is not None:
            self.cbke.forget(eui64)
        self._remove(child, "removed from the device log: asked to leave (NWK Leave request)")

    def _joined(self, eui64: bytes) -> Child:
        child = self.children.get(eui64)
        if child is None or child.state != "joined":
            raise ValueError(f"device {eui64.hex().upper()} has not joined")
        return child

    # --- the roles' hooks ---------------------------------------------------------------------

    def eui_of(self, short: int) -> bytes | None:
        if short == self.short:
            return self.eui64
        return next((c.eui64 for c in self.children.values() if c.short == short), None)

    def _child(self, short: int) -> Child | None:
        eui = self.eui_of(short)
        return None if eui is None else self.children.get(eui)

    def _key_establishment_peer(self, src: int) -> bytes | None:
        child = self._child(src)
        return child.eui64 if child is not None and child.state == "joined" else None

    def _hold_tunnel(self, child: Child | None) -> None:
        """``child`` (re)joined: if it had a tunnel, its GBCS waits until it opens it again,
        what was in flight to it first."""
        if child is None or (child.tunnel_id is None and child.eui64 not in self._tunnel_held):
            return
        held = self._tunnel_held.setdefault(child.eui64, deque())
        for asdu in reversed(self.take_back(child.short, TUNNELING_CLUSTER)):
            gbcs = _gbcs_sent(asdu)
            if gbcs is not None:
                held.appendleft(gbcs)
        child.tunnel_id = None

    def _undelivered(self, cluster: int, asdu: bytes) -> bytes:
        gbcs = _gbcs_sent(asdu) if cluster == TUNNELING_CLUSTER else None
        return gbcs or b""

    def _install_code_key(self, eui: bytes) -> None:
        """The link key from ``eui``'s install code (Annex B.6), until CBKE replaces it."""
        self.aps_security.install_link_key(eui, link_key(self.device_log[eui]))
        if self.cbke is not None:
            self.cbke.forget(eui)

    def _allow_unsecured_nwk(self) -> bool:
        return False

    def _secures_nwk_to(self, dst: int) -> bool:
        child = self._child(dst)
        return dst >= 0xFFFC or (child is not None and child.state == "joined")

    def _ack_wait(self, dst: int) -> float:
        """A sleepy child gets a frame only when it polls: the ack may come a persistence time
        later [ASSUMED: apsAckWaitDuration + macTransactionPersistenceTime]."""
        child = self._child(dst)
        extra = self.config.persistence if child is not None and child.sleepy else 0.0
        return self.config.aps_ack_wait + extra

    def _send_mac(self, mac: MacFrame) -> None:
        dst = mac.dst
        child = self.children.get(dst) if isinstance(dst, bytes) else self._child(dst or 0)
        if mac.command == codec.CMD_ASSOC_RESPONSE and dst is not None:
            self._hold(dst, mac)  # the joiner polls for it from its EUI-64
        elif child is not None and child.sleepy:
            self._hold(child.short, mac)
        else:
            super()._send_mac(mac)

    # --- indirect transmission ----------------------------------------------------------------

    def _hold(self, address: codec.Address, mac: MacFrame) -> None:
        held = self._held.setdefault(address, _Held())
        if not held.frames:
            self.radio.add_pending(address)
        timer = self.clock.call_at(
            self.clock.now() + self.config.persistence, self._expire, address, mac
        )
        held.frames.append((mac, timer))

    def _expire(self, address: codec.Address, mac: MacFrame) -> None:
        held = self._held[address]
        held.frames = deque(entry for entry in held.frames if entry[0] is not mac)
        who = address if isinstance(address, bytes) else self.eui_of(address)
        self._event(
            "expired",
            who,
            f"frame held {self.config.persistence} s for "
            f"{_name(address)} without a poll (macTransactionPersistenceTime)",
        )
        if not held.frames:
            self.radio.clear_pending(address)

    def _poll(self, address: codec.Address) -> None:
        """A Data Request: the first held frame goes, frame pending set if more wait."""
        held = self._held.get(address)
        if held is None or not held.frames:
            return
        mac, timer = held.frames.popleft()
        timer.cancel()
        if not held.frames:
            self.radio.clear_pending(address)
        self.radio.transmit(codec.mac_encode(_with_pending(mac, bool(held.frames))))
        if mac.command == codec.CMD_ASSOC_RESPONSE and isinstance(mac.dst, bytes):
            self._after_association(mac.dst)

    # --- MAC ----------------------------------------------------------------------------------

    def _mac_frame(self, mac: MacFrame) -> None:
        if mac.command == codec.CMD_BEACON_REQUEST:
            beacon = self._mac(
                frame_type=codec.FRAME_BEACON,
                dst=None,
                payload=codec.beacon_payload(self.permit_joining, self.extended_pan_id),
            )
            self.radio.transmit(codec.mac_encode(beacon))
        elif mac.command == codec.CMD_ASSOC_REQUEST and isinstance(mac.src, bytes):
            self._associate(mac.src, mac.payload[0] if mac.payload else 0)
        elif mac.command == codec.CMD_DATA_REQUEST and mac.src is not None:
            self._poll(mac.src)

    def _associate(self, eui: bytes, capability: int) -> None:
        reason = self._refusal(eui)
        if reason:
            self._event("refused", eui, reason)
            self._respond(eui, 0xFFFF, codec.ASSOC_DENIED)
            return
        known = self.children.get(eui)
        self._hold_tunnel(known)
        short = known.short if known else self._free_short()
        self.children[eui] = Child(eui, short, capability)
        self._forget(short)
        self._install_code_key(eui)
        self._event("associated", eui, f"short address 0x{short:04X}")
        self._respond(eui, short, codec.ASSOC_SUCCESS)

    def _refusal(self, eui: bytes) -> str:
        if not self.permit_joining:
            return "joining is not permitted"
        code = self.device_log.get(eui)
        if code is None:
            return f"EUI-64 {eui.hex().upper()} is not on the device log"
        try:
            link_key(code)
        except InstallCodeError as exc:
            return f"device log entry: {exc}"
        return ""

    def _respond(self, eui: bytes, short: int, status: int) -> None:
        payload = codec.assoc_response_payload(short, status)
        self._send_mac(
            self._mac(
                frame_type=codec.FRAME_COMMAND,
                dst=eui,
                src=self.eui64,
                command=codec.CMD_ASSOC_RESPONSE,
                payload=payload,
            )
        )

    def _free_short(self) -> int:
        used = {c.short for c in self.children.values()}
        return next(s for s in range(1, 0xFFF8) if s not in used)

    def _after_association(self, eui: bytes) -> None:
        """The association response went: send the network key (Transport Key)."""
        child = self.children.get(eui)
        if child is None or child.state != "associated":
            return
        payload = codec.transport_key(self.network_key, self.key_seq, eui, self.eui64)
        aps = ApsFrame(codec.APS_COMMAND, next(self._aps_counter) & 0xFF, payload)
        self._send_aps(child.short, aps, secure=True, key_transport=True, nwk_secure=False)
        child.state = "key-sent"
        child.join_timer = self.clock.call_at(
            self.clock.now() + self.config.join_timeout, self._join_timeout, child
        )

    def _join_timeout(self, child: Child) -> None:
        if self.children.get(child.eui64) is child and child.state != "joined":
            del self.children[child.eui64]
            self._event(
                "refused",
                child.eui64,
                f"no Device Announce {self.config.join_timeout}"
                " s after Transport Key (the device could not open it: wrong install "
                "code?)",
            )

    # --- NWK, APS, ZDO, Tunneling -------------------------------------------------------------

    def _nwk_command(self, mac: MacFrame, nwk: NwkFrame) -> None:
        command, fields = codec.nwk_command_decode(nwk.payload)
        child = self._child(nwk.src)
        if command == codec.NWK_LEAVE and child is not None and not fields[0] & codec.LEAVE_REQUEST:
            self._remove(child)
        elif command == codec.NWK_REJOIN_REQUEST:
            self._rejoin(mac, nwk, fields[0])

    def _remove(self, child: Child, why: str = "") -> None:
        del self.children[child.eui64]
        if child.join_timer is not None:
            child.join_timer.cancel()
        where = f"short address 0x{child.short:04X}"
        self._event("left", child.eui64, f"{where}: {why}" if why else where)

    def _rejoin(self, mac: MacFrame, nwk: NwkFrame, capability: int) -> None:
        """A secure rejoin (the request came NWK-secured with the network key): the device
        keeps its short address."""
        eui = nwk.src_ext or ext_address(mac.src)
        if eui is None or self._refusal(eui):
            self._event("refused", eui, f"rejoin: {self._refusal(eui) if eui else 'no EUI-64'}")
            if eui is not None:  # answered, so the device need not wait to join afresh
                refusal = codec.nwk_command(
                    codec.NWK_REJOIN_RESPONSE,
                    network_address=0xFFFF,
                    rejoin_status=codec.ASSOC_DENIED,
                )
                self.send_nwk(nwk.src, codec.NWK_COMMAND, refusal, secure=True, mac_dst=eui)
            return
        child = self.children.get(eui) or Child(eui, nwk.src, capability)
        self._hold_tunnel(child)
        child.capability, child.state = capability, "joined"
        self._forget(child.short)
        self.children[eui] = child
        self._install_code_key(eui)
        payload = codec.nwk_command(
            codec.NWK_REJOIN_RESPONSE, network_address=child.short, rejoin_status=0
        )
        self.send_nwk(child.short, codec.NWK_COMMAND, payload, mac_dst=eui)
        self._event("rejoined", eui, f"short address 0x{child.short:04X}")

    def _aps_command(self, nwk: NwkFrame, aps: ApsFrame) -> None:
        self._event("dropped", self.eui_of(nwk.src), f"APS command 0x{aps.payload[:1].hex()}")

    def _deliver(self, src: int, aps: ApsFrame, asdu: bytes) -> None:
        if (aps.profile, aps.cluster) == (codec.ZDO_PROFILE, codec.DEVICE_ANNCE):
            self._announced(asdu)
        elif (aps.profile, aps.cluster) == (SMART_ENERGY_PROFILE, TUNNELING_CLUSTER):
            child = self._child(src)
            if child is None or child.state != "joined":
                self._event("refused", None, f"Tunneling from 0x{src:04X}, not a joined device")
                return
            self._tunneling(child, zcl_decode(asdu))

    def _announced(self, asdu: bytes) -> None:
        short, eui, capability = codec.device_annce_decode(asdu)
        child = self.children.get(eui)
        if child is None or child.short != short:
            self._event("dropped", eui, f"Device Announce of 0x{short:04X}, not our child")
            return
        child.capability = capability
        if child.join_timer is not None:
            child.join_timer.cancel()
            child.join_timer = None
        if child.state != "joined":
            child.state = "joined"
            self._event("joined", eui, f"short address 0x{short:04X}")
        self._event("announced", eui, f"short address 0x{short:04X}")

    def _tunneling(self, child: Child, command: ZclCommand) -> None:
        if command.from_server:
            return
        if command.command == REQUEST_TUNNEL:
            request = RequestTunnel(command.body)
            ok = request.protocol_id == GB_HRGP
            if ok:
                child.tunnel_id = child.short  # one tunnel per device [ASSUMED: id = short]
                self._event("tunnel-open", child.eui64, f"tunnel {child.tunnel_id}")
            answer = RequestTunnelResponse(
                tunnel_id=child.tunnel_id or 0,
                status=TUNNEL_SUCCESS if ok else TUNNEL_PROTOCOL_NOT_SUPPORTED,
            )
            asdu = zcl_encode(ZclCommand(True, command.seq, REQUEST_TUNNEL_RESPONSE, bytes(answer)))
            self.send_data(child.short, TUNNELING_CLUSTER, SMART_ENERGY_PROFILE, asdu, secure=True)
            if ok:
                for gbcs in self._tunnel_held.pop(child.eui64, ()):
                    self.send_transfer_data(child.eui64, gbcs)
            return
        tunnel_id, data = transfer_data_decode(command)
        if tunnel_id != child.tunnel_id:
            self._event("refused", child.eui64, f"TransferData on tunnel {tunnel_id}, not open")
            return
        self._event("transfer-data", child.eui64, f"{len(data)} bytes", data=data)


def _gbcs_sent(asdu: bytes) -> bytes | None:
    """The GBCS of a TransferData the hub sent (server to client), None for another command."""
    command = zcl_decode(asdu)
    return transfer_data_decode(command)[1] if command.command == SERVER_TRANSFER_DATA else None


def _with_pending(mac: MacFrame, pending: bool) -> MacFrame:
    return MacFrame(
        mac.frame_type,
        mac.seq,
        mac.ack_request,
        pending,
        mac.dst_pan,
        mac.dst,
        mac.src_pan,
        mac.src,
        mac.command,
        mac.payload,
    )


def _name(address: codec.Address) -> str:
    return address.hex().upper() if isinstance(address, bytes) else f"0x{address:04X}"
