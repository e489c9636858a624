"""Bounds-checked reading and BER / A-XDR lengths for the decoders (reference/gbcs.md §1.2).

Every read checks that the bytes exist before taking them, so nothing is ever allocated from a
length field that the input cannot back; every failure is a :class:`DecodeError` with an offset.
"""

from __future__ import annotations

from collections.abc import Callable

from rig.gbcs.errors import DecodeError


def encode_length(n: int) -> bytes:
    """Minimal BER / A-XDR length: one byte below 0x80, else ``0x8k`` and ``k`` big-endian bytes."""
    if n < 0:
        raise ValueError(f"negative length {n}")
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    if len(body) > 4:
        raise ValueError(f"length {n} too large")
    return bytes([0x80 | len(body)]) + body


def require_canonical(what: str, payload: bytes, encode: Callable[[], bytes]) -> None:
    """The strict decoders' last check: the typed object decoded from ``payload`` re-encodes
    to exactly ``payload``, else DecodeError at the first byte that differs.

    A value the decoder read but the encoder refuses (its ValueError, e.g. a BCD 251 where the
    model encodes an A-XDR integer: issue 13) is non-canonical input too, never the encoder's
    own exception.
    """
    try:
        again = encode()
    except ValueError as exc:
        raise DecodeError(0, f"{what}: payload is not in canonical form ({exc})") from None
    if again != payload:
        at = next((i for i, (a, b) in enumerate(zip(again, payload, strict=False)) if a != b), 0)
        raise DecodeError(at, f"{what}: payload is not in canonical form")


class Reader:
    """A cursor over ``data[start:end]``; offsets in errors are ``base`` + the index into data."""

    def __init__(self, data: bytes, start: int = 0, end: int | None = None, base: int = 0) -> None:
        self._data = data
        self.pos = start
        self.end = len(data) if end is None else end
        self._base = base

    @property
    def offset(self) -> int:
        """Position of the next byte, as reported in errors."""
        return self._base + self.pos

    @property
    def remaining(self) -> int:
        """Bytes left before the end of the region."""
        return self.end - self.pos

    def fail(self, reason: str, at: int | None = None) -> DecodeError:
        """An error at the current position (or at index ``at``), for the caller to raise."""
        return DecodeError(self._base + (self.pos if at is None else at), reason)

    def byte(self, what: str) -> int:
        """One byte."""
        if self.pos >= self.end:
            raise self.fail(f"input ends where {what} was expected")
        value = self._data[self.pos]
        self.pos += 1
        return value

    def take(self, n: int, what: str) -> bytes:
        """Exactly ``n`` bytes."""
        pos = self.pos
        end = pos + n
        if end > self.end:
            raise self.fail(f"{what} needs {n} bytes, only {self.remaining} left")
        self.pos = end
        return self._data[pos:end]

    def uint(self, n: int, what: str) -> int:
        """A big-endian unsigned integer of ``n`` bytes."""
        return int.from_bytes(self.take(n, what), "big")

    def expect(self, value: int, what: str) -> None:
        """One byte that must equal ``value``."""
        at = self.pos
        got = self.byte(what)
        if got != value:
            raise self.fail(f"{what} 0x{got:02X}, expected 0x{value:02X}", at)

    def length(self, what: str, per_byte: int = 1) -> int:
        """A minimal BER / A-XDR length of at most ``per_byte`` items per remaining byte.

        For byte strings and element counts (every element takes a byte or more) ``per_byte`` is
        1; for bit-strings it is 8.
        """
        at = self.pos
        first = self.byte(what)
        if first < 0x80:
            n = first
        else:
            size = first & 0x7F
            if not 1 <= size <= 4:
                raise self.fail(f"{what}: length-of-length 0x{first:02X} not supported", at)
            n = self.uint(size, what)
            if n < 0x80 or n < 1 << (8 * (size - 1)):
                raise self.fail(f"{what} {n} not minimally encoded", at)
        if n > (self.end - self.pos) * per_byte:
            raise self.fail(f"{what} {n}, only {self.remaining} bytes left", at)
        return n

    def since(self, start: int) -> bytes:
        """The bytes from index ``start`` up to the current position."""
        return self._data[start : self.pos]

    def expect_end(self, what: str) -> None:
        """Nothing may follow."""
        if self.remaining:
            raise self.fail(f"{self.remaining} unexpected bytes after {what}")
