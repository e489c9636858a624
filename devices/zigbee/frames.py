"""GBCS in 802.15.4 / ZigBee NWK / APS / ZCL Tunneling TransferData frames, built and parsed
with scapy; APS fragmentation when a message exceeds one frame. Pure: bytes in, bytes out.

Scope: unsecured NWK and APS frames (the HAN's CCM* security and key establishment are not
modelled), no MAC or APS acknowledgements, no fragment retransmission window.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from scapy.layers.dot15d4 import Dot15d4Data, Dot15d4FCS
from scapy.layers.zigbee import ZigbeeAppDataPayload, ZigbeeClusterLibrary, ZigbeeNWK
from scapy.packet import Packet

from rig.zigbee.aps import MAX_BLOCKS, Reassembly, fragments
from rig.zigbee.codec import FRAGMENT_FIRST, FRAGMENT_NONE, FrameError
from rig.zigbee.tunnel import SMART_ENERGY_PROFILE, TUNNELING_CLUSTER, ZCLTunnelingTransferData

#: Tunneling TransferData: client to server 0x02, server to client 0x01 (ZigBee SE 1.x).
TRANSFER_DATA = {False: 0x02, True: 0x01}
#: aMaxPHYPacketSize: the largest PSDU, FCS included.
MAX_PSDU = 127


@dataclass(frozen=True)
class Node:
    """A ZigBee node's address on the PAN and the Smart Energy endpoint it tunnels from."""

    short_addr: int
    endpoint: int = 1
    #: True for the tunnel's server end (the Comms Hub), False for a client (a meter).
    tunnel_server: bool = False


@dataclass(frozen=True)
class Tunnel:
    """Both ends of one tunnel on one PAN."""

    pan_id: int
    local: Node
    remote: Node
    tunnel_id: int = 1

    def reversed(self) -> Tunnel:
        return Tunnel(self.pan_id, self.remote, self.local, self.tunnel_id)


#: A PSDU that is not a well-formed tunnel frame for us.
ZigbeeFrameError = FrameError


def _headers(tunnel: Tunnel, mac_seq: int, nwk_seq: int, aps: ZigbeeAppDataPayload) -> Packet:
    local, remote = tunnel.local, tunnel.remote
    return (
        Dot15d4FCS(
            fcf_frametype=1,
            fcf_panidcompress=1,
            fcf_destaddrmode=2,
            fcf_srcaddrmode=2,
            seqnum=mac_seq & 0xFF,
        )
        / Dot15d4Data(
            dest_panid=tunnel.pan_id, dest_addr=remote.short_addr, src_addr=local.short_addr
        )
        / ZigbeeNWK(
            frametype=0,
            discover_route=1,
            destination=remote.short_addr,
            source=local.short_addr,
            radius=30,
            seqnum=nwk_seq & 0xFF,
        )
        / aps
    )


def _aps(tunnel: Tunnel, counter: int, fragmentation: int, block: int) -> ZigbeeAppDataPayload:
    fields: dict[str, object] = {}
    if fragmentation != FRAGMENT_NONE:
        fields = {
            "frame_control": "extended_hdr",
            "fragmentation": fragmentation,
            "block_number": block,
        }
    else:
        fields = {"frame_control": 0}
    return ZigbeeAppDataPayload(
        delivery_mode=0,
        aps_frametype=0,
        dst_endpoint=tunnel.remote.endpoint,
        cluster=TUNNELING_CLUSTER,
        profile=SMART_ENERGY_PROFILE,
        src_endpoint=tunnel.local.endpoint,
        counter=counter & 0xFF,
        **fields,
    )


def _overhead(fragmented: bool) -> int:
    probe = Tunnel(0, Node(0), Node(0))
    aps = _aps(probe, 0, FRAGMENT_FIRST if fragmented else FRAGMENT_NONE, 1)
    return len(bytes(_headers(probe, 0, 0, aps)))


#: Largest APS payload (ASDU) in one unfragmented frame, and per fragment.
MAX_ASDU = MAX_PSDU - _overhead(False)
MAX_BLOCK = MAX_PSDU - _overhead(True)
_ZCL_HEADER = 3  # frame control, transaction sequence, command (no manufacturer code)
_ZCL_AND_TUNNEL_ID = _ZCL_HEADER + 2
#: Largest GBCS message: 255 blocks of one ASDU (the APS block-number limit).
MAX_GBCS = MAX_BLOCKS * MAX_BLOCK - _ZCL_AND_TUNNEL_ID


@dataclass
class Encoder:
    """One sender's sequence numbers (MAC, NWK, APS counter, ZCL transaction)."""

    tunnel: Tunnel
    _mac: itertools.count[int] = field(default_factory=itertools.count)
    _nwk: itertools.count[int] = field(default_factory=itertools.count)
    _aps: itertools.count[int] = field(default_factory=itertools.count)
    _zcl: itertools.count[int] = field(default_factory=itertools.count)

    def encode(self, gbcs: bytes) -> list[bytes]:
        """The PSDUs (FCS included) carrying one GBCS message, in order."""
        if not gbcs:
            raise ValueError("empty GBCS message")
        if len(gbcs) > MAX_GBCS:
            raise ValueError(f"GBCS message of {len(gbcs)} bytes exceeds {MAX_GBCS}")
        tunnel = self.tunnel
        zcl = ZigbeeClusterLibrary(
            zcl_frametype=1,
            command_direction=int(tunnel.local.tunnel_server),
            disable_default_response=1,
            transaction_sequence=next(self._zcl) & 0xFF,
            command_identifier=TRANSFER_DATA[tunnel.local.tunnel_server],
        )
        asdu = bytes(zcl / ZCLTunnelingTransferData(tunnel_id=tunnel.tunnel_id, data=gbcs))
        counter = next(self._aps)
        blocks = fragments(asdu, MAX_ASDU, MAX_BLOCK)
        return [
            bytes(
                _headers(
                    tunnel, next(self._mac), next(self._nwk), _aps(tunnel, counter, kind, block)
                )
                / payload
            )
            for kind, block, payload in blocks
        ]


@dataclass(frozen=True)
class Block:
    """One parsed PSDU: who sent it, its APS counter and fragment position, its bytes."""

    source: int
    counter: int
    fragmentation: int
    block_number: int
    payload: bytes


def parse(psdu: bytes, tunnel: Tunnel) -> Block:
    """Check a PSDU is a tunnel frame from ``tunnel.remote`` to ``tunnel.local``."""
    if len(psdu) < 5 or Dot15d4FCS.compute_fcs(None, psdu[:-2]) != psdu[-2:]:
        raise ZigbeeFrameError("bad 802.15.4 FCS")
    try:
        frame = Dot15d4FCS(psdu)
    except Exception as exc:  # scapy raises anything on garbage
        raise ZigbeeFrameError(f"undecodable PSDU: {exc}") from None
    if ZigbeeAppDataPayload not in frame or Dot15d4Data not in frame:
        raise ZigbeeFrameError(f"not a ZigBee APS data frame: {frame.summary()}")
    mac, nwk, aps = frame[Dot15d4Data], frame[ZigbeeNWK], frame[ZigbeeAppDataPayload]
    if mac.dest_panid != tunnel.pan_id or nwk.destination != tunnel.local.short_addr:
        raise ZigbeeFrameError(f"not for us: PAN 0x{mac.dest_panid:04x} to 0x{nwk.destination:04x}")
    if nwk.source != tunnel.remote.short_addr:
        raise ZigbeeFrameError(f"from unknown node 0x{nwk.source:04x}")
    if aps.profile != SMART_ENERGY_PROFILE or aps.cluster != TUNNELING_CLUSTER:
        raise ZigbeeFrameError(
            f"not Tunneling: profile 0x{aps.profile:04x} cluster 0x{aps.cluster:04x}"
        )
    extended = aps.frame_control.extended_hdr
    fragmentation = aps.fragmentation if extended else FRAGMENT_NONE
    block = aps.block_number if extended and fragmentation else 0
    return Block(nwk.source, aps.counter, fragmentation, block, bytes(aps.payload))


def transfer_data(asdu: bytes, tunnel: Tunnel) -> bytes:
    """The GBCS message in a reassembled ASDU (ZCL TransferData from the remote end)."""
    # The header alone: scapy's ZCL payload dispatch needs the APS layer underneath.
    zcl = ZigbeeClusterLibrary(asdu[:_ZCL_HEADER])
    expected = TRANSFER_DATA[tunnel.remote.tunnel_server]
    if zcl.zcl_frametype != 1 or zcl.command_identifier != expected or zcl.manufacturer_specific:
        raise ZigbeeFrameError(f"not a Tunneling TransferData: {zcl.summary()}")
    body = ZCLTunnelingTransferData(asdu[_ZCL_HEADER:])
    if not body.data:
        raise ZigbeeFrameError("TransferData without data")
    if body.tunnel_id != tunnel.tunnel_id:
        raise ZigbeeFrameError(f"tunnel {body.tunnel_id}, expected {tunnel.tunnel_id}")
    return bytes(body.data)


@dataclass
class Reassembler:
    """Collects APS fragments from the remote end (:class:`rig.zigbee.aps.Reassembly`)."""

    tunnel: Tunnel
    _blocks: Reassembly = field(default_factory=Reassembly)

    @property
    def abandoned(self) -> int:
        return self._blocks.abandoned

    def feed(self, psdu: bytes) -> bytes | None:
        """Take one PSDU; return a whole GBCS message when this completed one. Raises
        ZigbeeFrameError for a frame that is not ours or not well formed."""
        block = parse(psdu, self.tunnel)
        asdu = self._blocks.feed(
            block.counter, block.fragmentation, block.block_number, block.payload
        )
        return None if asdu is None else transfer_data(asdu, self.tunnel)
