"""The User's originator counter: strictly increasing per originator (domain.md §7.1).

Devices reject a command whose counter is not greater than the last one they accepted from that
remote party, and a UTRN's counter must have its low 32 bits zero with bits 32..41 travelling in
the UTRN itself (reference/gbcs.md §2). So one counter serves both: ordinary commands take the
next integer, top-ups take the next multiple of 2^32.
"""

from __future__ import annotations

_UTRN_STEP = 1 << 32
_MAX = (1 << 64) - 1


class OriginatorCounter:
    """Allocates counters for one originator; never repeats, never goes backwards."""

    def __init__(self, start: int = _UTRN_STEP) -> None:
        if not 0 < start <= _MAX:
            raise ValueError(f"originator counter start {start} is outside (0, 2^64)")
        self._last = start - 1

    @property
    def last(self) -> int:
        return self._last

    def next(self) -> int:
        """The next counter for an ordinary command."""
        return self._advance(self._last + 1)

    def next_for_utrn(self) -> int:
        """The next counter whose low 32 bits are zero, as a UTRN needs."""
        return self._advance((self._last // _UTRN_STEP + 1) * _UTRN_STEP)

    def _advance(self, value: int) -> int:
        if value > _MAX:
            raise OverflowError("originator counter exhausted 2^64")
        self._last = value
        return value
