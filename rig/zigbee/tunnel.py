"""The Smart Energy Tunneling cluster (0x0704; ZCL 7 §10.6, SE 1.2a Annex D.6) as GBCS uses it:
the client (a meter) sends RequestTunnel for protocol GB-HRGP (6) and the server (the Comms Hub)
answers RequestTunnelResponse with a tunnel id; then TransferData goes both ways. The commands are
scapy packets too (for dissection and captures); the hot path (the ZCL header, TransferData) is
built and parsed with rig/zigbee/layout.py. Pure."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from scapy.fields import ByteField, LEShortField, StrField
from scapy.packet import Packet

from rig.zigbee.codec import FrameError
from rig.zigbee.layout import ZCL

SMART_ENERGY_PROFILE = 0x0109
TUNNELING_CLUSTER = 0x0704
#: Tunneling protocol ids (ZCL 7 Table 10-71): GB-HRGP, the GBCS tunnel.
GB_HRGP = 6
NO_MANUFACTURER = 0xFFFF
#: Client to server commands, server to client commands (ZCL 7 §10.6.2.4, §10.6.2.5).
REQUEST_TUNNEL, CLIENT_TRANSFER_DATA = 0x00, 0x02
REQUEST_TUNNEL_RESPONSE, SERVER_TRANSFER_DATA = 0x00, 0x01
#: RequestTunnelResponse status: success, protocol not supported (Table 10-73).
TUNNEL_SUCCESS, TUNNEL_PROTOCOL_NOT_SUPPORTED = 0, 3
_ZCL_HEADER = 3  # frame control, transaction sequence, command (no manufacturer code)
#: ZCL frame control (ZCL 7 §2.4.1.1): frame type 1 (cluster-specific, bits 0-1), direction
#: (bit 3: server to client), disable default response (bit 4).
_CLUSTER_SPECIFIC, _NO_DEFAULT_RESPONSE = 0x01, 0x10
_TUNNEL_ID = struct.Struct("<H")


class RequestTunnel(Packet):
    name = "ZCL Tunneling RequestTunnel"
    fields_desc = [  # noqa: RUF012 (scapy API)
        ByteField("protocol_id", GB_HRGP),
        LEShortField("manufacturer_code", NO_MANUFACTURER),
        ByteField("flow_control", 0),
        LEShortField("max_incoming", 1500),
    ]


class RequestTunnelResponse(Packet):
    name = "ZCL Tunneling RequestTunnelResponse"
    fields_desc = [  # noqa: RUF012 (scapy API)
        LEShortField("tunnel_id", 0),
        ByteField("status", TUNNEL_SUCCESS),
        LEShortField("max_incoming", 1500),
    ]


class ZCLTunnelingTransferData(Packet):
    """TransferData (either direction): tunnel id, then the data to the end of the ASDU (no
    length prefix)."""

    name = "ZCL Tunneling TransferData"
    fields_desc = [LEShortField("tunnel_id", 0), StrField("data", b"")]  # noqa: RUF012 (scapy API)


@dataclass(frozen=True)
class ZclCommand:
    """A cluster-specific ZCL command: direction (True: server to client), sequence, command id,
    and the command's fields."""

    from_server: bool
    seq: int
    command: int
    body: bytes


def zcl_encode(command: ZclCommand) -> bytes:
    """A cluster-specific command, the default response disabled (ZCL 7 §2.4.1.1)."""
    control = _CLUSTER_SPECIFIC | command.from_server << 3 | _NO_DEFAULT_RESPONSE
    fields = {"seq": command.seq & 0xFF, "command": command.command}
    return ZCL.encode(control, fields) + command.body


def zcl_decode(asdu: bytes) -> ZclCommand:
    if len(asdu) < _ZCL_HEADER:
        raise FrameError(f"ZCL frame of {len(asdu)} bytes")
    if asdu[0] & 0x04:
        raise FrameError("manufacturer-specific ZCL command")
    fields, end = ZCL.decode(asdu)
    if fields["control"] & 3 != _CLUSTER_SPECIFIC:
        raise FrameError(f"not a cluster-specific command: frame control {asdu[0]:#04x}")
    return ZclCommand(bool(asdu[0] & 0x08), fields["seq"], fields["command"], asdu[end:])


def transfer_data(from_server: bool, seq: int, tunnel_id: int, data: bytes) -> bytes:
    body = _TUNNEL_ID.pack(tunnel_id) + data
    command = SERVER_TRANSFER_DATA if from_server else CLIENT_TRANSFER_DATA
    return zcl_encode(ZclCommand(from_server, seq, command, body))


def transfer_data_decode(command: ZclCommand) -> tuple[int, bytes]:
    """(tunnel id, data) of a TransferData."""
    expected = SERVER_TRANSFER_DATA if command.from_server else CLIENT_TRANSFER_DATA
    if command.command != expected or len(command.body) < 3:
        raise FrameError(f"not a TransferData with data: command 0x{command.command:02x}")
    return _TUNNEL_ID.unpack_from(command.body)[0], command.body[2:]
