"""DUIS-level service requests: what a DCC User hands to the DSP (reference/domain.md §7).

A request is identified by its RequestID, ``BusinessOriginatorID:BusinessTargetID:Counter``
(DUGIS Annex 17), whose counter is also the GBCS originator counter and, for SRV 2.2, the UTRN
counter (reference/gbcs.md §2 "How the pieces fit").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from rig.gbcs.eui import Eui64

_MAX_COUNTER = 2**64


class CommandVariant(IntEnum):
    """DUIS CommandVariant values (domain.md §7.2)."""

    NON_CRITICAL_WAN = 1
    NON_CRITICAL_LOCAL = 2
    NON_CRITICAL_BOTH = 3
    CRITICAL_TRANSFORM = 4
    CRITICAL_SIGNED_WAN = 5
    CRITICAL_SIGNED_LOCAL = 6
    CRITICAL_SIGNED_BOTH = 7
    NON_DEVICE = 8


@dataclass(frozen=True, order=True)
class RequestId:
    """``originator:target:counter``; the counter is an integer in (0, 2^64) (DUGIS Annex 17)."""

    originator: Eui64
    target: Eui64
    counter: int

    def __post_init__(self) -> None:
        if not 0 < self.counter < _MAX_COUNTER:
            raise ValueError(f"RequestID counter {self.counter} is outside (0, 2^64)")

    @classmethod
    def parse(cls, text: str) -> RequestId:
        parts = text.strip().split(":")
        if len(parts) != 3:
            raise ValueError(f"RequestID {text!r}: expected ORIGINATOR:TARGET:COUNTER")
        originator, target, counter = parts
        if not counter.isdigit():
            raise ValueError(f"RequestID {text!r}: counter {counter!r} is not a decimal integer")
        return cls(Eui64.parse(originator), Eui64.parse(target), int(counter))

    def __str__(self) -> str:
        return f"{self.originator}:{self.target}:{self.counter}"


@dataclass(frozen=True)
class TopUpDevice:
    """SRV 2.2 body: ``<sr:TopUpDevice><sr:UTRN>`` with 20 decimal digits."""

    utrn: str

    srv = "2.2"


@dataclass(frozen=True)
class ReadSupplyStatus:
    """SRV 7.4 body: ``<sr:ReadSupplyStatus/>``."""

    srv = "7.4"


Body = TopUpDevice | ReadSupplyStatus


@dataclass(frozen=True)
class ServiceRequest:
    """One DUIS service request: header fields and a typed body."""

    request_id: RequestId
    body: Body
    command_variant: CommandVariant = CommandVariant.NON_CRITICAL_WAN

    @property
    def srv(self) -> str:
        return self.body.srv
