"""Frame headers as one declarative description each, used both ways: :meth:`Layout.encode` and
:meth:`Layout.decode` run the same field list through :mod:`struct`. This is the stack's hot path
(every frame of a secured HAN is built and parsed here); scapy stays for what it is good at
(dissection for people, captures, the tests that check these layouts against scapy's layers:
tests/zigbee/test_layout.py).

A header starts with its **control** field (the frame control); which fields follow, and how
wide each is, depends on the control value alone, so each control value's shape is worked out
once and kept (one :class:`struct.Struct` per shape). Sources: IEEE 802.15.4-2006 §7.2.1 (MAC
header), ZigBee specification 05-3474 §3.3.1 (NWK header), §2.2.5.1 (APS header and its
extended header), ZCL 7 §2.4.1 (the ZCL header without a manufacturer code).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

#: A field's struct code (``B``, ``H``, ``Q``; little-endian, as every ZigBee layer), or a
#: function of the control value giving it (``""``: the field is absent).
Width = str | Callable[[int], str]


class LayoutError(ValueError):
    """Bytes that do not hold the header, or a control value that names reserved modes."""


class Layout:
    """A header: ``fields`` are (name, width) pairs, the first being the control field."""

    def __init__(self, name: str, fields: tuple[tuple[str, Width], ...]) -> None:
        control_width = fields[0][1]
        if not isinstance(control_width, str):
            raise TypeError("the control field has a fixed width")
        self.name = name
        self.fields = fields
        self._control = struct.Struct("<" + control_width)
        self._shapes: dict[int, tuple[struct.Struct, tuple[str, ...]]] = {}

    def shape(self, control: int) -> tuple[struct.Struct, tuple[str, ...]]:
        """The struct and the names of the fields present under ``control``."""
        shape = self._shapes.get(control)
        if shape is None:
            codes, names = ["<"], []
            for name, width in self.fields:
                code = width if isinstance(width, str) else width(control)
                if code:
                    codes.append(code)
                    names.append(name)
            shape = self._shapes[control] = struct.Struct("".join(codes)), tuple(names)
        return shape

    def encode(self, control: int, values: dict[str, int]) -> bytes:
        """The header's bytes: ``control`` and the value of each field it says is present."""
        layout, names = self.shape(control)
        try:
            return layout.pack(control, *[values[name] for name in names[1:]])
        except (KeyError, struct.error) as exc:
            raise LayoutError(f"{self.name} header: {exc}") from None

    def decode(self, data: bytes, offset: int = 0) -> tuple[dict[str, int], int]:
        """The fields of the header at ``offset`` and where it ends."""
        if len(data) < offset + self._control.size:
            raise LayoutError(f"{self.name} header cut short: {len(data) - offset} bytes")
        (control,) = self._control.unpack_from(data, offset)
        layout, names = self.shape(control)
        if len(data) < offset + layout.size:
            raise LayoutError(
                f"{self.name} header of {layout.size} bytes cut short at {len(data) - offset}"
            )
        values = layout.unpack_from(data, offset)
        # A loop, not dict(zip(..., strict=True)): compiled, it takes a third of the time (the
        # keyword argument sends zip through Python's generic call); the struct and the names
        # come from the same field list, so they have the same length.
        fields = {}
        for index, name in enumerate(names):
            fields[name] = values[index]
        return fields, offset + layout.size


# --- IEEE 802.15.4 MAC (§7.2.1) ------------------------------------------------------------

_ADDRESS = {0: "", 2: "H", 3: "Q"}


def dst_mode(control: int) -> int:
    return control >> 10 & 3


def src_mode(control: int) -> int:
    return control >> 14 & 3


def _address(mode: int) -> str:
    if mode == 1:
        raise LayoutError("MAC address mode 1 is reserved")
    return _ADDRESS[mode]


def _src_pan(control: int) -> str:
    compressed = control & 0x40 and dst_mode(control)
    return "H" if src_mode(control) and not compressed else ""


MAC = Layout(
    "MAC",
    (
        ("control", "H"),
        ("seq", "B"),
        ("dst_pan", lambda c: "H" if dst_mode(c) else ""),
        ("dst", lambda c: _address(dst_mode(c))),
        ("src_pan", _src_pan),
        ("src", lambda c: _address(src_mode(c))),
        ("command", lambda c: "B" if c & 7 == 3 else ""),
    ),
)

# --- ZigBee NWK (05-3474 §3.3.1) ----------------------------------------------------------

NWK_MULTICAST, NWK_SECURITY, NWK_SOURCE_ROUTE = 0x0100, 0x0200, 0x0400
NWK_DST_IEEE, NWK_SRC_IEEE = 0x0800, 0x1000

NWK = Layout(
    "NWK",
    (
        ("control", "H"),
        ("dst", "H"),
        ("src", "H"),
        ("radius", "B"),
        ("seq", "B"),
        ("dst_ext", lambda c: "Q" if c & NWK_DST_IEEE else ""),
        ("src_ext", lambda c: "Q" if c & NWK_SRC_IEEE else ""),
        ("multicast", lambda c: "B" if c & NWK_MULTICAST else ""),
    ),
)

# --- ZigBee APS (05-3474 §2.2.5.1) --------------------------------------------------------

APS_ACK_FORMAT, APS_SECURITY, APS_ACK_REQUEST, APS_EXTENDED = 0x10, 0x20, 0x40, 0x80


def _addressing(control: int) -> bool:
    """A data frame (unicast or broadcast), or an ack that names endpoints and cluster."""
    kind, delivery = control & 3, control >> 2 & 3
    return (kind == 0 and delivery in (0, 2)) or (kind == 2 and not control & APS_ACK_FORMAT)


APS = Layout(
    "APS",
    (
        ("control", "B"),
        ("dst_endpoint", lambda c: "B" if _addressing(c) else ""),
        ("cluster", lambda c: "H" if _addressing(c) else ""),
        ("profile", lambda c: "H" if _addressing(c) else ""),
        ("src_endpoint", lambda c: "B" if _addressing(c) else ""),
        ("counter", "B"),
    ),
)

#: The APS extended header of a data frame (§2.2.5.1.8): extended frame control (fragmentation
#: in bits 0-1), the block number when fragmented; an ack's adds the ack bitfield.
APS_EXTENDED_HEADER = Layout(
    "APS extended", (("control", "B"), ("block", lambda c: "B" if c & 3 else ""))
)
APS_ACK_EXTENDED_HEADER = Layout(
    "APS ack extended",
    (
        ("control", "B"),
        ("block", lambda c: "B" if c & 3 else ""),
        ("ack_bitfield", lambda c: "B" if c & 3 else ""),
    ),
)

# --- ZCL (ZCL 7 §2.4.1, no manufacturer code) ------------------------------------------------

ZCL = Layout("ZCL", (("control", "B"), ("seq", "B"), ("command", "B")))
