"""A declarative description of ZCL payloads, used both ways (reference/gbcs.md §1.7).

One description per structure, in the manner of scapy's and zigpy's field lists: :func:`struct`
turns a list of ``(name, codec)`` into a frozen dataclass whose ``read`` and ``encode`` both
walk that list, so decode and encode cannot drift apart. ZCL integers are little-endian.

Codecs: :class:`Int` (``U8``…``U64``, ``S8``…``S32``; UTC times and bitmaps are unsigned
integers of their size), :class:`OctetString` (1-byte length; ZCL octet and character strings
are both kept as bytes, so every byte survives), :class:`Many` (a repeated item up to the end of
the payload, or as often as an earlier count field says), :class:`Opt` (a trailing field a
device may leave out: None when absent, and only a run of trailing fields may be absent),
:class:`Switch` (a field whose layout an earlier field selects) and :class:`Rest` (the named
opaque tail of a structure whose layout the specification leaves open).

A codec's values are of its ``read``'s return type (:func:`hint_of`), so each structure's
dataclass is typed field by field; a :class:`Switch` field's type comes from the field it
switches on (:meth:`Struct.description_hints`). :mod:`rig.gbcs.describe` maps them to JSON.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, fields, make_dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from rig.gbcs.gbz import le
from rig.gbcs.wire import Reader


class Codec(Protocol):
    """Reads one value from a reader and writes it back."""

    def read(self, reader: Reader) -> Any: ...

    def write(self, value: Any) -> bytes: ...


def hint_of(codec: Codec) -> Any:
    """The type of ``codec``'s values: a structure class itself, a codec's ``hint`` if it has
    one, else its ``read``'s return type."""
    if isinstance(codec, type):
        return codec
    hint = getattr(codec, "hint", None)
    return typing.get_type_hints(codec.read).get("return", Any) if hint is None else hint


@dataclass(frozen=True)
class Int:
    """An integer of ``size`` bytes: little-endian (ZCL), or big-endian (``big``: GBZ headers)."""

    size: int
    signed: bool = False
    big: bool = False

    def read(self, reader: Reader) -> int:
        """The integer."""
        raw = reader.take(self.size, f"{self.size}-byte integer")
        return int.from_bytes(raw, "big" if self.big else "little", signed=self.signed)

    def write(self, value: int) -> bytes:
        """Its bytes; ValueError if it does not fit."""
        if not isinstance(value, int):
            raise ValueError(f"{value!r} is not an integer")
        raw = le(value, self.size, self.signed)
        return raw[::-1] if self.big else raw


U8, U16, U24, U32, U40, U48, U56, U64 = (Int(n) for n in range(1, 9))
S8, S16, S24, S32 = (Int(n, True) for n in range(1, 5))
#: ZCL UTCTime: seconds since 2000-01-01 UTC (rig.gbcs.gbz.parse_gbz_time turns it into a date).
UTC = U32


@dataclass(frozen=True)
class OctetString:
    """A ZCL octet or character string: a length byte (``size`` bytes of length) and the bytes."""

    size: int = 1

    def read(self, reader: Reader) -> bytes:
        """The bytes."""
        n = int.from_bytes(reader.take(self.size, "string length"), "little")
        return reader.take(n, "string")

    def write(self, value: bytes) -> bytes:
        """Length and bytes."""
        if not isinstance(value, bytes):
            raise ValueError(f"{value!r} is not bytes")
        return le(len(value), self.size) + value


STRING = OctetString()


@dataclass(frozen=True)
class Fixed:
    """``size`` raw bytes (a ZCL Date, a 128-bit key)."""

    size: int

    def read(self, reader: Reader) -> bytes:
        """The bytes."""
        return reader.take(self.size, f"{self.size}-byte field")

    def write(self, value: bytes) -> bytes:
        """The bytes, which must be ``size`` long."""
        if not isinstance(value, bytes) or len(value) != self.size:
            raise ValueError(f"expected {self.size} bytes, got {value!r}")
        return value


@dataclass(frozen=True)
class Rest:
    """The rest of the payload, as bytes: where the specification gives no layout."""

    def read(self, reader: Reader) -> bytes:
        """Everything left."""
        return reader.take(reader.remaining, "opaque tail")

    def write(self, value: bytes) -> bytes:
        """The bytes unchanged."""
        if not isinstance(value, bytes):
            raise ValueError(f"{value!r} is not bytes")
        return value


REST = Rest()


@dataclass(frozen=True)
class Many:
    """A tuple of ``item``: up to the end of the payload, or exactly ``count`` items where an
    earlier field of the same structure holds the count (written as given, never recomputed)."""

    item: Codec
    count: str | None = None

    @property
    def hint(self) -> Any:
        """A tuple of the item's type."""
        return tuple[hint_of(self.item), ...]  # type: ignore[misc]

    def read(self, reader: Reader, n: int | None = None) -> tuple[Any, ...]:
        """The items: ``n`` of them, or up to the end."""
        if n is not None:
            return tuple(self.item.read(reader) for _ in range(n))
        items = []
        while reader.remaining:
            start = reader.pos
            items.append(self.item.read(reader))
            if reader.pos == start:
                raise reader.fail("a repeated ZCL item of no bytes")
        return tuple(items)

    def write(self, value: tuple[Any, ...]) -> bytes:
        """The items back to back."""
        if not isinstance(value, tuple):
            raise ValueError(f"{value!r} is not a tuple")
        return b"".join(self.item.write(v) for v in value)


@dataclass(frozen=True)
class Opt:
    """A trailing field a device may omit (SE 1.2a added fields at the end of older commands)."""

    item: Codec

    @property
    def hint(self) -> Any:
        """The item's type, or None."""
        return hint_of(self.item) | None

    def read(self, reader: Reader) -> Any:
        """None when the payload has ended."""
        return self.item.read(reader) if reader.remaining else None

    def write(self, value: Any) -> bytes:
        """Nothing for None."""
        return b"" if value is None else self.item.write(value)


@dataclass(frozen=True)
class Switch:
    """A field laid out by the value of an earlier field ``on`` (``default`` for other values)."""

    on: str
    cases: dict[int, Codec]
    default: Codec = REST

    def pick(self, values: dict[str, Any]) -> Codec:
        """The codec for the values read so far."""
        return self.cases.get(values.get(self.on), self.default)  # type: ignore[arg-type]

    def read(self, reader: Reader) -> Any:
        """Only through :func:`struct` (which knows the selector)."""
        raise TypeError("a Switch is read by its structure")

    def write(self, value: Any) -> bytes:
        """Only through :func:`struct`."""
        raise TypeError("a Switch is written by its structure")


class Struct:
    """Base of the classes :func:`struct` makes: ``read``/``parse`` and ``encode``."""

    LAYOUT: ClassVar[tuple[tuple[str, Codec], ...]] = ()

    if TYPE_CHECKING:  # the fields: those of the dataclass struct() makes, unseen by mypy

        def __init__(self, *args: Any, **kwargs: Any) -> None: ...

    @classmethod
    def description_hints(cls, values: dict[str, Any]) -> dict[str, Any]:
        """The types of the :class:`Switch` fields, picked by the other ``values``."""
        return {n: hint_of(c.pick(values)) for n, c in cls.LAYOUT if isinstance(c, Switch)}

    @classmethod
    def read(cls, reader: Reader) -> Any:
        """The fields in order."""
        values: dict[str, Any] = {}
        for name, codec in cls.LAYOUT:
            if isinstance(codec, Switch):
                codec = codec.pick(values)
            if isinstance(codec, Many) and codec.count is not None:
                values[name] = codec.read(reader, values[codec.count])
            else:
                values[name] = codec.read(reader)
        return cls(**values)

    @classmethod
    def parse(cls, payload: bytes) -> Any:
        """A structure that fills ``payload`` exactly."""
        reader = Reader(payload)
        obj = cls.read(reader)
        reader.expect_end(cls.__name__)
        return obj

    @classmethod
    def write(cls, value: Any) -> bytes:
        """As a codec: ``value.encode()``."""
        if not isinstance(value, cls):
            raise ValueError(f"{value!r} is not a {cls.__name__}")
        return value.encode()

    def encode(self) -> bytes:
        """The fields in order; ValueError if an optional field is followed by a present one."""
        parts = []
        values = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        absent = None
        for name, codec in self.LAYOUT:
            value = values[name]
            if isinstance(codec, Switch):
                codec = codec.pick(values)
            if isinstance(codec, Opt) and value is None:
                absent = name
                continue
            if absent is not None:
                raise ValueError(f"{name} is given but the earlier optional {absent} is not")
            parts.append(codec.write(value))
        return b"".join(parts)


def struct(name: str, doc: str, *layout: tuple[str, Codec]) -> type[Struct]:
    """A frozen dataclass named ``name`` with one field per ``(name, codec)`` of ``layout``."""
    spec: list[tuple[Any, ...]] = []
    for n, c in layout:
        hint = Any if isinstance(c, Switch) else hint_of(c)
        spec.append((n, hint, None) if isinstance(c, Opt) else (n, hint))
    cls = make_dataclass(
        name, spec, bases=(Struct,), frozen=True, namespace={"LAYOUT": layout, "__doc__": doc}
    )
    cls.__module__ = __name__
    return cls
