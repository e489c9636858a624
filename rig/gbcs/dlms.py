"""Minimal A-XDR data and xDLMS ACCESS / Data-Notification APDUs (reference/gbcs.md §1.2, §1.7).

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

DataValue = int | bytes | str | tuple["Data", ...] | None


@dataclass(frozen=True)
class Data:
    """One A-XDR value.

    ``value`` is an int for integer types (boolean, enum and bcd included), bytes for strings and
    the fixed-size float / date / time types, a tuple of :class:`Data` for arrays and structures,
    a string of ``0``/``1`` for a bit-string, and None for null-data and dont-care.
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
        tag, value = Tag(self.tag), self.value
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
        if not isinstance(value, tuple):
            raise ValueError(f"{tag.name} needs a tuple of Data")
        return head + encode_length(len(value)) + b"".join(item.encode() for item in value)


def decode_data(reader: Reader, depth: int = 0) -> Data:
    """One A-XDR value from ``reader``."""
    at = reader.offset
    raw_tag = reader.byte("data type tag")
    if raw_tag not in Tag._value2member_map_:
        raise DecodeError(at, f"A-XDR type 0x{raw_tag:02X} not supported")
    tag = Tag(raw_tag)
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
        raise DecodeError(at, f"data nested deeper than {_MAX_DEPTH}")
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
    """ACCESS request / response specification choice."""

    GET = 1
    SET = 2
    ACTION = 3


@dataclass(frozen=True)
class AccessSpec:
    """A COSEM attribute (GET/SET) or method (ACTION) reference."""

    kind: AccessKind
    class_id: int
    obis: bytes
    index: int

    def encode(self) -> bytes:
        """Choice, class id, logical name, attribute or method id."""
        if len(self.obis) != _OBIS_LENGTH:
            raise ValueError(f"OBIS code must be {_OBIS_LENGTH} bytes")
        return (
            bytes([self.kind]) + self.class_id.to_bytes(2, "big") + self.obis + bytes([self.index])
        )


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


def _kind(reader: Reader, what: str) -> AccessKind:
    at = reader.offset
    choice = reader.byte(what)
    if choice not in AccessKind._value2member_map_:
        raise DecodeError(at, f"{what} {choice}, expected 1 (GET), 2 (SET) or 3 (ACTION)")
    return AccessKind(choice)


def _decode_spec(reader: Reader) -> AccessSpec:
    kind = _kind(reader, "access-request-specification choice")
    class_id = reader.uint(2, "class-id")
    obis = reader.take(_OBIS_LENGTH, "logical name")
    return AccessSpec(kind, class_id, obis, reader.byte("attribute / method id"))


def _decode_result(reader: Reader) -> AccessResult:
    kind = _kind(reader, "access-response-specification choice")
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
