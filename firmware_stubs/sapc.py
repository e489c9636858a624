"""The Standalone Auxiliary Proportional Controller (SAPC): a HAN device that sets a controlled
load to one of several levels (seed 002; domain.md §5).

Its behaviour is :class:`~firmware_stubs.load_control.ProportionalController`. The codec has no
SAPC use case, so frames addressed to it are discarded and noted; a test drives it with
:meth:`Sapc.schedule` and reads :meth:`Sapc.level` or :meth:`Sapc.load_w`.
"""

from __future__ import annotations

from collections import deque

from firmware_stubs.device import Output
from firmware_stubs.load_control import LevelChange, ProportionalController
from rig.gbcs.eui import Eui64


class Sapc:
    """A SAPC controlling ``rated_w`` watts of load ([ASSUMED] 7 kW, e.g. an EV charger)."""

    def __init__(
        self, eui: Eui64, controller: ProportionalController, rated_w: float = 7_000.0
    ) -> None:
        self.eui = eui
        self.controller = controller
        self.rated_w = rated_w
        self.events: deque[str] = deque(maxlen=64)

    def handle(self, frame: bytes, now: float) -> Output:
        """No SAPC use case is modelled by the codec: discard, and say so."""
        self.events.append("frame ignored: no SAPC use case in the codec")
        return []

    def schedule(self, level: int, at: float, duration: float | None = None) -> LevelChange:
        """Schedule a level change (with the controller's random start offset)."""
        change = self.controller.schedule(level, at, duration)
        self.events.append(f"level {level} % from {change.start:.1f}")
        return change

    def level(self, now: float) -> int:
        """The level in force, percent."""
        return self.controller.level(now)

    def load_w(self, now: float) -> float:
        """The power the controlled load may draw now."""
        return self.rated_w * self.level(now) / 100
