"""Declarative A-XDR schemas: one description per COSEM structure, used both ways.

A schema maps an A-XDR :class:`~rig.gbcs.dlms.Data` to a named Python value (:meth:`Schema.decode`)
and back (:meth:`Schema.encode`), from the same description, as scapy's fields and zigpy's
``Struct`` do. :class:`Struct` makes a frozen dataclass whose fields are the members of an A-XDR
structure; :class:`ArrayOf` a tuple; the leaves an int, bytes, a bit-string, an
:class:`Obis` code or a COSEM date / time / date-time carried in an octet-string (IEC 62056-6-2
§4.1.6; the forms GBCS uses, reference/gbcs.md §1.7). A value the schema does not describe
raises :class:`Mismatch`; every decode is exact, so ``encode(decode(d)) == d``. Each schema's
:attr:`Schema.hint` is the Python type of its values, so a :class:`Struct`'s dataclass is typed
field by field (what :mod:`rig.gbcs.describe` maps to and from JSON).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rig.gbcs.dlms import Data, Tag
from rig.gbcs.errors import DecodeError
from rig.gbcs.esme_tariff import CosemDate, CosemDateTime, CosemTime

_OBIS_LENGTH = 6
_TRUE = 0xFF


class Mismatch(ValueError):
    """A-XDR data that does not have the shape a schema describes."""


@dataclass(frozen=True)
class Obis:
    """A COSEM logical name (OBIS code, 6 bytes), shown as ``A-B:C.D.E.F``."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != _OBIS_LENGTH:
            raise ValueError(f"an OBIS code is {_OBIS_LENGTH} bytes, not {len(self.raw)}")

    def __str__(self) -> str:
        a, b, c, d, e, f = self.raw
        return f"{a}-{b}:{c}.{d}.{e}.{f}"

    @classmethod
    def parse(cls, text: str) -> Obis:
        """``A-B:C.D.E.F`` to an OBIS code."""
        a, rest = text.split("-", 1)
        b, rest = rest.split(":", 1)
        return cls(bytes(int(part) for part in (a, b, *rest.split("."))))


class Schema:
    """Maps one A-XDR value to a Python value and back."""

    @property
    def hint(self) -> Any:
        """The type of the values :meth:`decode` returns."""
        raise NotImplementedError

    def decode(self, data: Data) -> Any:
        """The named value of ``data``; :class:`Mismatch` if it has another shape."""
        raise NotImplementedError

    def encode(self, value: Any) -> Data:
        """The A-XDR value of ``value``."""
        raise NotImplementedError


class AnyData(Schema):
    """Data of any type, kept as :class:`Data` (COSEM attributes typed ``CHOICE``)."""

    hint = Data

    def decode(self, data: Data) -> Data:
        """``data`` itself."""
        return data

    def encode(self, value: Any) -> Data:
        """``value``, which must be :class:`Data`."""
        if not isinstance(value, Data):
            raise Mismatch(f"expected Data, got {type(value).__name__}")
        return value


@dataclass(frozen=True)
class Scalar(Schema):
    """A value of one A-XDR type: int for integers and enums, bytes for octet-strings, a
    ``0``/``1`` string for a bit-string, None for null-data."""

    tag: Tag

    @property
    def hint(self) -> Any:
        """int, bytes, str (a bit-string) or None, by the tag."""
        if self.tag is Tag.NULL:
            return type(None)
        if self.tag is Tag.BIT_STRING:
            return str
        return bytes if self.tag in (Tag.OCTET_STRING, Tag.VISIBLE_STRING) else int

    def decode(self, data: Data) -> Any:
        """The value, if ``data`` has this tag."""
        if data.tag is not self.tag:
            raise Mismatch(f"expected {self.tag.name}, got {data.tag.name}")
        return data.value

    def encode(self, value: Any) -> Data:
        """A :class:`Data` of this tag."""
        return Data(self.tag, value)


class Boolean(Schema):
    """An A-XDR boolean in GBCS's form: 0x00 False, 0xFF True (others stay :class:`Data`)."""

    hint = bool

    def decode(self, data: Data) -> bool:
        """True or False."""
        if data.tag is not Tag.BOOLEAN or data.value not in (0, _TRUE):
            raise Mismatch("expected a boolean 00 or FF")
        return data.value == _TRUE

    def encode(self, value: Any) -> Data:
        """``03 00`` or ``03 FF``."""
        return Data(Tag.BOOLEAN, _TRUE if value else 0)


@dataclass(frozen=True)
class InOctets(Schema):
    """A fixed-size value carried in an octet-string: an OBIS code or a COSEM date-time, date or
    time (``parse`` / ``encode`` of the value's class)."""

    size: int
    parse: Callable[[bytes], Any]

    @property
    def hint(self) -> Any:
        """The value's class (``parse`` is the class or its ``parse`` classmethod)."""
        return getattr(self.parse, "__self__", self.parse)

    def decode(self, data: Data) -> Any:
        """The parsed value."""
        raw = data.value
        if data.tag is not Tag.OCTET_STRING or not isinstance(raw, bytes) or len(raw) != self.size:
            raise Mismatch(f"expected an octet-string of {self.size} bytes")
        try:
            return self.parse(raw)
        except (DecodeError, ValueError) as exc:
            raise Mismatch(str(exc)) from None

    def encode(self, value: Any) -> Data:
        """The value's bytes as an octet-string."""
        raw = value.raw if isinstance(value, Obis) else value.encode()
        return Data.octet_string(raw)


class Struct(Schema):
    """An A-XDR structure whose members are named: decodes to a frozen dataclass ``name``."""

    def __init__(self, name: str, **members: Schema) -> None:
        self.members = members
        self.type = dataclasses.make_dataclass(
            name,
            [(n, s.hint) for n, s in members.items()],
            frozen=True,
            namespace={"__doc__": f"COSEM structure {name}."},
        )
        self.type.__module__ = __name__

    @property
    def hint(self) -> Any:
        """The structure's dataclass."""
        return self.type

    def decode(self, data: Data) -> Any:
        """An instance of :attr:`type`."""
        items = data.value
        if data.tag is not Tag.STRUCTURE or not isinstance(items, tuple):
            raise Mismatch(f"{self.type.__name__}: expected a structure")
        if len(items) != len(self.members):
            raise Mismatch(f"{self.type.__name__}: {len(items)} members, not {len(self.members)}")
        values = (s.decode(item) for s, item in zip(self.members.values(), items, strict=True))
        return self.type(*values)

    def encode(self, value: Any) -> Data:
        """The structure of the members' values."""
        if not isinstance(value, self.type):
            raise Mismatch(f"expected {self.type.__name__}, got {type(value).__name__}")
        return Data.structure(*(s.encode(getattr(value, n)) for n, s in self.members.items()))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """A value of this structure (``SEASON(name, start, week)``)."""
        return self.type(*args, **kwargs)


@dataclass(frozen=True)
class ArrayOf(Schema):
    """An A-XDR array of one element schema: decodes to a tuple."""

    item: Schema

    @property
    def hint(self) -> Any:
        """A tuple of the element's type."""
        return tuple[self.item.hint, ...]  # type: ignore[name-defined]

    def decode(self, data: Data) -> tuple[Any, ...]:
        """The elements' values."""
        if data.tag is not Tag.ARRAY or not isinstance(data.value, tuple):
            raise Mismatch("expected an array")
        return tuple(self.item.decode(element) for element in data.value)

    def encode(self, value: Any) -> Data:
        """The array of the elements."""
        return Data(Tag.ARRAY, tuple(self.item.encode(element) for element in value))


def typed(schema: Schema, data: Data) -> Any:
    """``data`` through ``schema``, or ``data`` itself where its shape is another."""
    try:
        return schema.decode(data)
    except Mismatch:
        return data


def typed_hint(schema: Schema) -> Any:
    """The type of what :func:`typed` returns: the schema's values, or :class:`Data`."""
    return schema.hint if schema.hint is Data else schema.hint | Data


def untyped(schema: Schema, value: Any) -> Data:
    """Inverse of :func:`typed`: :class:`Data` as is, any other value through ``schema``."""
    return value if isinstance(value, Data) else schema.encode(value)


NULL = Scalar(Tag.NULL)
OCTETS = Scalar(Tag.OCTET_STRING)
VISIBLE = Scalar(Tag.VISIBLE_STRING)
BITS = Scalar(Tag.BIT_STRING)
ENUM = Scalar(Tag.ENUM)
INTEGER = Scalar(Tag.INTEGER)
UNSIGNED = Scalar(Tag.UNSIGNED)
LONG = Scalar(Tag.LONG)
LONG_UNSIGNED = Scalar(Tag.LONG_UNSIGNED)
DOUBLE_LONG = Scalar(Tag.DOUBLE_LONG)
DOUBLE_LONG_UNSIGNED = Scalar(Tag.DOUBLE_LONG_UNSIGNED)
BOOLEAN = Boolean()
ANY = AnyData()
OBIS = InOctets(_OBIS_LENGTH, Obis)
DATE_TIME = InOctets(12, CosemDateTime.parse)
DATE = InOctets(5, CosemDate.parse)
TIME = InOctets(4, CosemTime.parse)
