"""The emulated bench's supply contactor and pulse output, as a pure function of time.

The meter drives its contactor; the contact follows ``actuation_delay_s`` later (a latching
relay's operate time). While closed, the meter's test output pulses at
``pulses_per_second`` (load x meter constant). No I/O, no clock: times are passed in.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

#: Supply states (DLMS disconnect-control names, lower case) that leave the contactor closed.
CLOSED_STATES = frozenset({"connected"})


def contactor_closed(supply: str) -> bool:
    """The contact position for a reported supply state: closed only when connected (ARMED,
    "ready for reconnection", is still open)."""
    return supply.lower() in CLOSED_STATES


@dataclass
class ContactorModel:
    """Commanded state in, sensed state and pulse count out."""

    actuation_delay_s: float = 0.05
    initially_closed: bool = True
    pulses_per_second: float = 0.0
    #: (time the contact moved, closed after the move), in time order; the start is implied.
    transitions: list[tuple[float, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.actuation_delay_s < 0 or self.pulses_per_second < 0:
            raise ValueError("actuation_delay_s and pulses_per_second must be >= 0")

    @property
    def commanded(self) -> bool:
        """Where the contact is going (its last scheduled position)."""
        return self.transitions[-1][1] if self.transitions else self.initially_closed

    def command(self, closed: bool, now: float) -> float | None:
        """The meter drives the contactor at ``now``; return when the contact will move, or
        None if it is already going there. Commands must come in time order."""
        if closed == self.commanded:
            return None
        at = now + self.actuation_delay_s
        if self.transitions and at < self.transitions[-1][0]:
            raise ValueError("contactor commands must come in time order")
        self.transitions.append((at, closed))
        return at

    def sensed(self, now: float) -> bool:
        """The contact position at ``now``."""
        index = bisect.bisect_right(self.transitions, now, key=lambda t: t[0])
        return self.transitions[index - 1][1] if index else self.initially_closed

    def pulses(self, now: float, since: float = 0.0) -> int:
        """Meter pulses counted from ``since`` to ``now`` (the contact closed throughout)."""
        closed_for = 0.0
        state, start = self.initially_closed, since
        for at, closed in self.transitions:
            if at >= now:
                break
            if at > start:
                if state:
                    closed_for += at - start
                start = at
            state = closed
        if state and now > start:
            closed_for += now - start
        return int(closed_for * self.pulses_per_second)
