"""scapy's build and dissection of the stack's frames, as rig/zigbee/codec.py and tunnel.py did
them before the struct layouts (rig/zigbee/layout.py) took the hot path: the reference that
tests/zigbee/test_layout.py holds the layouts to."""

from __future__ import annotations

from scapy.config import conf
from scapy.layers.dot15d4 import Dot15d4, Dot15d4Beacon, Dot15d4Cmd, Dot15d4Data
from scapy.layers.zigbee import ZigbeeAppDataPayload, ZigbeeClusterLibrary, ZigbeeNWK
from scapy.packet import Packet, Raw

from rig.zigbee.codec import (
    APS_ACK,
    APS_COMMAND,
    FRAGMENT_NONE,
    FRAME_BEACON,
    FRAME_COMMAND,
    FRAME_DATA,
    Address,
    ApsFrame,
    FrameError,
    MacFrame,
    NwkFrame,
    _addr_mode,
    _address_value,
    _ours,
)
from rig.zigbee.tunnel import (
    _ZCL_HEADER,
    CLIENT_TRANSFER_DATA,
    SERVER_TRANSFER_DATA,
    ZclCommand,
    ZCLTunnelingTransferData,
)

conf.dot15d4_protocol = "zigbee"


def _addr_bytes(address: Address | None) -> bytes:
    if address is None:
        return b""
    return address[::-1] if isinstance(address, bytes) else address.to_bytes(2, "little")


def _parse(layer: type[Packet], data: bytes, what: str) -> Packet:
    try:
        return layer(data)
    except Exception as exc:  # scapy raises anything on garbage
        raise FrameError(f"undecodable {what}: {exc}") from None


def scapy_mac_encode(frame: MacFrame) -> bytes:
    """The MAC frame's bytes, without FCS; PAN ID compression when both PANs are equal."""
    dst_mode, src_mode = _addr_mode(frame.dst), _addr_mode(frame.src)
    compress = dst_mode and src_mode and frame.dst_pan == frame.src_pan
    header = Dot15d4(
        fcf_frametype=frame.frame_type,
        fcf_ackreq=frame.ack_request,
        fcf_pending=frame.frame_pending,
        fcf_panidcompress=bool(compress),
        fcf_destaddrmode=dst_mode,
        fcf_srcaddrmode=src_mode,
        seqnum=frame.seq & 0xFF,
    )
    if frame.frame_type == FRAME_BEACON:  # source PAN and address, then the beacon's fields
        pan = (frame.src_pan or 0).to_bytes(2, "little")
        return bytes(header) + pan + _addr_bytes(frame.src) + frame.payload
    if frame.dst is None:
        raise ValueError("a data or command frame without a destination (scapy cannot build it)")
    fields = {
        "dest_panid": frame.dst_pan or 0,
        "dest_addr": _address_value(frame.dst),
        "src_panid": frame.src_pan or 0,
        "src_addr": _address_value(frame.src),
    }
    if frame.frame_type == FRAME_COMMAND:
        body: Packet = Dot15d4Cmd(cmd_id=frame.command, **fields)
    else:
        body = Dot15d4Data(**fields)
    return bytes(header / body / Raw(frame.payload)) if frame.payload else bytes(header / body)


def scapy_mac_decode(data: bytes) -> MacFrame:
    """Parse a MAC frame (without FCS)."""
    if len(data) < 3:
        raise FrameError(f"MAC frame of {len(data)} bytes")
    packet = _parse(Dot15d4, data, "MAC frame")
    kind, dst_mode, src_mode = packet.fcf_frametype, packet.fcf_destaddrmode, packet.fcf_srcaddrmode
    if packet.fcf_security:
        raise FrameError("MAC-secured frame (ZigBee secures at NWK and APS)")
    layer = {FRAME_BEACON: Dot15d4Beacon, FRAME_DATA: Dot15d4Data, FRAME_COMMAND: Dot15d4Cmd}
    if kind not in layer or layer[kind] not in packet:
        raise FrameError(f"MAC frame of type {kind} not understood")
    body = packet[layer[kind]]
    if kind == FRAME_BEACON:
        if dst_mode or not src_mode:
            raise FrameError("beacon with a destination or without a source address")
        start = 5 + (8 if src_mode == 3 else 2)
        src_pan, src = body.src_panid, _ours(body.src_addr, src_mode)
        return MacFrame(
            kind, packet.seqnum, False, False, None, None, src_pan, src, payload=data[start:]
        )
    if not dst_mode:
        raise FrameError("MAC frame without a destination address (not used by the stack)")
    dst_pan = body.dest_panid
    src_pan = None
    if src_mode:
        src_pan = dst_pan if packet.fcf_panidcompress else body.src_panid
    header_len = 3 + (2 + (8 if dst_mode == 3 else 2) if dst_mode else 0)
    if src_mode:
        header_len += (0 if packet.fcf_panidcompress else 2) + (8 if src_mode == 3 else 2)
    command = None
    if kind == FRAME_COMMAND:
        command, header_len = body.cmd_id, header_len + 1
    if header_len > len(data):
        raise FrameError("MAC frame shorter than its header")
    return MacFrame(
        kind,
        packet.seqnum,
        bool(packet.fcf_ackreq),
        bool(packet.fcf_pending),
        dst_pan,
        _ours(body.dest_addr, dst_mode),
        src_pan,
        _ours(body.src_addr, src_mode),
        command,
        data[header_len:],
    )


def scapy_nwk_encode(frame: NwkFrame) -> bytes:
    header = ZigbeeNWK(
        frametype=frame.frame_type,
        proto_version=2,
        discover_route=0,
        flags=(["extended_src"] if frame.src_ext else []) + (["security"] if frame.secured else []),
        destination=frame.dst,
        source=frame.src,
        radius=frame.radius,
        seqnum=frame.seq & 0xFF,
        ext_src=_address_value(frame.src_ext) if frame.src_ext else None,
    )
    return bytes(header) + frame.payload


def scapy_aps_encode(frame: ApsFrame) -> bytes:
    extended = frame.fragmentation != FRAGMENT_NONE
    fields: dict[str, object] = {
        "aps_frametype": frame.frame_type,
        "delivery_mode": 2 if frame.broadcast else 0,
        "frame_control": (0x04 if frame.ack_request else 0) | (0x08 if extended else 0),
        "counter": frame.counter & 0xFF,
    }
    if frame.frame_type == APS_COMMAND:
        raw = bytes(ZigbeeAppDataPayload(**fields))[:2] + frame.payload  # type: ignore[arg-type]
    else:
        fields.update(
            dst_endpoint=frame.dst_endpoint,
            cluster=frame.cluster,
            profile=frame.profile,
            src_endpoint=frame.src_endpoint,
        )
        if extended:
            fields.update(fragmentation=frame.fragmentation, block_number=frame.block)
            if frame.frame_type == APS_ACK:
                fields["ack_bitfield"] = frame.ack_bitfield
        raw = bytes(ZigbeeAppDataPayload(**fields)) + frame.payload  # type: ignore[arg-type]
    if frame.secured:
        raw = bytes([raw[0] | 0x20]) + raw[1:]
    return raw


def scapy_zcl_encode(command: ZclCommand) -> bytes:
    header = ZigbeeClusterLibrary(
        zcl_frametype=1,
        command_direction=int(command.from_server),
        disable_default_response=1,
        transaction_sequence=command.seq & 0xFF,
        command_identifier=command.command,
    )
    return bytes(header)[:_ZCL_HEADER] + command.body


def scapy_zcl_decode(asdu: bytes) -> ZclCommand:
    if len(asdu) < _ZCL_HEADER:
        raise FrameError(f"ZCL frame of {len(asdu)} bytes")
    # The header alone: scapy's ZCL payload dispatch needs the APS layer underneath.
    if asdu[0] & 0x04:
        raise FrameError("manufacturer-specific ZCL command")
    header = ZigbeeClusterLibrary(asdu[:_ZCL_HEADER])
    if header.zcl_frametype != 1:
        raise FrameError(f"not a cluster-specific command: {header.summary()}")
    return ZclCommand(
        bool(header.command_direction),
        header.transaction_sequence,
        header.command_identifier,
        asdu[_ZCL_HEADER:],
    )


def scapy_transfer_data(from_server: bool, seq: int, tunnel_id: int, data: bytes) -> bytes:
    body = bytes(ZCLTunnelingTransferData(tunnel_id=tunnel_id, data=data))
    command = SERVER_TRANSFER_DATA if from_server else CLIENT_TRANSFER_DATA
    return scapy_zcl_encode(ZclCommand(from_server, seq, command, body))


def scapy_transfer_data_decode(command: ZclCommand) -> tuple[int, bytes]:
    """(tunnel id, data) of a TransferData."""
    expected = SERVER_TRANSFER_DATA if command.from_server else CLIENT_TRANSFER_DATA
    if command.command != expected or len(command.body) < 3:
        raise FrameError(f"not a TransferData with data: command 0x{command.command:02x}")
    body = ZCLTunnelingTransferData(command.body)
    return body.tunnel_id, bytes(body.data)
