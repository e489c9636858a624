"""Spinel frames and data types: a pure (sans-I/O) codec.

Sources: the Spinel protocol draft (openthread/spinel-spec, draft-rquattle-spinel-core:
§"Frame Format", §"Data Packing", Appendix "Test Vectors") and OpenThread's
``src/lib/spinel/spinel.h``, which holds the numbers the RCP firmware uses.

A frame is a header byte, a command (packed unsigned integer) and a payload::

    header = FLG (2 bits, always 0b10) | IID (2 bits) | TID (4 bits)

The data types are those of the packing format ("C": uint8, "S": uint16 LE, "i": packed
unsigned integer, "E": EUI-64 big-endian, "d": data with a uint16 length, "D": data to the end,
"t(...)": a struct with a uint16 length, "A(...)": an array to the end, ...). :func:`pack` and
:func:`unpack` take a format string in that notation, so one description per property serves
both directions (devices/spinel/properties.py).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

#: The header's flag bits (spinel.h "FLG ... is always set to the value two").
HEADER_FLAG = 0x80
#: Largest packed unsigned integer: three bytes of seven bits (spinel.h "Packed Unsigned Integer").
PACKED_MAX = (1 << 21) - 1


class SpinelError(ValueError):
    """Bytes that are not what Spinel says they must be: one line naming what is wrong."""


class Command(IntEnum):
    """Command identifiers (spinel.h ``SPINEL_CMD_*``)."""

    NOOP = 0
    RESET = 1
    PROP_VALUE_GET = 2
    PROP_VALUE_SET = 3
    PROP_VALUE_INSERT = 4
    PROP_VALUE_REMOVE = 5
    PROP_VALUE_IS = 6
    PROP_VALUE_INSERTED = 7
    PROP_VALUE_REMOVED = 8


class Status(IntEnum):
    """``PROP_LAST_STATUS`` values (spinel.h ``SPINEL_STATUS_*``), the subset the rig meets."""

    OK = 0
    FAILURE = 1
    UNIMPLEMENTED = 2
    INVALID_ARGUMENT = 3
    INVALID_STATE = 4
    INVALID_COMMAND = 5
    PARSE_ERROR = 9
    BUSY = 12
    PROP_NOT_FOUND = 13
    NO_ACK = 17
    CCA_FAILURE = 18
    ITEM_NOT_FOUND = 20
    RESET_POWER_ON = 112
    RESET_EXTERNAL = 113
    RESET_SOFTWARE = 114

    @classmethod
    def name_of(cls, value: int) -> str:
        """The status's name, or its number when this table does not know it."""
        try:
            return cls(value).name
        except ValueError:
            return f"STATUS_{value}"


class Cap(IntEnum):
    """Capabilities (spinel.h ``SPINEL_CAP_*``) that an RCP for the rig reports."""

    IEEE_802_15_4_2003 = 16
    IEEE_802_15_4_2006 = 17
    IEEE_802_15_4_2450MHZ_OQPSK = 24
    CONFIG_RADIO = 34
    RCP_API_VERSION = 64
    MAC_RAW = 513


class ResetType(IntEnum):
    """The optional payload of ``CMD_RESET`` (spinel.h ``SPINEL_RESET_*``)."""

    PLATFORM = 1
    STACK = 2
    BOOTLOADER = 3


#: The packed integers of one byte, made once (a frame's command and property ids), and the
#: header bytes by ``iid << 4 | tid``.
_ONE_BYTE = tuple(bytes([value]) for value in range(0x80))
_HEADERS = tuple(bytes([HEADER_FLAG | low]) for low in range(0x40))


def encode_packed(value: int) -> bytes:
    """A packed unsigned integer: 7 bits a byte, least significant first, the top bit set on
    every byte but the last (EXI style, at most 3 bytes)."""
    if 0 <= value <= 0x7F:  # one byte: every command and most properties
        return _ONE_BYTE[value]
    if not 0 <= value <= PACKED_MAX:
        raise SpinelError(f"packed unsigned integer out of range: {value}")
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_packed(data: bytes, pos: int = 0) -> tuple[int, int]:
    """(value, next position) of the packed unsigned integer at ``pos``."""
    value = 0
    for shift in (0, 7, 14):
        if pos >= len(data):
            raise SpinelError("packed unsigned integer cut short")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    raise SpinelError("packed unsigned integer longer than 3 bytes")


@dataclass(slots=True)  # not frozen: per frame, frozen costs 5x to build
class SpinelFrame:
    """One Spinel frame: ``tid`` 0 is for frames that need no correlated answer."""

    command: int
    payload: bytes
    tid: int
    iid: int

    # mypyc compiles an explicit __init__; the one @dataclass writes runs interpreted
    # (docs/han.md "Speed of the secured HAN")
    def __init__(self, command: int, payload: bytes = b"", tid: int = 0, iid: int = 0) -> None:
        self.command = command
        self.payload = payload
        self.tid = tid
        self.iid = iid

    def encode(self) -> bytes:
        if not 0 <= self.tid <= 15 or not 0 <= self.iid <= 3:
            raise SpinelError(f"tid {self.tid} or iid {self.iid} out of range")
        header = _HEADERS[self.iid << 4 | self.tid]
        return header + encode_packed(self.command) + self.payload

    @classmethod
    def decode(cls, data: bytes) -> SpinelFrame:
        if not data:
            raise SpinelError("empty Spinel frame")
        header = data[0]
        if header & 0xC0 != HEADER_FLAG:
            raise SpinelError(f"header 0x{header:02X} lacks the Spinel flag bits (0b10)")
        command, pos = decode_packed(data, 1)
        return cls(command, bytes(data[pos:]), header & 0x0F, (header >> 4) & 0x03)


def prop_frame(command: int, prop: int, value: bytes = b"", tid: int = 0) -> SpinelFrame:
    """A property command: the property id (packed) followed by its value."""
    return SpinelFrame(command, encode_packed(prop) + value, tid)


def split_prop(payload: bytes) -> tuple[int, bytes]:
    """(property id, value bytes) of a property command's payload."""
    prop, pos = decode_packed(payload)
    return prop, payload[pos:]


# --- the packing format ------------------------------------------------------------------------

#: Fixed-size types: struct format (little-endian) per character.
_FIXED = {"C": "<B", "c": "<b", "S": "<H", "s": "<h", "L": "<I", "l": "<i", "X": "<Q"}
_STRUCTS = {char: struct.Struct(fmt) for char, fmt in _FIXED.items()}
_BYTES = {"E": 8, "e": 6, "6": 16}

#: A parsed format: characters, and ("t" | "A", sub-format) for structs and arrays.
Node = str | tuple[str, tuple["Node", ...]]


@lru_cache(maxsize=256)
def parse_format(fmt: str) -> tuple[Node, ...]:
    """Parse a packing-format string; raise :class:`SpinelError` for an unknown type."""
    nodes, pos = _parse(fmt, 0)
    if pos != len(fmt):
        raise SpinelError(f"unbalanced ')' in format {fmt!r}")
    return nodes


def _parse(fmt: str, pos: int) -> tuple[tuple[Node, ...], int]:
    nodes: list[Node] = []
    while pos < len(fmt) and fmt[pos] != ")":
        char = fmt[pos]
        if char in "tA":
            if fmt[pos + 1 : pos + 2] != "(":
                raise SpinelError(f"{char} without '(' in format {fmt!r}")
            inner, pos = _parse(fmt, pos + 2)
            if fmt[pos : pos + 1] != ")":
                raise SpinelError(f"unclosed {char}( in format {fmt!r}")
            nodes.append((char, inner))
        elif char in _STRUCTS or char in _BYTES or char in "bidDU":
            nodes.append(char)
        else:
            raise SpinelError(f"unknown data type {char!r} in format {fmt!r}")
        pos += 1
    return tuple(nodes), pos


def pack(fmt: str, *values: object) -> bytes:
    """Encode ``values`` (one per top-level field) as ``fmt`` says. Structs take tuples,
    arrays take lists (of tuples when the item has several fields)."""
    nodes = parse_format(fmt)
    if len(values) > len(nodes):
        raise SpinelError(f"{len(values)} values for format {fmt!r}")
    out = bytearray()
    for node, value in zip(nodes, values, strict=False):  # fewer values: trailing fields omitted
        _pack_one(node, value, out)
    return bytes(out)


def _pack_one(node: Node, value: object, out: bytearray) -> None:
    if isinstance(node, tuple):
        kind, inner = node
        if kind == "t":
            body = pack_nodes(inner, value if isinstance(value, tuple) else (value,))
            out += struct.pack("<H", len(body)) + body
        else:
            for item in value:  # type: ignore[attr-defined]
                out += pack_nodes(inner, item if isinstance(item, tuple) else (item,))
        return
    try:
        if node in _STRUCTS:
            out += _STRUCTS[node].pack(value)
        elif node in _BYTES:
            if not isinstance(value, bytes | bytearray) or len(value) != _BYTES[node]:
                raise SpinelError(f"type {node} needs {_BYTES[node]} bytes, got {value!r}")
            out += value
        elif node == "b":
            out.append(1 if value else 0)
        elif node == "i":
            out += encode_packed(int(value))  # type: ignore[call-overload]
        elif node == "d":
            out += struct.pack("<H", len(value)) + bytes(value)  # type: ignore[arg-type, call-overload]
        elif node == "D":
            out += bytes(value)  # type: ignore[call-overload]
        else:  # "U"
            text = str(value).encode()
            if b"\0" in text:
                raise SpinelError("a UTF-8 string may not contain NUL")
            out += text + b"\0"
    except (struct.error, TypeError, OverflowError) as exc:
        raise SpinelError(f"cannot encode {value!r} as {node}: {exc}") from None


def pack_nodes(nodes: tuple[Node, ...], values: tuple[object, ...]) -> bytes:
    out = bytearray()
    if len(values) != len(nodes):
        raise SpinelError(f"{len(values)} values for {len(nodes)} fields")
    for index, node in enumerate(nodes):  # the lengths are checked above
        _pack_one(node, values[index], out)
    return bytes(out)


def unpack(fmt: str, data: bytes, *, required: int | None = None) -> tuple[object, ...]:
    """Decode ``data`` as ``fmt``: a tuple of the top-level fields. With ``required``, only
    the first ``required`` fields must be present; fields missing at the end are None (Spinel
    metadata "MAY be empty or partially specified"). Bytes after the last field are ignored
    (fields may be appended in later versions: spinel.h "compatibility guideline")."""
    nodes = parse_format(fmt)
    values, _ = _unpack_nodes(nodes, bytes(data), 0, len(data), required)
    return tuple(values)


def _unpack_nodes(
    nodes: tuple[Node, ...], data: bytes, pos: int, end: int, required: int | None
) -> tuple[list[object], int]:
    values: list[object] = []
    for index, node in enumerate(nodes):
        if pos >= end and required is not None and index >= required:
            values.extend([None] * (len(nodes) - index))
            break
        value, pos = _unpack_one(node, data, pos, end)
        values.append(value)
    return values, pos


def _unpack_one(node: Node, data: bytes, pos: int, end: int) -> tuple[object, int]:
    if isinstance(node, tuple):
        kind, inner = node
        if kind == "t":
            length, pos = _unpack_one("S", data, pos, end)
            stop = pos + length  # type: ignore[operator]
            if stop > end:
                raise SpinelError(f"struct of {length} bytes overruns the data")
            fields, _ = _unpack_nodes(inner, data, pos, stop, 0)
            return tuple(fields), stop
        items: list[object] = []
        while pos < end:
            fields, pos = _unpack_nodes(inner, data, pos, end, None)
            items.append(fields[0] if len(fields) == 1 else tuple(fields))
        return items, pos
    if node in _STRUCTS:
        size = _STRUCTS[node].size
        if pos + size > end:
            raise SpinelError(f"type {node} needs {size} bytes, {end - pos} left")
        return _STRUCTS[node].unpack_from(data, pos)[0], pos + size
    if node in _BYTES:
        size = _BYTES[node]
        if pos + size > end:
            raise SpinelError(f"type {node} needs {size} bytes, {end - pos} left")
        return data[pos : pos + size], pos + size
    if node == "b":
        if pos >= end:
            raise SpinelError("boolean missing")
        if data[pos] > 1:
            raise SpinelError(f"boolean byte 0x{data[pos]:02X} is neither 0 nor 1")
        return data[pos] == 1, pos + 1
    if node == "i":
        value, stop = decode_packed(data[:end], pos)
        return value, stop
    if node == "d":
        length, pos = _unpack_one("S", data, pos, end)
        stop = pos + length  # type: ignore[operator]
        if stop > end:
            raise SpinelError(f"data of {length} bytes overruns the frame")
        return data[pos:stop], stop
    if node == "D":
        return data[pos:end], end
    stop = data.find(b"\0", pos, end)  # "U"
    if stop < 0:
        raise SpinelError("UTF-8 string without its terminating NUL")
    try:
        return data[pos:stop].decode(), stop + 1
    except UnicodeDecodeError:
        raise SpinelError("string is not UTF-8") from None
