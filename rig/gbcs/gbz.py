"""GBZ (ZigBee SE / ZCL) payloads: components, ZCL frames, attribute records, UTC times
(reference/gbcs.md §1.7).

A GBZ payload is ``01 09`` (SE profile), a component count, then per component a control field
(0x01 last component, 0x02 encrypted, 0x10 from-date-time), the cluster id and a 2-byte length
(big-endian), then the ZCL frame. An encrypted component carries an additional header control and
frame counter, the clear ZCL header, a 2-byte ciphertext length and the ``31 00000000 …`` block.
ZCL fields are little-endian; GBZ times count seconds since 2000-01-01 UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rig.gbcs.errors import DecodeError
from rig.gbcs.wire import Reader

PROFILE = b"\x01\x09"
LAST_COMPONENT = 0x01
ENCRYPTED = 0x02
FROM_DATE_TIME = 0x10
#: ZCL frame-control frame types (bits 0-1) and the server-to-client direction bit.
PROFILE_WIDE = 0x00
CLUSTER_SPECIFIC = 0x01
SERVER_TO_CLIENT = 0x08
#: Profile-wide command ids.
READ_ATTRIBUTES = 0x00
READ_ATTRIBUTES_RESPONSE = 0x01
DEFAULT_RESPONSE = 0x0B
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_UINT32 = 1 << 32

# ZCL data types (ZCL §2.6.2): fixed sizes (data, bool, bitmaps, integers, enums, floats kept
# as their bit patterns, time of day, date, UTC time, cluster / attribute ids, BACnet OID, IEEE
# address, 128-bit key), signed integer types, strings by length-field size, and the collections.
_ZCL_SIZES = {0x10: 1, 0x30: 1, 0x31: 2, 0x38: 2, 0x39: 4, 0x3A: 8, 0xE0: 4, 0xE1: 4, 0xE2: 4}
_ZCL_SIZES |= {0xE8: 2, 0xE9: 2, 0xEA: 4, 0xF0: 8, 0xF1: 16}
_ZCL_SIZES |= {base + n: n + 1 for base in (0x08, 0x18, 0x20, 0x28) for n in range(8)}
_ZCL_SIGNED = frozenset(range(0x28, 0x30))
_ZCL_STRINGS = {0x41: 1, 0x42: 1, 0x43: 2, 0x44: 2}
ZCL_ARRAYS = frozenset({0x48, 0x50, 0x51})  # array, set, bag: element type, count, elements
ZCL_STRUCTURE = 0x4C  # count, then (type, value) per member
#: Nesting of arrays and structures a decoder follows (deeper input is malformed to us).
_MAX_NESTING = 8


def gbz_time(moment: datetime) -> int:
    """Seconds since 2000-01-01 UTC (the GBZ / ZCL UTCTime) of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("gbz_time needs an aware datetime")
    seconds = int((moment - _EPOCH).total_seconds())
    if not 0 <= seconds < _UINT32:
        raise ValueError(f"{moment} is outside the GBZ time range")
    return seconds


def parse_gbz_time(seconds: int) -> datetime:
    """Inverse of :func:`gbz_time`."""
    return _EPOCH + timedelta(seconds=seconds)


def le(value: int, size: int, signed: bool = False) -> bytes:
    """A little-endian ZCL integer; ValueError if it does not fit."""
    try:
        return value.to_bytes(size, "little", signed=signed)
    except OverflowError:
        raise ValueError(f"{value} does not fit in {size} bytes") from None


@dataclass(frozen=True)
class ZclFrame:
    """A ZCL frame: frame control, sequence number, command id and payload (clear or encrypted)."""

    frame_control: int
    sequence: int
    command: int
    payload: bytes = b""

    @property
    def cluster_specific(self) -> bool:
        """Frame type 01 (else profile-wide)."""
        return self.frame_control & 0x03 == CLUSTER_SPECIFIC

    def header(self) -> bytes:
        """The three header bytes."""
        return bytes([self.frame_control, self.sequence, self.command])


@dataclass(frozen=True)
class GbzComponent:
    """One GBZ component. ``frame.payload`` is the ``31 00000000 …`` block when ``encrypted``."""

    cluster: int
    frame: ZclFrame
    encrypted: bool = False
    from_date_time: int | None = None
    additional_header_control: int = 0
    additional_frame_counter: int = 0

    def __post_init__(self) -> None:
        if self.encrypted and self.from_date_time is not None:
            raise ValueError("an encrypted component has no from-date-time")

    def encode(self, last: bool) -> bytes:
        """Control field, cluster, length and body."""
        control = (LAST_COMPONENT if last else 0) | (ENCRYPTED if self.encrypted else 0)
        body = b""
        if self.encrypted:
            body = bytes([self.additional_header_control, self.additional_frame_counter])
            body += self.frame.header() + len(self.frame.payload).to_bytes(2, "big")
        else:
            if self.from_date_time is not None:
                control |= FROM_DATE_TIME
                body = self.from_date_time.to_bytes(4, "big")
            body += self.frame.header()
        body += self.frame.payload
        if len(body) > 0xFFFF:
            raise ValueError("GBZ component longer than 65535 bytes")
        return (
            bytes([control]) + self.cluster.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body
        )


@dataclass(frozen=True)
class Gbz:
    """A GBZ payload: its components in order (the last one flagged on the wire)."""

    components: tuple[GbzComponent, ...]

    def encode(self) -> bytes:
        """``01 09``, the count and the components."""
        n = len(self.components)
        if n > 0xFF:
            raise ValueError("more than 255 GBZ components")
        parts = [c.encode(i == n - 1) for i, c in enumerate(self.components)]
        return PROFILE + bytes([n]) + b"".join(parts)


def decode_gbz(payload: bytes) -> Gbz:
    """Parse a GBZ payload (not an alert); DecodeError at the offending offset."""
    reader = Reader(payload)
    reader.expect(PROFILE[0], "GBZ profile id (high)")
    reader.expect(PROFILE[1], "GBZ profile id (low)")
    count = reader.byte("GBZ component count")
    if count == 0:
        raise reader.fail("GBZ payload without components", 2)
    components = read_components(reader, count)
    reader.expect_end("the last GBZ component")
    return Gbz(components)


def read_components(reader: Reader, count: int) -> tuple[GbzComponent, ...]:
    """``count`` components (a GBZ payload's or a GBZ alert's), the last one flagged."""
    components = []
    for i in range(count):
        at = reader.offset
        control = reader.byte("GBZ control field")
        if control & ~(LAST_COMPONENT | ENCRYPTED | FROM_DATE_TIME):
            raise DecodeError(at, f"GBZ control field 0x{control:02X} has unknown bits")
        if bool(control & LAST_COMPONENT) != (i == count - 1):
            raise DecodeError(at, f"GBZ component {i + 1} of {count}: wrong last-component flag")
        cluster = reader.uint(2, "cluster id")
        size = reader.uint(2, "GBZ component length")
        start = reader.offset
        body = Reader(reader.take(size, "GBZ component"), base=start)
        components.append(_component(body, control, cluster))
    return tuple(components)


def _component(body: Reader, control: int, cluster: int) -> GbzComponent:
    at = body.offset
    if control & ENCRYPTED:
        if control & FROM_DATE_TIME:
            raise DecodeError(at, "an encrypted GBZ component cannot carry a from-date-time")
        header_control = body.byte("additional header control")
        frame_counter = body.byte("additional frame counter")
        fc, seq, cmd = (body.byte(w) for w in ("frame control", "sequence number", "command id"))
        length = body.uint(2, "ciphered information length")
        frame = ZclFrame(fc, seq, cmd, body.take(length, "ciphered information"))
        body.expect_end("the ciphered information")
        return GbzComponent(cluster, frame, True, None, header_control, frame_counter)
    from_date_time = body.uint(4, "from date-time") if control & FROM_DATE_TIME else None
    fc, seq, cmd = (body.byte(w) for w in ("frame control", "sequence number", "command id"))
    frame = ZclFrame(fc, seq, cmd, body.take(body.remaining, "ZCL payload"))
    return GbzComponent(cluster, frame, False, from_date_time)


@dataclass(frozen=True)
class AttributeRecord:
    """One Read Attributes Response record: value None when ``status`` is not 0 (success)."""

    attribute: int
    status: int = 0
    data_type: int | None = None
    value: ZclValue | None = None

    def encode(self) -> bytes:
        """Attribute id (LE), status, and type and value on success."""
        head = le(self.attribute, 2) + bytes([self.status])
        if self.status:
            return head
        if self.data_type is None or self.value is None:
            raise ValueError("a successful attribute record needs a type and a value")
        return head + bytes([self.data_type]) + encode_zcl_value(self.data_type, self.value)


@dataclass(frozen=True)
class ZclArray:
    """A ZCL array, set or bag (``kind`` 0x48 / 0x50 / 0x51) of ``element_type`` values."""

    kind: int
    element_type: int
    items: tuple[ZclValue, ...]


@dataclass(frozen=True)
class ZclStructure:
    """A ZCL structure: (data type, value) per member."""

    members: tuple[tuple[int, ZclValue], ...]


ZclValue = int | bytes | ZclArray | ZclStructure


def encode_zcl_value(data_type: int, value: ZclValue) -> bytes:
    """A ZCL value of ``data_type`` (ZCL §2.6.2); ValueError if the value does not fit it."""
    if data_type in _ZCL_STRINGS:
        size = _ZCL_STRINGS[data_type]
        if not isinstance(value, bytes) or len(value) >= (1 << 8 * size) - 1:
            raise ValueError(f"ZCL string type 0x{data_type:02X} with {value!r}")
        return le(len(value), size) + value
    if data_type in ZCL_ARRAYS:
        if not isinstance(value, ZclArray) or value.kind != data_type:
            raise ValueError(f"ZCL collection type 0x{data_type:02X} with {value!r}")
        items = b"".join(encode_zcl_value(value.element_type, v) for v in value.items)
        return bytes([value.element_type]) + le(len(value.items), 2) + items
    if data_type == ZCL_STRUCTURE:
        if not isinstance(value, ZclStructure):
            raise ValueError(f"ZCL structure with {value!r}")
        members = (bytes([t]) + encode_zcl_value(t, v) for t, v in value.members)
        return le(len(value.members), 2) + b"".join(members)
    if data_type not in _ZCL_SIZES or not isinstance(value, int):
        raise ValueError(f"ZCL type 0x{data_type:02X} with {value!r} not supported")
    return le(value, _ZCL_SIZES[data_type], data_type in _ZCL_SIGNED)


def read_zcl_value(reader: Reader, data_type: int, depth: int = 0) -> ZclValue:
    """One value of ``data_type``; DecodeError for an unknown type or one nested too deep."""
    if data_type in _ZCL_STRINGS:
        size = _ZCL_STRINGS[data_type]
        return reader.take(
            int.from_bytes(reader.take(size, "ZCL string length"), "little"), "ZCL string"
        )
    if data_type in ZCL_ARRAYS or data_type == ZCL_STRUCTURE:
        if depth >= _MAX_NESTING:
            raise reader.fail(f"ZCL collections nested deeper than {_MAX_NESTING}")
        if data_type == ZCL_STRUCTURE:
            count = int.from_bytes(reader.take(2, "ZCL structure count"), "little")
            members = []
            for _ in range(count):
                member_type = reader.byte("ZCL member type")
                members.append((member_type, read_zcl_value(reader, member_type, depth + 1)))
            return ZclStructure(tuple(members))
        element_type = reader.byte("ZCL element type")
        count = int.from_bytes(reader.take(2, "ZCL element count"), "little")
        items = tuple(read_zcl_value(reader, element_type, depth + 1) for _ in range(count))
        return ZclArray(data_type, element_type, items)
    if data_type not in _ZCL_SIZES:
        raise reader.fail(f"ZCL data type 0x{data_type:02X} not supported", reader.pos - 1)
    raw = reader.take(_ZCL_SIZES[data_type], "ZCL value")
    return int.from_bytes(raw, "little", signed=data_type in _ZCL_SIGNED)


def encode_read_attributes(attributes: tuple[int, ...]) -> bytes:
    """Read Attributes payload: attribute ids, little-endian."""
    return b"".join(le(a, 2) for a in attributes)


def decode_read_attributes(payload: bytes) -> tuple[int, ...]:
    """Inverse of :func:`encode_read_attributes`."""
    if len(payload) % 2 or not payload:
        raise DecodeError(0, f"Read Attributes payload of {len(payload)} bytes, expected pairs")
    return tuple(int.from_bytes(payload[i : i + 2], "little") for i in range(0, len(payload), 2))


def decode_attribute_records(payload: bytes) -> tuple[AttributeRecord, ...]:
    """Read Attributes Response records."""
    reader = Reader(payload)
    records = []
    while reader.remaining:
        attribute = int.from_bytes(reader.take(2, "attribute id"), "little")
        status = reader.byte("attribute status")
        if status:
            records.append(AttributeRecord(attribute, status))
            continue
        data_type = reader.byte("attribute data type")
        records.append(AttributeRecord(attribute, 0, data_type, read_zcl_value(reader, data_type)))
    return tuple(records)


@dataclass(frozen=True)
class DefaultResponse:
    """ZCL Default Response: the command it answers and a ZCL status (0 success)."""

    command: int
    status: int

    def encode(self) -> bytes:
        """Two bytes."""
        return bytes([self.command, self.status])

    @classmethod
    def decode(cls, payload: bytes) -> DefaultResponse:
        """Inverse of :meth:`encode`."""
        if len(payload) != 2:
            raise DecodeError(0, f"Default Response of {len(payload)} bytes, expected 2")
        return cls(payload[0], payload[1])
