"""The frames of the ZigBee stack as bytes: IEEE 802.15.4 MAC frames (without the FCS, as
Spinel's ``STREAM_RAW`` carries them), the NWK and APS frames inside them, ZDO Device Announce.
Built and parsed with scapy's layers; pure. Any bytes parse to a value or one :class:`FrameError`.

Sources: IEEE 802.15.4-2006 §7.2 (frame formats: beacon §7.2.2.1, data §7.2.2.2, MAC command
§7.2.2.4), §7.3 (association request 0x01, response 0x02, data request 0x04, beacon request
0x07; capability information §7.3.1.2); ZigBee specification 05-3474 §3.3 (NWK frames), §3.4.4
(leave), §3.4.6/§3.4.7 (rejoin request/response), §2.2.5 (APS frames: data, command, ack, the
extended header for fragmentation), §4.4.9.2 (APS Transport Key), §2.4.3.1.11 (ZDO
Device_annce), §3.6.7 (the beacon payload, with the extended PAN ID).

Addresses are ``int`` for short addresses and 8 ``bytes`` for an EUI-64 as written (big-endian;
the frame carries it little-endian).
"""

from __future__ import annotations

from dataclasses import dataclass

from scapy.config import conf
from scapy.layers.dot15d4 import (
    Dot15d4,
    Dot15d4Beacon,
    Dot15d4CmdAssocReq,
    Dot15d4CmdAssocResp,
)
from scapy.layers.zigbee import (
    ZDPDeviceAnnce,
    ZigBeeBeacon,
    ZigbeeDeviceProfile,
    ZigbeeNWKCommandPayload,
)
from scapy.packet import Packet

from rig.zigbee import layout
from rig.zigbee.layout import LayoutError

conf.dot15d4_protocol = "zigbee"  # type: ignore[assignment]  # dissect 802.15.4 data frames as ZigBee NWK (not 6LoWPAN)

Address = int | bytes

BROADCAST_PAN = 0xFFFF
BROADCAST = 0xFFFF
#: NWK broadcast to every device whose receiver is on when idle (§3.6.5): Device Announce.
BROADCAST_RX_ON = 0xFFFD
COORDINATOR = 0x0000

# MAC frame types and command identifiers (§7.2.1.1.1, §7.3).
FRAME_BEACON, FRAME_DATA, FRAME_COMMAND = 0, 1, 3
CMD_ASSOC_REQUEST, CMD_ASSOC_RESPONSE, CMD_DATA_REQUEST, CMD_BEACON_REQUEST = 1, 2, 4, 7
#: Association status (§7.3.2.3): success, PAN at capacity, PAN access denied.
ASSOC_SUCCESS, ASSOC_AT_CAPACITY, ASSOC_DENIED = 0, 1, 2

# Capability information bits (§7.3.1.2).
CAP_FFD, CAP_MAINS, CAP_RX_ON_IDLE, CAP_SECURITY, CAP_ALLOCATE = 0x02, 0x04, 0x08, 0x40, 0x80

# NWK frame types and commands (§3.3.1.1, §3.4).
NWK_DATA, NWK_COMMAND = 0, 1
NWK_LEAVE, NWK_REJOIN_REQUEST, NWK_REJOIN_RESPONSE = 0x04, 0x06, 0x07
#: Leave command options (§3.4.4.3.1).
LEAVE_REQUEST, LEAVE_REJOIN = 0x40, 0x20

# APS frame types (§2.2.5.1.1), fragmentation (§2.2.5.1.8), commands (§4.4.9).
APS_DATA, APS_COMMAND, APS_ACK = 0, 1, 2
FRAGMENT_NONE, FRAGMENT_FIRST, FRAGMENT_MORE = 0, 1, 2
APS_TRANSPORT_KEY = 0x05
#: Transport Key key types (§4.4.9.2.1): the standard network key.
KEY_NETWORK = 1

ZDO_PROFILE = 0x0000
DEVICE_ANNCE = 0x0013


#: The NWK protocol version of ZigBee PRO (§3.3.1.1.2).
NWK_PROTOCOL_VERSION = 2
_APS_EXTENDED = (layout.APS_EXTENDED_HEADER, layout.APS_ACK_EXTENDED_HEADER)


class FrameError(ValueError):
    """Bytes that are not the frame they should be: the message says what is wrong."""


def _addr_mode(address: Address | None) -> int:
    return 0 if address is None else 3 if isinstance(address, bytes) else 2


def _address_value(address: Address | None) -> int:
    """An address as the integer its layout field holds (an EUI-64 as written: big-endian)."""
    if address is None:
        return 0
    return int.from_bytes(address, "big") if isinstance(address, bytes) else address


def _ours(value: int | None, mode: int) -> Address | None:
    if value is None:
        return None
    return None if mode == 0 else value.to_bytes(8, "big") if mode == 3 else value


def _parse(layer: type[Packet], data: bytes, what: str) -> Packet:
    try:
        packet = layer(data)
    except Exception as exc:  # scapy raises anything on garbage
        raise FrameError(f"undecodable {what}: {exc}") from None
    return packet


# --- MAC ------------------------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: per frame, frozen costs 5x to build
class MacFrame:
    """A parsed MAC frame. ``payload`` is what follows the MAC header (the NWK frame of a data
    frame, the command's fields, the beacon's superframe and payload)."""

    frame_type: int
    seq: int
    ack_request: bool
    frame_pending: bool
    dst_pan: int | None
    dst: Address | None
    src_pan: int | None
    src: Address | None
    command: int | None
    payload: bytes

    # mypyc compiles an explicit __init__; the one @dataclass writes runs interpreted
    # (docs/han.md "Speed of the secured HAN")
    def __init__(
        self,
        frame_type: int,
        seq: int,
        ack_request: bool,
        frame_pending: bool,
        dst_pan: int | None,
        dst: Address | None,
        src_pan: int | None,
        src: Address | None,
        command: int | None = None,
        payload: bytes = b"",
    ) -> None:
        self.frame_type = frame_type
        self.seq = seq
        self.ack_request = ack_request
        self.frame_pending = frame_pending
        self.dst_pan = dst_pan
        self.dst = dst
        self.src_pan = src_pan
        self.src = src
        self.command = command
        self.payload = payload


def mac_encode(frame: MacFrame) -> bytes:
    """The MAC frame's bytes, without FCS; PAN ID compression when both PANs are equal."""
    dst_mode, src_mode = _addr_mode(frame.dst), _addr_mode(frame.src)
    if frame.frame_type != FRAME_BEACON and frame.dst is None:
        raise ValueError("a data or command frame without a destination")
    compress = bool(dst_mode and src_mode and frame.dst_pan == frame.src_pan)
    control = (
        frame.frame_type
        | frame.frame_pending << 4
        | frame.ack_request << 5
        | compress << 6
        | dst_mode << 10
        | src_mode << 14
    )
    fields = {
        "seq": frame.seq & 0xFF,
        "dst_pan": frame.dst_pan or 0,
        "dst": _address_value(frame.dst),
        "src_pan": frame.src_pan or 0,
        "src": _address_value(frame.src),
        "command": frame.command or 0,
    }
    return layout.MAC.encode(control, fields) + frame.payload


def mac_decode(data: bytes) -> MacFrame:
    """Parse a MAC frame (without FCS)."""
    if len(data) < 3:
        raise FrameError(f"MAC frame of {len(data)} bytes")
    try:
        fields, end = layout.MAC.decode(data)
    except LayoutError as exc:
        raise FrameError(str(exc)) from None
    control = fields["control"]
    kind, dst_mode, src_mode = control & 7, layout.dst_mode(control), layout.src_mode(control)
    if control & 0x08:
        raise FrameError("MAC-secured frame (ZigBee secures at NWK and APS)")
    if kind not in (FRAME_BEACON, FRAME_DATA, FRAME_COMMAND):
        raise FrameError(f"MAC frame of type {kind} not understood")
    if kind == FRAME_BEACON:
        if dst_mode or not src_mode:
            raise FrameError("beacon with a destination or without a source address")
    elif not dst_mode:
        raise FrameError("MAC frame without a destination address (not used by the stack)")
    dst_pan = fields.get("dst_pan")
    src_pan = fields.get("src_pan", dst_pan) if src_mode else None
    return MacFrame(
        kind,
        fields["seq"],
        bool(control & 0x20) and kind != FRAME_BEACON,
        bool(control & 0x10) and kind != FRAME_BEACON,
        dst_pan,
        _ours(fields.get("dst", 0), dst_mode),
        src_pan,
        _ours(fields.get("src", 0), src_mode),
        fields.get("command"),
        data[end:],
    )


@dataclass(frozen=True)
class Beacon:
    """What a joiner reads in a ZigBee beacon (§3.6.7, IEEE 802.15.4 §7.2.2.1.2)."""

    pan_id: int
    coordinator: int
    association_permit: bool
    extended_pan_id: bytes


#: A beacon's MAC header from a short address, for scapy to build and parse the fields after it.
_BEACON_HEADER = Dot15d4(fcf_frametype=FRAME_BEACON, fcf_destaddrmode=0, fcf_srcaddrmode=2)


def beacon_payload(permit: bool, extended_pan_id: bytes) -> bytes:
    """Superframe specification (non-beacon network: orders 15, PAN coordinator), no GTS, no
    pending addresses, and the ZigBee PRO beacon payload (stack profile 2, version 2)."""
    frame = (
        _BEACON_HEADER
        / Dot15d4Beacon(
            src_panid=0,
            src_addr=0,
            sf_beaconorder=15,
            sf_sforder=15,
            sf_finalcapslot=15,
            sf_pancoord=1,
            sf_assocpermit=permit,
            gts_spec_permit=0,
        )
        / ZigBeeBeacon(
            stack_profile=2,
            nwkc_protocol_version=2,
            router_capacity=1,
            end_device_capacity=1,
            extended_pan_id=int.from_bytes(extended_pan_id, "big"),
            tx_offset=0xFFFFFF,
        )
    )
    return bytes(frame)[7:]  # without the MAC header (frame control to source address)


def beacon_decode(frame: MacFrame) -> Beacon:
    packet = _parse(Dot15d4, bytes(_BEACON_HEADER) + bytes(4) + frame.payload, "beacon")
    if ZigBeeBeacon not in packet or not isinstance(frame.src, int) or frame.src_pan is None:
        raise FrameError("not a ZigBee beacon")
    zb = packet[ZigBeeBeacon]
    return Beacon(
        frame.src_pan,
        frame.src,
        bool(packet.sf_assocpermit),
        zb.extended_pan_id.to_bytes(8, "big"),
    )


def assoc_request_payload(capability: int) -> bytes:
    return bytes(Dot15d4CmdAssocReq(bytes([capability])))


def assoc_response_payload(short: int, status: int) -> bytes:
    return bytes(Dot15d4CmdAssocResp(short_address=short, association_status=status))


def assoc_response_decode(payload: bytes) -> tuple[int, int]:
    """(short address, status) of an association response."""
    if len(payload) != 3:
        raise FrameError(f"association response of {len(payload)} bytes")
    packet = Dot15d4CmdAssocResp(payload)
    return packet.short_address, packet.association_status


# --- NWK ------------------------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: per frame, frozen costs 5x to build
class NwkFrame:
    """A NWK frame: header fields and its payload (an APS frame, or a NWK command). ``secured``
    tells whether the security flag is set; an opened frame (``NwkSecurity.open``) has it clear."""

    frame_type: int
    dst: int
    src: int
    seq: int
    payload: bytes
    radius: int
    secured: bool
    src_ext: bytes | None

    # mypyc compiles an explicit __init__; the one @dataclass writes runs interpreted
    # (docs/han.md "Speed of the secured HAN")
    def __init__(
        self,
        frame_type: int,
        dst: int,
        src: int,
        seq: int,
        payload: bytes,
        radius: int = 30,
        secured: bool = False,
        src_ext: bytes | None = None,
    ) -> None:
        self.frame_type = frame_type
        self.dst = dst
        self.src = src
        self.seq = seq
        self.payload = payload
        self.radius = radius
        self.secured = secured
        self.src_ext = src_ext


def nwk_encode(frame: NwkFrame) -> bytes:
    control = (
        frame.frame_type
        | NWK_PROTOCOL_VERSION << 2
        | (layout.NWK_SRC_IEEE if frame.src_ext else 0)
        | (layout.NWK_SECURITY if frame.secured else 0)
    )
    fields = {
        "dst": frame.dst,
        "src": frame.src,
        "radius": frame.radius,
        "seq": frame.seq & 0xFF,
        "src_ext": _address_value(frame.src_ext),
    }
    return layout.NWK.encode(control, fields) + frame.payload


def nwk_decode(data: bytes) -> NwkFrame:
    if len(data) < 8:
        raise FrameError(f"NWK frame of {len(data)} bytes")
    fc = data[0] | data[1] << 8
    if (fc >> 2) & 0xF != NWK_PROTOCOL_VERSION:
        raise FrameError(f"NWK protocol version {(fc >> 2) & 0xF}, not 2 (ZigBee PRO)")
    if fc & (layout.NWK_SOURCE_ROUTE | layout.NWK_DST_IEEE):
        raise FrameError("NWK frame with a source route or a destination IEEE address")
    kind = fc & 3
    if kind not in (NWK_DATA, NWK_COMMAND):
        raise FrameError(f"NWK frame type {kind}")
    try:
        fields, end = layout.NWK.decode(data)
    except LayoutError:
        raise FrameError("NWK frame shorter than its header") from None
    return NwkFrame(
        kind,
        fields["dst"],
        fields["src"],
        fields["seq"],
        data[end:],
        fields["radius"],
        bool(fc & layout.NWK_SECURITY),
        fields["src_ext"].to_bytes(8, "big") if "src_ext" in fields else None,
    )


def nwk_command(command: int, **fields: object) -> bytes:
    """A NWK command payload: leave (``options``), rejoin request (``capability``), rejoin
    response (``network_address``, ``rejoin_status``)."""
    if command == NWK_LEAVE:
        options = int(fields["options"])  # type: ignore[call-overload]
        return bytes([command, options])
    if command == NWK_REJOIN_REQUEST:
        return bytes([command, int(fields["capability"])])  # type: ignore[call-overload]
    payload = ZigbeeNWKCommandPayload(cmd_identifier=command, **fields)  # type: ignore[arg-type]
    return bytes(payload)


def nwk_command_decode(payload: bytes) -> tuple[int, bytes]:
    """(command identifier, its fields) of a NWK command payload."""
    if not payload:
        raise FrameError("empty NWK command")
    expected = {NWK_LEAVE: 1, NWK_REJOIN_REQUEST: 1, NWK_REJOIN_RESPONSE: 3}.get(payload[0])
    if expected is not None and len(payload) != 1 + expected:
        raise FrameError(f"NWK command 0x{payload[0]:02x} of {len(payload)} bytes")
    return payload[0], payload[1:]


# --- APS ------------------------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: per frame, frozen costs 5x to build
class ApsFrame:
    """An APS frame (unicast or broadcast delivery; no groups). A data frame and its ack carry
    endpoints, cluster and profile; a command frame carries none. Fragment fields are used when
    ``fragmentation`` is not FRAGMENT_NONE: ``block`` is the block count in the first fragment,
    the block number in the others."""

    frame_type: int
    counter: int
    payload: bytes
    dst_endpoint: int
    cluster: int
    profile: int
    src_endpoint: int
    ack_request: bool
    broadcast: bool
    secured: bool
    fragmentation: int
    block: int
    ack_bitfield: int

    # mypyc compiles an explicit __init__; the one @dataclass writes runs interpreted
    # (docs/han.md "Speed of the secured HAN")
    def __init__(
        self,
        frame_type: int,
        counter: int,
        payload: bytes = b"",
        dst_endpoint: int = 0,
        cluster: int = 0,
        profile: int = 0,
        src_endpoint: int = 0,
        ack_request: bool = False,
        broadcast: bool = False,
        secured: bool = False,
        fragmentation: int = FRAGMENT_NONE,
        block: int = 0,
        ack_bitfield: int = 0,
    ) -> None:
        self.frame_type = frame_type
        self.counter = counter
        self.payload = payload
        self.dst_endpoint = dst_endpoint
        self.cluster = cluster
        self.profile = profile
        self.src_endpoint = src_endpoint
        self.ack_request = ack_request
        self.broadcast = broadcast
        self.secured = secured
        self.fragmentation = fragmentation
        self.block = block
        self.ack_bitfield = ack_bitfield


def aps_encode(frame: ApsFrame) -> bytes:
    extended = frame.fragmentation != FRAGMENT_NONE and frame.frame_type != APS_COMMAND
    control = (
        frame.frame_type
        | (2 if frame.broadcast else 0) << 2
        | (layout.APS_SECURITY if frame.secured else 0)
        | (layout.APS_ACK_REQUEST if frame.ack_request else 0)
        | (layout.APS_EXTENDED if extended else 0)
    )
    fields = {
        "dst_endpoint": frame.dst_endpoint,
        "cluster": frame.cluster,
        "profile": frame.profile,
        "src_endpoint": frame.src_endpoint,
        "counter": frame.counter & 0xFF,
        "block": frame.block,
        "ack_bitfield": frame.ack_bitfield,
    }
    raw = layout.APS.encode(control, fields)
    if extended:
        ext = _APS_EXTENDED[frame.frame_type == APS_ACK]
        raw += ext.encode(frame.fragmentation, fields)
    return raw + frame.payload


def aps_decode(data: bytes) -> ApsFrame:
    if len(data) < 2:
        raise FrameError(f"APS frame of {len(data)} bytes")
    fc = data[0]
    kind, delivery = fc & 3, (fc >> 2) & 3
    ack_request, extended, secured = bool(fc & 0x40), bool(fc & 0x80), bool(fc & 0x20)
    if kind == 3 or delivery in (1, 3):
        raise FrameError(f"APS frame type {kind}, delivery mode {delivery} not handled")
    if kind == APS_COMMAND:
        return ApsFrame(
            kind,
            data[1],
            data[2:],
            broadcast=delivery == 2,
            secured=secured,
            ack_request=ack_request,
        )
    if kind == APS_ACK and fc & layout.APS_ACK_FORMAT:
        raise FrameError("APS ack without endpoints (ack format) not handled")
    try:
        fields, end = layout.APS.decode(data)
        ext: dict[str, int] = {}
        if extended:
            ext, end = _APS_EXTENDED[kind == APS_ACK].decode(data, end)
    except LayoutError:
        raise FrameError("APS frame shorter than its header") from None
    return ApsFrame(
        kind,
        fields["counter"],
        data[end:],
        dst_endpoint=fields["dst_endpoint"],
        cluster=fields["cluster"],
        profile=fields["profile"],
        src_endpoint=fields["src_endpoint"],
        ack_request=ack_request,
        broadcast=delivery == 2,
        secured=secured,
        fragmentation=ext.get("control", 0) & 3,
        block=ext.get("block", 0),
        ack_bitfield=ext.get("ack_bitfield", 0),
    )


def transport_key(key: bytes, key_seq: int, dst: bytes, src: bytes) -> bytes:
    """The APS Transport Key command's payload for a standard network key (§4.4.9.2)."""
    return bytes([APS_TRANSPORT_KEY, KEY_NETWORK]) + key + bytes([key_seq]) + dst[::-1] + src[::-1]


def transport_key_decode(payload: bytes) -> tuple[bytes, int, bytes, bytes]:
    """(key, key sequence number, destination EUI-64, source EUI-64) of a Transport Key."""
    if len(payload) != 35 or payload[0] != APS_TRANSPORT_KEY or payload[1] != KEY_NETWORK:
        raise FrameError("not a Transport Key of a network key")
    return payload[2:18], payload[18], payload[19:27][::-1], payload[27:35][::-1]


def device_annce(seq: int, short: int, eui64: bytes, capability: int) -> bytes:
    """ZDO Device_annce (§2.4.3.1.11): transaction sequence, NWK address, IEEE address,
    capability (the MAC capability byte)."""
    body = ZDPDeviceAnnce(
        nwk_addr=short,
        ieee_addr=int.from_bytes(eui64, "big"),
    )
    return bytes(ZigbeeDeviceProfile(trans_seqnum=seq))[:1] + bytes(body)[:10] + bytes([capability])


def device_annce_decode(payload: bytes) -> tuple[int, bytes, int]:
    """(NWK address, EUI-64, capability) of a Device_annce."""
    if len(payload) != 12:
        raise FrameError(f"Device_annce of {len(payload)} bytes")
    return int.from_bytes(payload[1:3], "little"), payload[3:11][::-1], payload[11]
