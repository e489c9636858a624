"""The device role: an ESME (router-capable, receiver on) or a GSME (sleepy end device) joining
the Comms Hub's HAN and tunnelling GBCS through it.

Join (ZigBee 05-3474 §3.6.1.4.1, IEEE 802.15.4-2006 §7.5.3.1): a beacon request; after the scan
the first beacon that permits association (and carries the wanted extended PAN ID, if one is
set); an association request; a Data Request macResponseWaitTime later fetches the held
response; the network key comes in APS Transport Key (opened with the key-transport key of the
install code's link key, through the APS seam); Device Announce. Then RequestTunnel
(GB-HRGP) and TransferData both ways. A sleepy device polls its parent every ``poll_interval``.

A power cycle keeps :class:`Memory` (what a meter keeps in flash; the NWK frame counters are the
NWK security's to keep): a device built with it does a **secure rejoin** (NWK Rejoin Request
secured with the stored network key, §3.6.1.4.2) instead of a new join. A rejoin that is refused
(a Rejoin Response with a status other than success) or gets no answer within
``StackConfig.rejoin_timeout`` (a trust center that lost the device or changed the network key:
it cannot open the request) makes the device forget the network and **join afresh** with its
install code (association, Transport Key, then Key Establishment again): §3.6.1.4.2 reports the
failed rejoin to the application (NLME-JOIN.confirm), which decides what follows [ASSUMED: the
fallback to association is what ZigBee stacks do, e.g. Digi's XBee "Rejoining" (after failed
rejoin attempts the device joins by association); a trust center rejoin (unsecured NWK, under
the link key) is not tried].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from rig.clock import Clock, TimerHandle
from rig.zigbee import codec
from rig.zigbee.codec import ApsFrame, Beacon, MacFrame, NwkFrame
from rig.zigbee.keyest import Credentials
from rig.zigbee.mmo import link_key
from rig.zigbee.node import Node, StackConfig
from rig.zigbee.seam import ApsSecurity, DeviceRadio, NoSecurity, NwkSecurity, Radio
from rig.zigbee.tunnel import (
    REQUEST_TUNNEL,
    REQUEST_TUNNEL_RESPONSE,
    SMART_ENERGY_PROFILE,
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

#: The ZDO endpoint, and the rx-on, mains-powered FFD capability of an ESME; a GSME is neither.
ZDO_ENDPOINT = 0
ESME_CAPABILITY = codec.CAP_FFD | codec.CAP_MAINS | codec.CAP_RX_ON_IDLE | codec.CAP_ALLOCATE
GSME_CAPABILITY = codec.CAP_ALLOCATE


@dataclass(frozen=True)
class Memory:
    """What survives a power cycle."""

    pan_id: int
    short: int
    trust_center: bytes
    network_key: bytes
    key_seq: int


class Device(Node):
    """A joining device. ``state``: ``idle`` → ``scanning`` → ``associating`` → ``associated``
    → ``joined`` (or ``refused``, ``left``; ``rejoining`` after a power cycle)."""

    def __init__(
        self,
        eui64: bytes,
        clock: Clock,
        radio: Radio,
        *,
        install_code: bytes,
        sleepy: bool = False,
        extended_pan_id: bytes | None = None,
        memory: Memory | None = None,
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
            initiator=True,
        )
        self.install_code = install_code
        self.capability = GSME_CAPABILITY if sleepy else ESME_CAPABILITY
        self.extended_pan_id = extended_pan_id
        self.state = "idle"
        self.trust_center: bytes | None = None
        self.network_key: bytes | None = None
        self.key_seq = 0
        self.tunnel_id: int | None = None
        #: A sleepy device polls while this is set (clear it to model a missed poll).
        self.polling = sleepy
        self._beacons: list[Beacon] = []
        self._poll_timer: TimerHandle | None = None
        self._rejoin_timer: TimerHandle | None = None
        if memory is not None:
            self.pan_id, self.short = memory.pan_id, memory.short
            self.trust_center = memory.trust_center
            self.network_key, self.key_seq = memory.network_key, memory.key_seq
            self.nwk_security.install(memory.network_key, memory.key_seq)
            self.aps_security.install_link_key(memory.trust_center, link_key(install_code))
            cast(DeviceRadio, self.radio).set_pan(self.pan_id, self.short)

    @property
    def sleepy(self) -> bool:
        return not self.capability & codec.CAP_RX_ON_IDLE

    # --- the API ------------------------------------------------------------------------------

    def join(self) -> None:
        """Scan (beacon request), then associate with the first fitting beacon."""
        self.state = "scanning"
        self._beacons.clear()
        request = self._mac(
            frame_type=codec.FRAME_COMMAND,
            dst=codec.BROADCAST,
            dst_pan=codec.BROADCAST_PAN,
            src=None,
            payload=b"",
            command=codec.CMD_BEACON_REQUEST,
        )
        self.radio.transmit(codec.mac_encode(_without_source(request)))
        self.clock.call_at(self.clock.now() + self.config.scan_duration, self._scanned)

    def rejoin(self) -> None:
        """Secure rejoin with the stored network key (after a power cycle)."""
        if self.network_key is None:
            raise ValueError("no network key stored: join instead")
        self.state = "rejoining"
        self.send_nwk(
            codec.COORDINATOR,
            codec.NWK_COMMAND,
            codec.nwk_command(codec.NWK_REJOIN_REQUEST, capability=self.capability),
            secure=True,
            mac_src=self.eui64,
        )
        self._rejoin_timer = self.clock.call_at(
            self.clock.now() + self.config.rejoin_timeout,
            self._rejoin_failed,
            f"no Rejoin Response within {self.config.rejoin_timeout:g} s",
        )
        self._start_polling()

    def _rejoin_failed(self, why: str) -> None:
        """The secure rejoin failed: forget the network and join afresh with the install code."""
        self._rejoin_timer = None
        if self.state != "rejoining":
            return
        self._event("rejoin-failed", self.eui64, f"{why}: joining afresh with the install code")
        self.pan_id, self.short = codec.BROADCAST_PAN, 0xFFFE
        self.trust_center = self.network_key = None
        self.tunnel_id = None
        self.join()

    def memory(self) -> Memory:
        if self.network_key is None or self.trust_center is None:
            raise ValueError("nothing to keep: the device has not joined")
        return Memory(self.pan_id, self.short, self.trust_center, self.network_key, self.key_seq)

    def open_tunnel(self) -> None:
        asdu = zcl_encode(
            ZclCommand(False, self._next_zcl(), REQUEST_TUNNEL, bytes(RequestTunnel()))
        )
        self.send_data(
            codec.COORDINATOR, TUNNELING_CLUSTER, SMART_ENERGY_PROFILE, asdu, secure=True
        )

    def send_transfer_data(self, gbcs: bytes, on_acked: Callable[[], None] | None = None) -> None:
        """GBCS to the Comms Hub; ``on_acked`` once the hub acknowledged all of it."""
        if self.tunnel_id is None:
            raise ValueError("no tunnel open")
        asdu = transfer_data(False, self._next_zcl(), self.tunnel_id, gbcs)
        self.send_data(
            codec.COORDINATOR,
            TUNNELING_CLUSTER,
            SMART_ENERGY_PROFILE,
            asdu,
            secure=True,
            on_acked=on_acked,
        )

    def leave(self, why: str = "left on its own") -> None:
        """Leave the network, telling the parent (NWK Leave without the request bit)."""
        self.send_nwk(
            codec.COORDINATOR, codec.NWK_COMMAND, codec.nwk_command(codec.NWK_LEAVE, options=0)
        )
        self._left(why)

    # --- the roles' hooks ---------------------------------------------------------------------

    def eui_of(self, short: int) -> bytes | None:
        if short == codec.COORDINATOR:
            return self.trust_center
        return self.eui64 if short == self.short else None

    def _key_establishment_peer(self, src: int) -> bytes | None:
        return self.trust_center if src == codec.COORDINATOR and self.state == "joined" else None

    def _establish_key(self) -> None:
        """After a join or rejoin: Key Establishment with the trust center (SE 1.2a §C.3)."""
        if self.cbke is not None and self.trust_center is not None:
            self.cbke.start(codec.COORDINATOR, self.trust_center)

    def _allow_unsecured_nwk(self) -> bool:
        return self.network_key is None

    def _secures_nwk_to(self, dst: int) -> bool:
        return self.network_key is not None

    # --- polling ------------------------------------------------------------------------------

    def _start_polling(self) -> None:
        if self.sleepy and self._poll_timer is None:
            self._poll_timer = self.clock.call_at(
                self.clock.now() + self.config.poll_interval, self._poll_tick
            )

    def _poll_tick(self) -> None:
        self._poll_timer = None
        if self.state in ("left", "refused", "idle"):
            return
        if self.polling:
            self._data_request(self.short)
        self._start_polling()

    def _data_request(self, src: codec.Address) -> None:
        request = self._mac(
            frame_type=codec.FRAME_COMMAND,
            dst=codec.COORDINATOR,
            src=src,
            command=codec.CMD_DATA_REQUEST,
            payload=b"",
        )
        self.radio.transmit(codec.mac_encode(request))

    # --- MAC ----------------------------------------------------------------------------------

    def _mac_frame(self, mac: MacFrame) -> None:
        if mac.frame_type == codec.FRAME_BEACON and self.state == "scanning":
            self._beacons.append(codec.beacon_decode(mac))
        elif mac.command == codec.CMD_ASSOC_RESPONSE and self.state == "associating":
            self._associated(mac)

    def _scanned(self) -> None:
        fitting = [
            b
            for b in self._beacons
            if b.association_permit and self.extended_pan_id in (None, b.extended_pan_id)
        ]
        if not fitting:
            self.state = "idle"
            self._event(
                "refused", self.eui64, f"no beacon permits joining ({len(self._beacons)} heard)"
            )
            return
        beacon = fitting[0]
        self.pan_id, self.state = beacon.pan_id, "associating"
        cast(DeviceRadio, self.radio).set_pan(self.pan_id, self.short)
        request = self._mac(
            frame_type=codec.FRAME_COMMAND,
            dst=beacon.coordinator,
            src=self.eui64,
            src_pan=codec.BROADCAST_PAN,
            command=codec.CMD_ASSOC_REQUEST,
            payload=codec.assoc_request_payload(self.capability),
        )
        self.radio.transmit(codec.mac_encode(request))
        self.clock.call_at(self.clock.now() + self.config.response_wait, self._fetch_response)

    def _fetch_response(self) -> None:
        if self.state == "associating":
            self._data_request(self.eui64)

    def _associated(self, mac: MacFrame) -> None:
        short, status = codec.assoc_response_decode(mac.payload)
        if status != codec.ASSOC_SUCCESS or not isinstance(mac.src, bytes):
            self.state = "refused"
            self._event("refused", self.eui64, f"association status {status}")
            return
        self.short, self.trust_center, self.state = short, mac.src, "associated"
        cast(DeviceRadio, self.radio).set_pan(self.pan_id, short)
        self.aps_security.install_link_key(mac.src, link_key(self.install_code))
        # A new session with the trust center (perhaps a restarted one, whose APS counter
        # starts again): what its APS frames carried before is no duplicate of what comes now.
        self._forget(codec.COORDINATOR)
        self._event("associated", self.eui64, f"short address 0x{short:04X}")
        self._start_polling()

    # --- NWK, APS, Tunneling ------------------------------------------------------------------

    def _nwk_command(self, mac: MacFrame, nwk: NwkFrame) -> None:
        command, fields = codec.nwk_command_decode(nwk.payload)
        if command == codec.NWK_LEAVE and fields[0] & codec.LEAVE_REQUEST:
            self.leave("left: asked by the trust center")
        elif command == codec.NWK_REJOIN_RESPONSE and self.state == "rejoining":
            short, status = int.from_bytes(fields[:2], "little"), fields[2]
            if self._rejoin_timer is not None:
                self._rejoin_timer.cancel()
            if status:
                self._rejoin_failed(f"rejoin refused with status {status}")
                return
            self.short, self.state = short, "joined"
            cast(DeviceRadio, self.radio).set_pan(self.pan_id, short)
            self._event("rejoined", self.eui64, f"short address 0x{short:04X}")
            self._announce()
            self._establish_key()

    def _aps_command(self, nwk: NwkFrame, aps: ApsFrame) -> None:
        if self.state != "associated":
            return
        key, key_seq, dst, _src = codec.transport_key_decode(aps.payload)
        if dst != self.eui64:
            self._event("refused", self.eui64, "Transport Key for another device")
            return
        self.network_key, self.key_seq = key, key_seq
        self.nwk_security.install(key, key_seq)
        self.state = "joined"
        self._event("joined", self.eui64, f"network key sequence {key_seq}")
        self._announce()
        self._establish_key()

    def _announce(self) -> None:
        payload = codec.device_annce(self._next_zcl(), self.short, self.eui64, self.capability)
        self.send_unacked(
            codec.BROADCAST_RX_ON,
            codec.DEVICE_ANNCE,
            codec.ZDO_PROFILE,
            payload,
            endpoint=ZDO_ENDPOINT,
            broadcast=True,
        )

    def _deliver(self, src: int, aps: ApsFrame, asdu: bytes) -> None:
        if src != codec.COORDINATOR or (aps.profile, aps.cluster) != (
            SMART_ENERGY_PROFILE,
            TUNNELING_CLUSTER,
        ):
            return
        command = zcl_decode(asdu)
        if not command.from_server:
            return
        if command.command == REQUEST_TUNNEL_RESPONSE:
            answer = RequestTunnelResponse(command.body)
            if answer.status == TUNNEL_SUCCESS:
                self.tunnel_id = answer.tunnel_id
                self._event("tunnel-open", self.eui64, f"tunnel {answer.tunnel_id}")
            else:
                self._event("refused", self.eui64, f"RequestTunnel status {answer.status}")
            return
        tunnel_id, data = transfer_data_decode(command)
        if tunnel_id != self.tunnel_id:
            self._event("refused", self.eui64, f"TransferData on tunnel {tunnel_id}, not ours")
            return
        self._event("transfer-data", self.eui64, f"{len(data)} bytes", data=data)

    def _left(self, why: str) -> None:
        self.state, self.network_key, self.tunnel_id = "left", None, None
        self._event("left", self.eui64, why)


def _without_source(mac: MacFrame) -> MacFrame:
    """A beacon request carries no source address (§7.3.7)."""
    return MacFrame(
        mac.frame_type,
        mac.seq,
        False,
        False,
        mac.dst_pan,
        mac.dst,
        None,
        None,
        mac.command,
        mac.payload,
    )
