"""The prepayment meter interface device (PPMID): a keypad and display on the HAN (issue 5).

Local UTRN entry: the consumer types the 20 digits and presses enter; the PPMID sends the UTRN
to the selected meter over the HAN, which applies the manual-entry rules (the counter inferred
from the ten bits the UTRN carries, duplicate and lock-out rules: :mod:`firmware_stubs.utrn_gate`,
GBCS §14 as summarised in reference/gbcs.md §2). The keypad itself:

- digits accumulate up to 20; more are ignored; ``C`` clears, ``B`` deletes the last digit;
- ``E`` (enter) sends exactly 20 digits, else it is refused and the entry kept for correction;
- an entry left idle longer than ``entry_timeout`` is cleared at the next key;
- ``F`` selects the next meter (fuel); ``X`` asks the selected meter for emergency credit.

The codec has no PPMID use case (PCS02, PECS02/03 are named in rig/gbcs/codes.py, not typed),
so frames addressed to the PPMID are discarded and noted; it is driven by :meth:`Ppmid.press`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from firmware_stubs.device import Output
from firmware_stubs.meter import PrepaymentMeter
from rig.gbcs.eui import Eui64
from rig.gbcs.utrn import UTRN_LENGTH

KEYS = frozenset("0123456789CBEFX")


@dataclass(frozen=True)
class PpmidSettings:
    """[ASSUMED] keypad and HAN timings: no source gives them."""

    entry_timeout: float = 60.0
    #: One HAN transit between PPMID and meter, seconds.
    han_latency: float = 0.01


class Ppmid:
    """A PPMID paired with one or more prepayment meters."""

    def __init__(
        self, eui: Eui64, meters: Sequence[PrepaymentMeter], settings: PpmidSettings | None = None
    ) -> None:
        if not meters:
            raise ValueError("a PPMID needs at least one meter to talk to")
        self.eui = eui
        self.meters = tuple(meters)
        self.settings = settings or PpmidSettings()
        self.entry = ""
        self.selected = 0
        self.last_key: float | None = None
        #: What the display showed, newest last.
        self.display: deque[str] = deque(maxlen=64)

    @property
    def meter(self) -> PrepaymentMeter:
        """The meter the keypad talks to now."""
        return self.meters[self.selected]

    def handle(self, frame: bytes, now: float) -> Output:
        """No PPMID use case is modelled by the codec: discard, and say so."""
        self.display.append("frame ignored: no PPMID use case in the codec")
        return []

    def press(self, key: str, now: float) -> Output:
        """One key at ``now``; what the meter sends to the WAN as a result."""
        if key not in KEYS:
            raise ValueError(f"PPMID key {key!r}: expected one of {''.join(sorted(KEYS))}")
        if self.last_key is not None and now - self.last_key > self.settings.entry_timeout:
            self.entry = ""
        self.last_key = now
        if key.isdigit():
            if len(self.entry) < UTRN_LENGTH:
                self.entry += key
            return []
        if key == "C":
            self.entry = ""
        elif key == "B":
            self.entry = self.entry[:-1]
        elif key == "F":
            self.selected = (self.selected + 1) % len(self.meters)
            self.display.append(f"meter {self.meter.eui}")
        elif key == "X":
            return self._to_meter(now, lambda at: self.meter.activate_emergency_credit(at))
        elif len(self.entry) != UTRN_LENGTH:
            self.display.append(f"{len(self.entry)} digits: a UTRN has {UTRN_LENGTH}")
        else:
            digits, self.entry = self.entry, ""
            self.display.append("UTRN sent")
            return self._to_meter(now, lambda at: self.meter.enter_utrn(digits, at))
        return []

    def type_utrn(self, digits: str, now: float) -> Output:
        """Type a whole UTRN and press enter (all at ``now``)."""
        out: Output = []
        for key in (*digits, "E"):
            out += self.press(key, now)
        return out

    def _to_meter(self, now: float, action: Callable[[float], Output]) -> Output:
        """Run ``action`` at the meter one HAN transit later; delays are from ``now``."""
        latency = self.settings.han_latency
        outputs = action(now + latency)
        return [(latency + delay, frame) for delay, frame in outputs]
