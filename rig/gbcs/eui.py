"""EUI-64 entity identifiers, the GBCS system titles (reference/gbcs.md §1.5)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Self

from rig.util.memo import remember

_TEXT = re.compile(r"[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}|[0-9A-Fa-f]{16}")
#: Bound on :meth:`Eui64.of`'s table: a real network has a few titles, a fuzz run millions.
_INTERNED_MAX = 1024


@dataclass(frozen=True, order=True)
class Eui64:
    """An 8-byte EUI-64; ``str()`` gives ``90-B3-D5-1F-30-01-00-00``."""

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes) or len(self.raw) != 8:
            raise ValueError(f"an EUI-64 is 8 bytes, got {self.raw!r}")

    @classmethod
    def parse(cls, text: str) -> Self:
        """Accept ``90-B3-D5-1F-30-01-00-00`` or ``90B3D51F30010000``, any case."""
        if not isinstance(text, str) or not _TEXT.fullmatch(text):
            raise ValueError(f"not an EUI-64: {text!r}")
        return cls(bytes.fromhex(text.replace("-", "")))

    @staticmethod
    def of(raw: bytes) -> Eui64:
        """``Eui64(raw)``, shared with earlier calls for the same bytes: the frame decoder's fast
        path meets the same few titles in every frame. The table is bounded (cleared when full).
        """
        eui = _interned.get(raw)
        return remember(_interned, raw, Eui64(raw), _INTERNED_MAX) if eui is None else eui

    @property
    def hex(self) -> str:
        """Lowercase hex without separators, as in keystore file names."""
        return self.raw.hex()

    def __str__(self) -> str:
        return self.raw.hex("-").upper()


_interned: dict[bytes, Eui64] = {}


#: The DCC's entity id in the RTDS and DCC Boxed (reference/gbcs.md §1.5): the Access Control
#: Broker that MACs commands, the DSP that signs DUIS XML, and the target of Non-Device
#: requests (domain.md §7.1, SRV 11.1).
DCC = Eui64.parse("90-B3-D5-1F-30-00-00-02")
