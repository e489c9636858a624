"""GBCS in 802.15.4 / ZigBee NWK / APS / ZCL Tunneling TransferData frames, built and parsed
with scapy; APS fragmentation when a message exceeds one frame. Pure: bytes in, bytes out.

Scope: unsecured NWK and APS frames (the HAN's CCM* security and key establishment are not
modelled), no MAC or APS acknowledgements, no fragment retransmission window.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from scapy.config import conf
from scapy.fields import LEShortField, StrField
from scapy.layers.dot15d4 import Dot15d4Data, Dot15d4FCS
from scapy.layers.zigbee import ZigbeeAppDataPayload, ZigbeeClusterLibrary, ZigbeeNWK
from scapy.packet import Packet

conf.dot15d4_protocol = "zigbee"  # dissect 802.15.4 data frames as ZigBee NWK (not 6LoWPAN)

SMART_ENERGY_PROFILE = 0x0109
TUNNELING_CLUSTER = 0x0704
#: Tunneling TransferData: client to server 0x02, server to client 0x01 (ZigBee SE 1.x).
TRANSFER_DATA = {False: 0x02, True: 0x01}
#: aMaxPHYPacketSize: the largest PSDU, FCS included.
MAX_PSDU = 127

_FRAGMENT_NONE, _FRAGMENT_FIRST, _FRAGMENT_MORE = 0, 1, 2
_MAX_BLOCKS = 255


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


class ZCLTunnelingTransferData(Packet):
    """Tunneling cluster TransferData (either direction): tunnel id, then the data to the end
    of the ASDU (no length prefix). scapy has no Tunneling commands of its own."""

    name = "ZCL Tunneling TransferData"
    fields_desc = [LEShortField("tunnel_id", 0), StrField("data", b"")]  # noqa: RUF012 (scapy API)


class ZigbeeFrameError(ValueError):
    """A PSDU that is not a well-formed tunnel frame for us."""


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
    if fragmentation != _FRAGMENT_NONE:
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
    aps = _aps(probe, 0, _FRAGMENT_FIRST if fragmented else _FRAGMENT_NONE, 1)
    return len(bytes(_headers(probe, 0, 0, aps)))


#: Largest APS payload (ASDU) in one unfragmented frame, and per fragment.
MAX_ASDU = MAX_PSDU - _overhead(False)
MAX_BLOCK = MAX_PSDU - _overhead(True)
_ZCL_HEADER = 3  # frame control, transaction sequence, command (no manufacturer code)
_ZCL_AND_TUNNEL_ID = _ZCL_HEADER + 2
#: Largest GBCS message: 255 blocks of one ASDU (the APS block-number limit).
MAX_GBCS = _MAX_BLOCKS * MAX_BLOCK - _ZCL_AND_TUNNEL_ID


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
        if len(asdu) <= MAX_ASDU:
            blocks = [(_FRAGMENT_NONE, 0, asdu)]
        else:
            chunks = [asdu[i : i + MAX_BLOCK] for i in range(0, len(asdu), MAX_BLOCK)]
            blocks = [(_FRAGMENT_FIRST, len(chunks), chunks[0])]
            blocks += [(_FRAGMENT_MORE, i, chunk) for i, chunk in enumerate(chunks[1:], 1)]
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
    fragmentation = aps.fragmentation if extended else _FRAGMENT_NONE
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
    """Collects APS fragments from the remote end; one message in progress at a time (a new
    APS counter abandons an unfinished one)."""

    tunnel: Tunnel
    _counter: int | None = None
    _total: int = 0
    _blocks: dict[int, bytes] = field(default_factory=dict)
    abandoned: int = 0

    def feed(self, psdu: bytes) -> bytes | None:
        """Take one PSDU; return a whole GBCS message when this completed one. Raises
        ZigbeeFrameError for a frame that is not ours or not well formed."""
        block = parse(psdu, self.tunnel)
        if block.fragmentation == _FRAGMENT_NONE:
            self._reset()
            return transfer_data(block.payload, self.tunnel)
        if block.fragmentation == _FRAGMENT_FIRST:
            if self._counter is not None:
                self.abandoned += 1
            if block.block_number < 2:
                raise ZigbeeFrameError(f"first fragment of {block.block_number} blocks")
            self._counter, self._total = block.counter, block.block_number
            self._blocks = {0: block.payload}
        elif block.counter != self._counter or not 0 < block.block_number < self._total:
            raise ZigbeeFrameError(f"stray fragment {block.block_number} (counter {block.counter})")
        else:
            self._blocks[block.block_number] = block.payload
        if len(self._blocks) < self._total:
            return None
        asdu = b"".join(self._blocks[i] for i in range(self._total))
        self._reset()
        return transfer_data(asdu, self.tunnel)

    def _reset(self) -> None:
        self._counter, self._total, self._blocks = None, 0, {}
