"""The little of IEEE 802.15.4 a radio itself looks at: the MAC header's addressing (to filter
and to acknowledge), the FCS, the ACK frame, and the air time at 2.4 GHz. Pure.

IEEE 802.15.4-2006: §7.2.1 (general MAC frame format: frame control, sequence number,
addressing fields), §7.2.2.3 (acknowledgment frame), §7.5.6.2 (reception and rejection: the
third-level filter), §6.5.3.2 / Table 22 (O-QPSK 2450 MHz: 250 kbit/s, 4-byte preamble, 1-byte
SFD, 1-byte PHR), §7.4.2 (macMaxFrameRetries, macAckWaitDuration), §6.4.1 (aTurnaroundTime).
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.transports.fcs import crc16_kermit

BROADCAST_SHORT = 0xFFFF
BROADCAST_PAN = 0xFFFF

FRAME_BEACON = 0
FRAME_DATA = 1
FRAME_ACK = 2
FRAME_COMMAND = 3
#: MAC command identifier of a Data Request (§7.3.4): a sleepy device's poll.
CMD_DATA_REQUEST = 0x04

#: µs per byte at 250 kbit/s, and the PHY overhead before the PSDU (preamble 4, SFD 1, PHR 1).
US_PER_BYTE = 32
PHY_OVERHEAD_BYTES = 6
#: aTurnaroundTime, 12 symbols of 16 µs: RX to TX before an ACK goes out.
TURNAROUND_US = 192
#: macAckWaitDuration for the 2.4 GHz O-QPSK PHY: 54 symbols.
ACK_WAIT_US = 864
#: An ACK's PSDU: frame control, sequence number, FCS.
ACK_PSDU_BYTES = 5


def air_time_us(psdu_length: int) -> int:
    """Time on air of a PSDU of ``psdu_length`` bytes (FCS included): (len + 6) x 32 us."""
    return (psdu_length + PHY_OVERHEAD_BYTES) * US_PER_BYTE


def with_fcs(mac_frame: bytes) -> bytes:
    """The PSDU: the MAC frame and its FCS (CRC-16/KERMIT, low byte first, §7.2.1.9)."""
    return mac_frame + crc16_kermit(mac_frame).to_bytes(2, "little")


def fcs_ok(psdu: bytes) -> bool:
    return len(psdu) >= 2 and crc16_kermit(psdu[:-2]) == int.from_bytes(psdu[-2:], "little")


def ack_psdu(seq: int, frame_pending: bool) -> bytes:
    """An immediate ACK (§7.2.2.3): frame type 2, frame pending as asked, the sequence number."""
    return with_fcs(bytes([FRAME_ACK | (0x10 if frame_pending else 0), 0x00, seq & 0xFF]))


@dataclass(slots=True)  # not frozen: per frame, frozen costs 5x to build
class MacHeader:
    """What a radio reads of a MAC header. Addresses are ints: short addresses as numbers,
    extended addresses as the EUI-64 read big-endian (the frame carries them little-endian)."""

    frame_type: int
    frame_pending: bool
    ack_request: bool
    seq: int
    dst_pan: int | None
    dst: int | None
    dst_extended: bool
    src_pan: int | None
    src: int | None
    src_extended: bool
    #: The source address bytes as on the air (for source-match look-ups), or b"".
    src_raw: bytes
    #: The MAC command identifier of a command frame without security, else None.
    command: int | None

    # mypyc compiles an explicit __init__; the one @dataclass writes runs interpreted
    # (docs/han.md "Speed of the secured HAN")
    def __init__(
        self,
        frame_type: int,
        frame_pending: bool,
        ack_request: bool,
        seq: int,
        dst_pan: int | None,
        dst: int | None,
        dst_extended: bool,
        src_pan: int | None,
        src: int | None,
        src_extended: bool,
        src_raw: bytes,
        command: int | None,
    ) -> None:
        self.frame_type = frame_type
        self.frame_pending = frame_pending
        self.ack_request = ack_request
        self.seq = seq
        self.dst_pan = dst_pan
        self.dst = dst
        self.dst_extended = dst_extended
        self.src_pan = src_pan
        self.src = src
        self.src_extended = src_extended
        self.src_raw = src_raw
        self.command = command

    @property
    def is_data_request(self) -> bool:
        return self.frame_type == FRAME_COMMAND and self.command == CMD_DATA_REQUEST


_ADDR_LEN = {0: 0, 2: 2, 3: 8}


def parse_header(mac_frame: bytes) -> MacHeader:
    """Parse the frame control, sequence number and addressing fields (§7.2.1); raise
    ValueError for a frame too short for them or a reserved addressing mode."""
    if len(mac_frame) < 3:
        raise ValueError(f"MAC frame of {len(mac_frame)} bytes")
    fc = mac_frame[0] | mac_frame[1] << 8
    dst_mode, src_mode = (fc >> 10) & 3, (fc >> 14) & 3
    if dst_mode == 1 or src_mode == 1:
        raise ValueError("reserved addressing mode")
    pos = 3
    dst_pan = dst = src_pan = src = None
    if dst_mode:
        dst_pan, pos = int.from_bytes(mac_frame[pos : pos + 2], "little"), pos + 2
        dst, pos = _address(mac_frame, pos, _ADDR_LEN[dst_mode])
    src_raw = b""
    if src_mode:
        if fc & 0x40:  # PAN ID compression: the source PAN is the destination's
            src_pan = dst_pan
        else:
            src_pan, pos = int.from_bytes(mac_frame[pos : pos + 2], "little"), pos + 2
        src_raw = mac_frame[pos : pos + _ADDR_LEN[src_mode]]
        src, pos = _address(mac_frame, pos, _ADDR_LEN[src_mode])
    if pos > len(mac_frame):
        raise ValueError("MAC frame shorter than its addressing fields")
    frame_type = fc & 7
    secured = bool(fc & 0x08)
    command = (
        mac_frame[pos]
        if frame_type == FRAME_COMMAND and not secured and pos < len(mac_frame)
        else None
    )
    return MacHeader(
        frame_type,
        bool(fc & 0x10),
        bool(fc & 0x20),
        mac_frame[2],
        dst_pan,
        dst,
        dst_mode == 3,
        src_pan,
        src,
        src_mode == 3,
        src_raw,
        command,
    )


def _address(frame: bytes, pos: int, length: int) -> tuple[int, int]:
    return int.from_bytes(frame[pos : pos + length], "little"), pos + length
