"""ASN.1 DER payloads typed both ways (reference/gbcs.md §1.7: CS02a-g security credentials,
CS03/CS04 join and unjoin, CS06 activate firmware, CS07, GCS28, GCS59/62, CCS08, CS08 and the
future-dated firmware / credentials alerts).

:class:`Der` is one DER element: universal and context tags by name, INTEGER and ENUMERATED as
Python ints, NULL as None, constructed elements (SEQUENCE, SET, ``[n]``) as a tuple of elements,
every other primitive as its bytes (a certificate stays a typed tree of its own elements). DER
is canonical, so the decoder is strict: definite minimal lengths, minimal integers, and the tree
re-encodes to the same bytes. No ASN.1 library is used: ``cryptography`` parses only whole
X.509 structures, and a 100-line tag-length-value walker both ways keeps every byte.

:data:`FIELD_NAMES` names the top-level elements of the use cases' structures (GBCS ASN.1
module names, in snake case); :meth:`Asn1Payload.field` reads one by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rig.gbcs.codes import MESSAGE_CODE_TABLE
from rig.gbcs.errors import DecodeError
from rig.gbcs.frame import Cra
from rig.gbcs.wire import Reader, encode_length, require_canonical

UNIVERSAL_NAMES: dict[int, str] = {
    0x01: "BOOLEAN",
    0x02: "INTEGER",
    0x03: "BIT STRING",
    0x04: "OCTET STRING",
    0x05: "NULL",
    0x06: "OBJECT IDENTIFIER",
    0x0A: "ENUMERATED",
    0x0C: "UTF8String",
    0x13: "PrintableString",
    0x16: "IA5String",
    0x17: "UTCTime",
    0x18: "GeneralizedTime",
    0x30: "SEQUENCE",
    0x31: "SET",
}
_CONSTRUCTED = 0x20
_INTEGERS = frozenset({0x02, 0x0A})
_NULL = 0x05
#: Nesting a decoder follows (certificates nest about 8 deep).
_MAX_DEPTH = 24

DerValue = int | bytes | None | tuple["Der", ...]


@dataclass(frozen=True)
class Der:
    """One DER element: its tag byte and value (see the module docstring)."""

    tag: int
    value: DerValue
    #: Octets of a long-form length that DER would write shorter (devices write ``82 00 83``
    #: for 131 in some CS02 responses and alerts of the RTDS); 0 for the minimal form.
    length_octets: int = 0

    @property
    def name(self) -> str:
        """``SEQUENCE``, ``INTEGER``, ``[0]`` …"""
        if self.tag & 0xC0 == 0x80:
            return f"[{self.tag & 0x1F}]"
        return UNIVERSAL_NAMES.get(self.tag, f"tag 0x{self.tag:02X}")

    def encode(self) -> bytes:
        """Tag, minimal length, contents."""
        value = self.value
        if self.tag & _CONSTRUCTED:
            if not isinstance(value, tuple):
                raise ValueError(f"{self.name} needs a tuple of elements")
            body = b"".join(e.encode() for e in value)
        elif self.tag in _INTEGERS:
            if not isinstance(value, int):
                raise ValueError(f"{self.name} needs an integer")
            size = (value if value >= 0 else ~value).bit_length() // 8 + 1
            body = value.to_bytes(size, "big", signed=True)
        elif self.tag == _NULL:
            if value is not None:
                raise ValueError("NULL has no value")
            body = b""
        else:
            if not isinstance(value, bytes):
                raise ValueError(f"{self.name} needs bytes")
            body = value
        if self.length_octets:
            size = self.length_octets
            if len(body) >= 1 << 8 * size:
                raise ValueError(f"{len(body)} bytes need more than {size} length octets")
            return bytes([self.tag, 0x80 | size]) + len(body).to_bytes(size, "big") + body
        return bytes([self.tag]) + encode_length(len(body)) + body


def read_der(reader: Reader, depth: int = 0) -> Der:
    """One element; DecodeError for a long-form tag, a bad length or too deep a nesting."""
    at = reader.pos
    tag = reader.byte("ASN.1 tag")
    if tag & 0x1F == 0x1F:
        raise reader.fail(f"ASN.1 tag 0x{tag:02X}: multi-byte tags not supported", at)
    first = reader.byte("ASN.1 length")
    octets = first & 0x7F if first & 0x80 else 0
    if first & 0x80 and not 1 <= octets <= 4:
        raise reader.fail(f"ASN.1 length form 0x{first:02X} not supported", at + 1)
    n = reader.uint(octets, "ASN.1 length") if octets else first
    if octets and len(encode_length(n)) == 1 + octets:
        octets = 0  # the minimal long form
    contents = Reader(reader.take(n, "ASN.1 contents"), base=reader.offset - n)
    if tag & _CONSTRUCTED:
        if depth >= _MAX_DEPTH:
            raise reader.fail(f"ASN.1 nested deeper than {_MAX_DEPTH}", at)
        items = []
        while contents.remaining:
            items.append(read_der(contents, depth + 1))
        return Der(tag, tuple(items), octets)
    raw = contents.take(n, "ASN.1 value")
    if tag in _INTEGERS:
        if not raw:
            raise reader.fail("an empty ASN.1 integer", at)
        return Der(tag, int.from_bytes(raw, "big", signed=True), octets)
    if tag == _NULL:
        if raw:
            raise reader.fail("NULL with contents", at)
        return Der(tag, None, octets)
    return Der(tag, raw, octets)


#: Names of the top-level elements, by (use case, CRA): GBCS's ASN.1 structures. A trailing
#: name may be absent (an OPTIONAL element, e.g. CS06's execution date-time).
FIELD_NAMES: dict[tuple[str, Cra], tuple[str, ...]] = {
    ("CS06", Cra.COMMAND): ("manufacturer_image_hash", "originator_counter", "execution_date_time"),
    ("CS06", Cra.RESPONSE): ("activate_firmware_result", "firmware_version"),
    ("FDFA", Cra.ALERT): ("alert_code", "date_time", "originator_counter", "execution_outcome"),
    ("GCS28", Cra.COMMAND): ("validity_date_time", "date_time"),
    ("GCS28", Cra.RESPONSE): ("date_time", "set_clock_result"),
    ("CS02c", Cra.COMMAND): ("key_usage",),
    ("CS02e", Cra.COMMAND): ("key_usage",),
    ("CS02c", Cra.RESPONSE): ("certification_request_info", "signature_algorithm", "signature"),
}


@dataclass(frozen=True)
class Asn1Payload:
    """An ASN.1 DER payload: its root element, and the names of the use case's fields."""

    root: Der
    names: tuple[str, ...] = ()

    def field(self, name: str) -> Der | None:
        """The top-level element ``name`` (None if the optional element is absent)."""
        items = self.root.value if isinstance(self.root.value, tuple) else ()
        index = self.names.index(name)
        return items[index] if index < len(items) else None

    def encode(self, invoke_counter: int = 0) -> bytes:
        """The DER bytes (no invoke id in ASN.1 payloads)."""
        return self.root.encode()

    @classmethod
    def decoder(cls, names: tuple[str, ...] = ()) -> Callable[[bytes], Asn1Payload]:
        """A strict decoder naming the top-level elements ``names``."""

        def decode(payload: bytes) -> Asn1Payload:
            reader = Reader(payload)
            root = read_der(reader)
            reader.expect_end("the ASN.1 payload")
            count = len(root.value) if isinstance(root.value, tuple) else 0
            if count > len(names) and names:
                raise DecodeError(0, f"ASN.1 payload: {count} elements, expected {len(names)}")
            obj = cls(root, names if root.tag & _CONSTRUCTED else ())
            require_canonical("ASN.1 payload", payload, obj.encode)
            return obj

        return decode


def _is_asn1(name: str) -> bool:
    """The ASN.1 use cases of the code table (§1.7)."""
    return name.startswith(("CS02", "CS03", "CS04")) or name in (
        "CS06", "CS07", "CS08", "GCS28", "GCS59", "GCS62", "CCS08", "FDFA", "FDUSC",
    )  # fmt: skip


#: (message code, CRA) -> decoder for every ASN.1 use case of the code table.
ASN1_USE_CASES: dict[tuple[int, Cra], Callable[[bytes], Any]] = {
    (code, cra): Asn1Payload.decoder(FIELD_NAMES.get((row.name, cra), ()))
    for code, row in MESSAGE_CODE_TABLE.items()
    if _is_asn1(row.name)
    for cra in Cra
}
