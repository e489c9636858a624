"""A-XDR data and xDLMS ACCESS / Data-Notification APDUs (reference/gbcs.md §1.2, §1.7).

Every A-XDR type GBCS uses, compact-array (IEC 62056-5-3 ``TypeDescription``) included, and the
five ACCESS request specifications (GET, SET, ACTION and GET / SET with selective access: the
RTDS's profile reads, ECS23 / ECS20a / ECS35x / ECS61c, carry a range descriptor).

Decoders are bounds-checked (:mod:`rig.gbcs.wire`), limit nesting depth, and raise only
:class:`~rig.gbcs.errors.DecodeError`; offsets are relative to the start of the payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

from rig.gbcs.errors import DecodeError
from rig.gbcs.wire import Reader, encode_length

ACCESS_REQUEST = 0xD9
ACCESS_RESPONSE = 0xDA
DATA_NOTIFICATION = 0x0F
#: Flag byte of the long-invoke-id-and-priority in every GBCS DLMS payload (§1.2).
INVOKE_ID_FLAGS = 0x20
_MAX_DEPTH = 16
_OBIS_LENGTH = 6
_DATE_TIME_LENGTH = 12


class Tag(IntEnum):
    """A-XDR data type tags (the subset GBCS uses)."""

    NULL = 0x00
    ARRAY = 0x01
    STRUCTURE = 0x02
    BOOLEAN = 0x03
    BIT_STRING = 0x04
    DOUBLE_LONG = 0x05
    DOUBLE_LONG_UNSIGNED = 0x06
    OCTET_STRING = 0x09
    VISIBLE_STRING = 0x0A
    UTF8_STRING = 0x0C
    COMPACT_ARRAY = 0x13
    BCD = 0x0D
    INTEGER = 0x0F
    LONG = 0x10
    UNSIGNED = 0x11
    LONG_UNSIGNED = 0x12
    LONG64 = 0x14
    LONG64_UNSIGNED = 0x15
    ENUM = 0x16
    FLOAT32 = 0x17
    FLOAT64 = 0x18
    DATE_TIME = 0x19
    DATE = 0x1A
    TIME = 0x1B
    DONT_CARE = 0xFF


#: Integer types: (size in bytes, signed).
_INTEGERS = {
    Tag.BOOLEAN: (1, False),
    Tag.DOUBLE_LONG: (4, True),
    Tag.DOUBLE_LONG_UNSIGNED: (4, False),
    Tag.BCD: (1, False),
    Tag.INTEGER: (1, True),
    Tag.LONG: (2, True),
    Tag.UNSIGNED: (1, False),
    Tag.LONG_UNSIGNED: (2, False),
    Tag.LONG64: (8, True),
    Tag.LONG64_UNSIGNED: (8, False),
    Tag.ENUM: (1, False),
}
#: Fixed-size types kept as raw bytes.
_FIXED_BYTES = {Tag.FLOAT32: 4, Tag.FLOAT64: 8, Tag.DATE_TIME: 12, Tag.DATE: 5, Tag.TIME: 4}
_STRINGS = {Tag.OCTET_STRING, Tag.VISIBLE_STRING, Tag.UTF8_STRING}
_SEQUENCES = {Tag.ARRAY, Tag.STRUCTURE}
_EMPTY = {Tag.NULL, Tag.DONT_CARE}
#: Tag members by byte value (a dict lookup, cheaper than calling the enum).
_TAGS: dict[int, Tag] = {t.value: t for t in Tag}


@dataclass(frozen=True)
class Data:
    """One A-XDR value.

    ``value`` is an int for integer types (boolean, enum and bcd included), bytes for strings and
    the fixed-size float / date / time types, a tuple of :class:`Data` for arrays and structures,
    a string of ``0``/``1`` for a bit-string, a :class:`CompactArray` for a compact-array and
    None for null-data and dont-care.
    """

    tag: Tag
    value: DataValue = None

    @classmethod
    def null(cls) -> Data:
        """null-data."""
        return cls(Tag.NULL)

    @classmethod
    def octet_string(cls, value: bytes) -> Data:
        """An octet-string."""
        return cls(Tag.OCTET_STRING, value)

    @classmethod
    def enum(cls, value: int) -> Data:
        """An enum."""
        return cls(Tag.ENUM, value)

    @classmethod
    def long_unsigned(cls, value: int) -> Data:
        """A long-unsigned (16 bits)."""
        return cls(Tag.LONG_UNSIGNED, value)

    @classmethod
    def structure(cls, *items: Data) -> Data:
        """A structure."""
        return cls(Tag.STRUCTURE, items)

    def encode(self) -> bytes:
        """A-XDR bytes, tag first."""
        tag, value = self.tag, self.value
        if type(tag) is not Tag:
            tag = Tag(tag)
        head = bytes([tag])
        if tag in _EMPTY:
            if value is not None:
                raise ValueError(f"{tag.name} carries no value")
            return head
        if tag in _INTEGERS:
            size, signed = _INTEGERS[tag]
            if not isinstance(value, int):
                raise ValueError(f"{tag.name} needs an int")
            try:
                return head + value.to_bytes(size, "big", signed=signed)
            except OverflowError:
                raise ValueError(f"{value} does not fit in {tag.name}") from None
        if tag in _FIXED_BYTES:
            if not isinstance(value, bytes) or len(value) != _FIXED_BYTES[tag]:
                raise ValueError(f"{tag.name} needs {_FIXED_BYTES[tag]} bytes")
            return head + value
        if tag in _STRINGS:
            if not isinstance(value, bytes):
                raise ValueError(f"{tag.name} needs bytes")
            return head + encode_length(len(value)) + value
        if tag is Tag.BIT_STRING:
            if not isinstance(value, str) or set(value) - {"0", "1"}:
                raise ValueError("BIT_STRING needs a string of 0 and 1")
            padded = value + "0" * (-len(value) % 8)
            packed = int(padded, 2).to_bytes(len(padded) // 8, "big") if padded else b""
            return head + encode_length(len(value)) + packed
        if tag is Tag.COMPACT_ARRAY:
            if not isinstance(value, CompactArray):
                raise ValueError("COMPACT_ARRAY needs a CompactArray")
            return head + value.encode()
        if not isinstance(value, tuple):
            raise ValueError(f"{tag.name} needs a tuple of Data")
        return head + encode_length(len(value)) + b"".join(item.encode() for item in value)


@dataclass(frozen=True)
class TypeDescription:
    """The element type of a compact-array: a simple type, a structure of ``items``, or an
    array of ``count`` elements of ``items[0]`` (IEC 62056-5-3 ``TypeDescription``)."""

    tag: Tag
    items: tuple[TypeDescription, ...] = ()
    count: int = 0

    def encode(self) -> bytes:
        """Tag, then a structure's count and members or an array's 16-bit count and type."""
        tag = Tag(self.tag)
        if tag is Tag.STRUCTURE:
            return bytes([tag]) + encode_length(len(self.items)) + _join(self.items)
        if tag is Tag.ARRAY:
            if len(self.items) != 1:
                raise ValueError("an array type description has one element type")
            return bytes([tag]) + self.count.to_bytes(2, "big") + self.items[0].encode()
        if tag is Tag.COMPACT_ARRAY or self.items or self.count:
            raise ValueError(f"{tag.name} is not a compact-array element type")
        return bytes([tag])

    def min_size(self) -> int:
        """The fewest content bytes one element of this type takes."""
        if self.tag is Tag.STRUCTURE:
            return sum(item.min_size() for item in self.items)
        if self.tag is Tag.ARRAY:
            return self.count * self.items[0].min_size()
        if self.tag in _INTEGERS:
            return _INTEGERS[self.tag][0]
        if self.tag in _FIXED_BYTES:
            return _FIXED_BYTES[self.tag]
        return 0 if self.tag in _EMPTY else 1


@dataclass(frozen=True)
class CompactArray:
    """A compact-array: its element type and the elements, each a :class:`Data` of that type."""

    description: TypeDescription
    rows: tuple[Data, ...]

    def encode(self) -> bytes:
        """Type description, then the untagged elements as one octet-string."""
        if self.rows and self.description.min_size() == 0:
            raise ValueError("compact-array elements of no bytes")
        contents = b"".join(_untagged(self.description, row) for row in self.rows)
        return self.description.encode() + encode_length(len(contents)) + contents


DataValue = int | bytes | str | tuple[Data, ...] | CompactArray | None


def _join(items: tuple[TypeDescription, ...]) -> bytes:
    return b"".join(item.encode() for item in items)


def _untagged(description: TypeDescription, data: Data) -> bytes:
    """One compact-array element: A-XDR without the tags and counts its type fixes."""
    if data.tag is not description.tag:
        raise ValueError(f"compact-array element {data.tag.name}, type is {description.tag.name}")
    if description.tag not in _SEQUENCES:
        return data.encode()[1:]
    items = data.value if isinstance(data.value, tuple) else ()
    types = description.items
    if description.tag is Tag.ARRAY:
        types = types * description.count
    if len(items) != len(types):
        raise ValueError(f"compact-array {data.tag.name} of {len(items)}, type has {len(types)}")
    return b"".join(_untagged(t, item) for t, item in zip(types, items, strict=True))


def _decode_description(reader: Reader, depth: int) -> TypeDescription:
    at = reader.offset
    raw_tag = reader.byte("type description tag")
    if raw_tag not in Tag._value2member_map_ or raw_tag == Tag.COMPACT_ARRAY:
        raise DecodeError(at, f"compact-array element type 0x{raw_tag:02X} not supported")
    tag = Tag(raw_tag)
    if tag not in _SEQUENCES:
        return TypeDescription(tag)
    if depth >= _MAX_DEPTH:
        raise DecodeError(at, f"type description nested deeper than {_MAX_DEPTH}")
    if tag is Tag.ARRAY:
        count = reader.uint(2, "type description element count")
        return TypeDescription(tag, (_decode_description(reader, depth + 1),), count)
    count = reader.length("type description member count")
    return TypeDescription(tag, tuple(_decode_description(reader, depth + 1) for _ in range(count)))


def _decode_compact(reader: Reader, depth: int) -> CompactArray:
    at = reader.offset
    description = _decode_description(reader, depth)
    size = reader.length("compact-array contents length")
    if size and description.min_size() == 0:
        raise DecodeError(at, "compact-array elements of no bytes")
    base = reader.offset
    contents = Reader(reader.take(size, "compact-array contents"), base=base)
    rows = []
    while contents.remaining:
        rows.append(_decode_element(contents, description, depth))
    return CompactArray(description, tuple(rows))


def _decode_element(reader: Reader, description: TypeDescription, depth: int) -> Data:
    tag = description.tag
    if tag not in _SEQUENCES:
        return _decode_value(reader, tag, depth)
    types = description.items
    if tag is Tag.ARRAY:
        types = types * description.count
    return Data(tag, tuple(_decode_element(reader, t, depth + 1) for t in types))


def decode_data(reader: Reader, depth: int = 0) -> Data:
    """One A-XDR value from ``reader``."""
    raw_tag = reader.byte("data type tag")
    tag = _TAGS.get(raw_tag)
    if tag is None:
        raise DecodeError(reader.offset - 1, f"A-XDR type 0x{raw_tag:02X} not supported")
    return _decode_value(reader, tag, depth)


def _decode_value(reader: Reader, tag: Tag, depth: int) -> Data:
    """The value of a ``tag`` whose tag byte is read already."""
    if tag in _EMPTY:
        return Data(tag)
    if tag in _INTEGERS:
        size, signed = _INTEGERS[tag]
        return Data(tag, int.from_bytes(reader.take(size, tag.name), "big", signed=signed))
    if tag in _FIXED_BYTES:
        return Data(tag, reader.take(_FIXED_BYTES[tag], tag.name))
    if tag in _STRINGS:
        return Data(tag, reader.take(reader.length(f"{tag.name} length"), tag.name))
    if tag is Tag.BIT_STRING:
        bits = reader.length("BIT_STRING length", per_byte=8)
        packed = reader.take((bits + 7) // 8, "BIT_STRING")
        text = "".join(f"{byte:08b}" for byte in packed)
        return Data(tag, text[:bits])
    if depth >= _MAX_DEPTH:
        raise DecodeError(reader.offset - 1, f"data nested deeper than {_MAX_DEPTH}")
    if tag is Tag.COMPACT_ARRAY:
        return Data(tag, _decode_compact(reader, depth + 1))
    count = reader.length(f"{tag.name} count")
    return Data(tag, tuple(decode_data(reader, depth + 1) for _ in range(count)))


def invoke_id(counter: int) -> int:
    """long-invoke-id-and-priority: flags 0x20 and the low 24 bits of the counter (§1.2)."""
    return INVOKE_ID_FLAGS << 24 | counter & 0xFFFFFF


def with_invoke_id(apdu: bytes, counter: int) -> bytes:
    """A DLMS APDU's bytes with the invoke-id of ``counter`` in place of its own (bytes 1-4):
    an APDU encoded once serves every transaction (issue 6)."""
    return apdu[:1] + invoke_id(counter).to_bytes(4, "big") + apdu[5:]


class AccessKind(IntEnum):
    """ACCESS request specification choice; a response's is 1-3 (a GET with selection is
    answered as a GET)."""

    GET = 1
    SET = 2
    ACTION = 3
    GET_WITH_SELECTION = 4
    SET_WITH_SELECTION = 5


_SELECTIVE_KINDS = (AccessKind.GET_WITH_SELECTION, AccessKind.SET_WITH_SELECTION)
#: AccessKind members by value (a dict lookup, cheaper than calling the enum).
_KINDS: dict[int, AccessKind] = {k.value: k for k in AccessKind}


@dataclass(frozen=True)
class Selection:
    """A selective-access descriptor: the access selector and its parameters (e.g. selector 1,
    a range descriptor of profile generic, class 7)."""

    selector: int
    parameters: Data


@dataclass(frozen=True)
class AccessSpec:
    """A COSEM attribute (GET/SET) or method (ACTION) reference, with its selective access
    for the ``*_WITH_SELECTION`` kinds."""

    kind: AccessKind
    class_id: int
    obis: bytes
    index: int
    selection: Selection | None = None

    def encode(self) -> bytes:
        """Choice, class id, logical name, attribute or method id[, selector, parameters]."""
        if len(self.obis) != _OBIS_LENGTH:
            raise ValueError(f"OBIS code must be {_OBIS_LENGTH} bytes")
        head = (
            bytes([self.kind]) + self.class_id.to_bytes(2, "big") + self.obis + bytes([self.index])
        )
        if (self.selection is not None) != (self.kind in _SELECTIVE_KINDS):
            raise ValueError(f"{AccessKind(self.kind).name}: selective access mismatch")
        if self.selection is None:
            return head
        return head + bytes([self.selection.selector]) + self.selection.parameters.encode()


@dataclass(frozen=True)
class AccessResult:
    """One entry of an ACCESS-Response result list."""

    kind: AccessKind
    result: int


@dataclass(frozen=True)
class AccessRequest:
    """xDLMS ACCESS-Request (``D9``)."""

    invoke_id: int
    specs: tuple[AccessSpec, ...]
    data: tuple[Data, ...]
    date_time: bytes = b""

    def encode(self) -> bytes:
        """APDU bytes."""
        return (
            _header(ACCESS_REQUEST, self.invoke_id, self.date_time)
            + encode_length(len(self.specs))
            + b"".join(spec.encode() for spec in self.specs)
            + _encode_list(self.data)
        )


@dataclass(frozen=True)
class AccessResponse:
    """xDLMS ACCESS-Response (``DA``) without the optional echo of the request specification."""

    invoke_id: int
    data: tuple[Data, ...]
    results: tuple[AccessResult, ...]
    date_time: bytes = b""

    def encode(self) -> bytes:
        """APDU bytes."""
        return (
            _header(ACCESS_RESPONSE, self.invoke_id, self.date_time)
            + b"\x00"
            + _encode_list(self.data)
            + encode_length(len(self.results))
            + b"".join(bytes([r.kind, r.result]) for r in self.results)
        )


@dataclass(frozen=True)
class DataNotification:
    """DLMS Data-Notification (``0F``), the body of DLMS alerts."""

    invoke_id: int
    body: Data
    date_time: bytes = b""

    def encode(self) -> bytes:
        """APDU bytes."""
        return _header(DATA_NOTIFICATION, self.invoke_id, self.date_time) + self.body.encode()


Apdu = AccessRequest | AccessResponse | DataNotification


def _header(tag: int, invoke: int, date_time: bytes) -> bytes:
    return bytes([tag]) + invoke.to_bytes(4, "big") + encode_length(len(date_time)) + date_time


def _encode_list(items: tuple[Data, ...]) -> bytes:
    return encode_length(len(items)) + b"".join(item.encode() for item in items)


def decode_apdu(payload: bytes) -> Apdu:
    """Decode a DLMS payload; anything else, or trailing bytes, raises DecodeError."""
    reader = Reader(payload)
    tag = reader.byte("DLMS APDU tag")
    invoke = reader.uint(4, "invoke-id")
    at = reader.offset
    date_time = reader.take(reader.length("date-time length"), "date-time")
    if len(date_time) not in (0, _DATE_TIME_LENGTH):
        raise DecodeError(at, f"date-time length {len(date_time)}, expected 0 or 12")
    apdu: Apdu
    if tag == ACCESS_REQUEST:
        count = reader.length("access-request-specification count")
        specs = tuple(_decode_spec(reader) for _ in range(count))
        apdu = AccessRequest(invoke, specs, _decode_list(reader, "list-of-data"), date_time)
    elif tag == ACCESS_RESPONSE:
        reader.expect(0, "access-request-specification (must be absent)")
        data = _decode_list(reader, "list-of-data")
        count = reader.length("access-response-specification count")
        results = tuple(_decode_result(reader) for _ in range(count))
        apdu = AccessResponse(invoke, data, results, date_time)
    elif tag == DATA_NOTIFICATION:
        apdu = DataNotification(invoke, decode_data(reader), date_time)
    else:
        raise DecodeError(0, f"DLMS APDU tag 0x{tag:02X}, expected D9, DA or 0F")
    reader.expect_end("the DLMS APDU")
    return apdu


def _kind(reader: Reader, what: str, last: AccessKind) -> AccessKind:
    at = reader.offset
    choice = reader.byte(what)
    if not AccessKind.GET <= choice <= last:
        raise DecodeError(at, f"{what} {choice}, expected 1 to {int(last)} (GET .. {last.name})")
    return _KINDS[choice]


def _decode_spec(reader: Reader) -> AccessSpec:
    kind = _kind(reader, "access-request-specification choice", AccessKind.SET_WITH_SELECTION)
    class_id = reader.uint(2, "class-id")
    obis = reader.take(_OBIS_LENGTH, "logical name")
    index = reader.byte("attribute / method id")
    if kind not in _SELECTIVE_KINDS:
        return AccessSpec(kind, class_id, obis, index)
    selector = reader.byte("access selector")
    return AccessSpec(kind, class_id, obis, index, Selection(selector, decode_data(reader)))


def _decode_result(reader: Reader) -> AccessResult:
    kind = _kind(reader, "access-response-specification choice", AccessKind.ACTION)
    return AccessResult(kind, reader.byte("result"))


def _decode_list(reader: Reader, what: str) -> tuple[Data, ...]:
    count = reader.length(f"{what} count")
    return tuple(decode_data(reader) for _ in range(count))


def cosem_datetime(moment: datetime) -> bytes:
    """12-byte COSEM date-time in UTC, shaped like RTDS's ``07DF0101FF000000008000FF``.

    Day of week, deviation and clock status are "not specified", hundredths zero.
    """
    if moment.tzinfo is None:
        raise ValueError("cosem_datetime needs an aware datetime")
    t = moment.astimezone(UTC)
    return (
        t.year.to_bytes(2, "big")
        + bytes([t.month, t.day, 0xFF, t.hour, t.minute, t.second, 0])
        + b"\x80\x00\xff"
    )


def parse_cosem_datetime(raw: bytes) -> datetime:
    """The UTC moment of a 12-byte COSEM date-time with date and time fields all specified."""
    if len(raw) != _DATE_TIME_LENGTH:
        raise DecodeError(0, f"COSEM date-time is {len(raw)} bytes, expected 12")
    year = int.from_bytes(raw[:2], "big")
    month, day, hour, minute, second = raw[2], raw[3], raw[5], raw[6], raw[7]
    hundredths = 0 if raw[8] == 0xFF else raw[8]
    try:
        return datetime(year, month, day, hour, minute, second, hundredths * 10_000, tzinfo=UTC)
    except ValueError as exc:
        raise DecodeError(0, f"COSEM date-time {raw.hex()} not a specific moment: {exc}") from None
