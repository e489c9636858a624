"""The Spinel properties the rig uses, one declarative description each (id, name, format), and
the ``STREAM_RAW`` payloads (frames out and in, with their metadata).

Ids and formats: OpenThread ``src/lib/spinel/spinel.h`` (property enumeration; "Raw Stream"
for ``STREAM_RAW``); what an RCP actually writes and reads: OpenThread
``src/ncp/ncp_base_radio.cpp`` (``PackRadioFrame``, ``LinkRawTransmitDone``,
``DecodeStreamRawTxRequest``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from devices.spinel.codec import SpinelError, pack, unpack


@dataclass(frozen=True, slots=True)
class Property:
    """A property: ``fmt`` is its value as the radio reports it (``PROP_VALUE_IS``) and as the
    host sets it, unless ``set_fmt`` differs; ``set_required`` leading fields of a set value
    must be present (the rest are optional metadata). ``item`` is the format of one entry of a
    list property (``INSERT``/``REMOVE``)."""

    id: int
    name: str
    fmt: str
    writable: bool = True
    set_fmt: str | None = None
    set_required: int | None = None
    item: str | None = None

    def encode(self, *values: object) -> bytes:
        return pack(self.fmt, *values)

    def decode(self, data: bytes) -> tuple[object, ...]:
        try:
            return unpack(self.fmt, data)
        except SpinelError as exc:
            raise SpinelError(f"{self.name}: {exc}") from None

    def decode_set(self, data: bytes) -> tuple[object, ...]:
        try:
            return unpack(self.set_fmt or self.fmt, data, required=self.set_required)
        except SpinelError as exc:
            raise SpinelError(f"{self.name}: {exc}") from None


#: ``STREAM_RAW`` as received (and an ACK in a TX-done): frame, RSSI, noise floor, flags,
#: PHY data (channel, LQI, timestamp in µs), vendor data (receive error), MAC data (ACK key id
#: and frame counter).
RX_FORMAT = "dccSt(CCX)t(i)t(CL)"
#: ``RX_FORMAT`` after the PSDU when every field is there and the error packs in one byte (as
#: every RCP frame does): one struct, the fast path of :class:`RxFrame` (each struct's length
#: before it: PHY 10, vendor 1, MAC 5).
_RX_AFTER_PSDU = struct.Struct("<bbHHBBQHBHBI")
_LENGTH = struct.Struct("<H")
#: ``STREAM_RAW`` as sent: frame, channel (required), max CSMA backoffs, max frame retries,
#: CSMA-CA enabled, header updated, is a retransmission, security processed, TX delay, TX delay
#: base time, RX channel after TX done.
TX_FORMAT = "dCCCbbbbLLC"
#: ``TX_FORMAT``'s fields after the PSDU that the rig sends (channel, backoffs, retries,
#: CSMA-CA): one struct, the fast path of :class:`TxRequest`.
_TX_AFTER_PSDU = struct.Struct("<BBBB")


class Prop:
    """The properties, by name (spinel.h ``SPINEL_PROP_*``)."""

    LAST_STATUS: ClassVar[Property] = Property(0x00, "LAST_STATUS", "i", writable=False)
    PROTOCOL_VERSION: ClassVar[Property] = Property(0x01, "PROTOCOL_VERSION", "ii", writable=False)
    NCP_VERSION: ClassVar[Property] = Property(0x02, "NCP_VERSION", "U", writable=False)
    CAPS: ClassVar[Property] = Property(0x05, "CAPS", "A(i)", writable=False)
    HWADDR: ClassVar[Property] = Property(0x08, "HWADDR", "E", writable=False)
    PHY_ENABLED: ClassVar[Property] = Property(0x20, "PHY_ENABLED", "b")
    PHY_CHAN: ClassVar[Property] = Property(0x21, "PHY_CHAN", "C")
    MAC_15_4_LADDR: ClassVar[Property] = Property(0x34, "MAC_15_4_LADDR", "E")
    MAC_15_4_SADDR: ClassVar[Property] = Property(0x35, "MAC_15_4_SADDR", "S")
    MAC_15_4_PANID: ClassVar[Property] = Property(0x36, "MAC_15_4_PANID", "S")
    MAC_RAW_STREAM_ENABLED: ClassVar[Property] = Property(0x37, "MAC_RAW_STREAM_ENABLED", "b")
    MAC_PROMISCUOUS_MODE: ClassVar[Property] = Property(0x38, "MAC_PROMISCUOUS_MODE", "C")
    STREAM_RAW: ClassVar[Property] = Property(
        0x71, "STREAM_RAW", RX_FORMAT, set_fmt=TX_FORMAT, set_required=2
    )
    MAC_SRC_MATCH_ENABLED: ClassVar[Property] = Property(0x1303, "MAC_SRC_MATCH_ENABLED", "b")
    MAC_SRC_MATCH_SHORT_ADDRESSES: ClassVar[Property] = Property(
        0x1304, "MAC_SRC_MATCH_SHORT_ADDRESSES", "A(S)", item="S"
    )
    #: Entries in the frame's (little-endian) byte order, unlike ``MAC_15_4_LADDR``: OpenThread's
    #: host reverses the extended address it sets, not the source-match entries it inserts.
    MAC_SRC_MATCH_EXTENDED_ADDRESSES: ClassVar[Property] = Property(
        0x1305, "MAC_SRC_MATCH_EXTENDED_ADDRESSES", "A(E)", item="E"
    )


#: Every property above, by id.
BY_ID: dict[int, Property] = {
    prop.id: prop for prop in vars(Prop).values() if isinstance(prop, Property)
}

#: ``SPINEL_MD_FLAG_*`` of the RX metadata.
MD_FLAG_TX = 0x0001
MD_FLAG_BAD_FCS = 0x0004
MD_FLAG_ACKED_FP = 0x0010
#: "No LQI" (OpenThread ``OT_RADIO_LQI_NONE``) and the unused noise floor the RCP reports.
LQI_NONE = 0
NOISE_FLOOR_UNKNOWN = -128


@dataclass(slots=True)  # not frozen: per frame, frozen costs 5x to build
class RxFrame:
    """A frame from the air, as ``STREAM_RAW`` carries it: the PSDU (FCS included) and the
    radio's measurements. ``timestamp_us`` is the radio's clock at the SFD."""

    psdu: bytes
    rssi: int
    channel: int
    lqi: int
    timestamp_us: int
    flags: int
    noise_floor: int
    error: int

    # mypyc compiles an explicit __init__; the one @dataclass writes runs interpreted
    # (docs/han.md "Speed of the secured HAN")
    def __init__(
        self,
        psdu: bytes,
        rssi: int = NOISE_FLOOR_UNKNOWN,
        channel: int = 0,
        lqi: int = LQI_NONE,
        timestamp_us: int = 0,
        flags: int = 0,
        noise_floor: int = NOISE_FLOOR_UNKNOWN,
        error: int = 0,
    ) -> None:
        self.psdu = psdu
        self.rssi = rssi
        self.channel = channel
        self.lqi = lqi
        self.timestamp_us = timestamp_us
        self.flags = flags
        self.noise_floor = noise_floor
        self.error = error

    @property
    def mac_frame(self) -> bytes:
        """The MAC frame without its 2-byte FCS."""
        return self.psdu[:-2]

    @property
    def acked_with_frame_pending(self) -> bool:
        return bool(self.flags & MD_FLAG_ACKED_FP)

    def encode(self) -> bytes:
        if 0 <= self.error < 0x80 and len(self.psdu) <= 0xFFFF:  # one byte packs the error
            try:
                return (
                    _LENGTH.pack(len(self.psdu))
                    + self.psdu
                    + _RX_AFTER_PSDU.pack(
                        self.rssi, self.noise_floor, self.flags, 10, self.channel, self.lqi,
                        self.timestamp_us, 1, self.error, 5, 0, 0,
                    )
                )  # fmt: skip
            except struct.error:
                pass  # a value out of range: the general packer says which
        return pack(
            RX_FORMAT,
            self.psdu,
            self.rssi,
            self.noise_floor,
            self.flags,
            (self.channel, self.lqi, self.timestamp_us),
            (self.error,),
            (0, 0),
        )

    @classmethod
    def decode(cls, data: bytes, pos: int = 0) -> RxFrame:
        """Decode a ``STREAM_RAW`` value (from ``pos``); PHY fields an older RCP leaves out
        default as the specification says."""
        if len(data) >= pos + 2:  # the whole metadata as this RCP sends it: one struct
            start = pos + 2 + _LENGTH.unpack_from(data, pos)[0]
            if len(data) == start + _RX_AFTER_PSDU.size:
                rssi, noise, flags, phy, channel, lqi, stamp, one, error, five, _, _ = (
                    _RX_AFTER_PSDU.unpack_from(data, start)
                )
                if (phy, one, five) == (10, 1, 5) and error < 0x80:
                    frame = bytes(data[pos + 2 : start])
                    return cls(frame, rssi, channel, lqi, stamp, flags, noise, error)
        psdu, rssi, noise, flags, phy, vendor, _mac = unpack(RX_FORMAT, data[pos:], required=4)
        channel, lqi, stamp = (phy or ()) + (0, LQI_NONE, 0)[len(phy or ()) :]  # type: ignore[operator, arg-type]
        return cls(
            psdu,  # type: ignore[arg-type]
            rssi,  # type: ignore[arg-type]
            channel,
            lqi,
            stamp,
            flags,  # type: ignore[arg-type]
            noise,  # type: ignore[arg-type]
            vendor[0] if vendor else 0,  # type: ignore[index]
        )


#: OpenThread's default ``macMaxFrameRetries`` for a direct transmission (IEEE 802.15.4-2006
#: §7.4.2: 3) and CSMA backoffs (``macMaxCSMABackoffs`` 4).
MAX_FRAME_RETRIES = 3
MAX_CSMA_BACKOFFS = 4


@dataclass(slots=True)  # not frozen: per frame, frozen costs 5x to build
class TxRequest:
    """A frame to transmit: the PSDU (the radio fills in the last two bytes, the FCS) and the
    metadata of ``CMD_PROP_VALUE_SET(STREAM_RAW)``."""

    psdu: bytes
    channel: int
    max_csma_backoffs: int
    max_frame_retries: int
    csma_ca: bool

    # mypyc compiles an explicit __init__; the one @dataclass writes runs interpreted
    # (docs/han.md "Speed of the secured HAN")
    def __init__(
        self,
        psdu: bytes,
        channel: int,
        max_csma_backoffs: int = MAX_CSMA_BACKOFFS,
        max_frame_retries: int = MAX_FRAME_RETRIES,
        csma_ca: bool = True,
    ) -> None:
        self.psdu = psdu
        self.channel = channel
        self.max_csma_backoffs = max_csma_backoffs
        self.max_frame_retries = max_frame_retries
        self.csma_ca = csma_ca

    def encode(self) -> bytes:
        if len(self.psdu) <= 0xFFFF:
            try:
                return (
                    _LENGTH.pack(len(self.psdu))
                    + self.psdu
                    + _TX_AFTER_PSDU.pack(
                        self.channel, self.max_csma_backoffs, self.max_frame_retries,
                        bool(self.csma_ca),
                    )
                )  # fmt: skip
            except struct.error:
                pass  # a value out of range: the general packer says which
        return pack(
            TX_FORMAT,
            self.psdu,
            self.channel,
            self.max_csma_backoffs,
            self.max_frame_retries,
            self.csma_ca,
        )

    @classmethod
    def decode(cls, data: bytes) -> TxRequest:
        if len(data) >= 2:  # what the rig sends, the four fields after the PSDU: one struct
            end = 2 + _LENGTH.unpack_from(data)[0]
            if len(data) == end + _TX_AFTER_PSDU.size and 2 <= end - 2 <= 127 and data[-1] < 2:
                channel, backoffs, retries, csma = _TX_AFTER_PSDU.unpack_from(data, end)
                return cls(bytes(data[2:end]), channel, backoffs, retries, bool(csma))
        fields = Prop.STREAM_RAW.decode_set(data)
        psdu, channel, backoffs, retries, csma = fields[:5]
        if not 2 <= len(psdu) <= 127:  # type: ignore[arg-type]
            raise SpinelError(f"STREAM_RAW: a PSDU of {len(psdu)} bytes")  # type: ignore[arg-type]
        return cls(
            psdu,  # type: ignore[arg-type]
            channel,  # type: ignore[arg-type]
            MAX_CSMA_BACKOFFS if backoffs is None else backoffs,  # type: ignore[arg-type]
            MAX_FRAME_RETRIES if retries is None else retries,  # type: ignore[arg-type]
            True if csma is None else csma,  # type: ignore[arg-type]
        )


#: The TX-done ``LAST_STATUS``: status, frame pending (from the ACK), header updated.
TX_DONE_FORMAT = "ibb"
#: Its length with a status below 0x80 (one byte packed), the ACK after it.
_TX_DONE_HEAD = 3


@dataclass(slots=True)  # not frozen: per frame, frozen costs 5x to build
class TxDone:
    """The end of a transmission, as the RCP reports it: ``PROP_VALUE_IS(LAST_STATUS)`` with the
    request's TID, the status (``OK``, ``NO_ACK``, ``CCA_FAILURE`` …), whether the ACK had its
    frame-pending bit set, and the ACK itself when one was received."""

    status: int
    frame_pending: bool
    ack: RxFrame | None

    # mypyc compiles an explicit __init__; the one @dataclass writes runs interpreted
    # (docs/han.md "Speed of the secured HAN")
    def __init__(
        self,
        status: int,
        frame_pending: bool = False,
        ack: RxFrame | None = None,
    ) -> None:
        self.status = status
        self.frame_pending = frame_pending
        self.ack = ack

    def encode(self) -> bytes:
        if 0 <= self.status < 0x80:  # one byte packs the status
            head = bytes((self.status, bool(self.frame_pending), False))
        else:
            head = pack(TX_DONE_FORMAT, self.status, self.frame_pending, False)
        if self.status:
            return head
        return head + (self.ack or RxFrame(b"", rssi=0)).encode()

    @classmethod
    def decode(cls, data: bytes) -> TxDone:
        status: object
        pending: object
        if len(data) >= _TX_DONE_HEAD and data[0] < 0x80 and data[1] < 2 and data[2] < 2:
            status, pending = data[0], data[1]  # a one-byte status: nothing to unpack
        else:
            status, pending, _updated = unpack(TX_DONE_FORMAT, data, required=1)
        ack = None
        if status == 0 and pending is not None and len(data) > _TX_DONE_HEAD:
            frame = RxFrame.decode(data, _TX_DONE_HEAD)
            ack = frame if frame.psdu else None
        return cls(status, bool(pending), ack)  # type: ignore[arg-type]
