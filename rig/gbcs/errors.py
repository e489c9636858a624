"""The codec's exceptions (reference/gbcs.md §1)."""

from __future__ import annotations


class GbcsError(Exception):
    """Base of every error the GBCS codec raises on purpose."""


class DecodeError(GbcsError):
    """Malformed input: ``offset`` is where in the input the problem was found."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"offset {offset}: {reason}")
        self.offset = offset
        self.reason = reason


class VerifyError(GbcsError):
    """A MAC, signature or UTRN that does not verify; the message names what failed."""
