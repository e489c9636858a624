"""Multi-level load control: the Auxiliary Proportional Controller of an ESME and the
Standalone APC (SAPC) (seed 002; domain.md §5).

Unlike an ALCS or HCALCS (on or off), a proportional controller sets its load to one of several
levels. A supplier schedules level changes; each starts after a seeded random offset, so that
many homes told the same thing at once do not all step together (a common load-control design;
the offset bound is [ASSUMED]). The codec has no GBCS use case for APC/SAPC commands, so this
is driven through its Python API.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LevelChange:
    """A scheduled change: ``level`` (percent of the controlled load) from ``start`` for
    ``duration`` seconds (None: until the next change)."""

    start: float
    level: int
    duration: float | None = None


@dataclass
class ProportionalController:
    """A load controller with ``levels`` steps between 0 % and 100 %.

    ``schedule`` adds a change; ``level(t)`` is the level in force at ``t``: that of the
    latest change started by ``t`` and not yet expired, else ``default_level``.
    """

    #: Number of steps above 0 %: 4 gives 0, 25, 50, 75 and 100 %. [ASSUMED]
    levels: int = 4
    default_level: int = 100
    #: Upper bound of the random start offset, seconds. [ASSUMED]
    max_offset: float = 300.0
    seed: int = 0
    changes: list[LevelChange] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.levels < 1:
            raise ValueError(
                f"a proportional controller needs at least one level, not {self.levels}"
            )
        self._rng = random.Random(self.seed)
        self._check(self.default_level)

    @property
    def allowed(self) -> tuple[int, ...]:
        """The levels it can be set to, percent."""
        return tuple(round(100 * i / self.levels) for i in range(self.levels + 1))

    def _check(self, level: int) -> None:
        if level not in self.allowed:
            raise ValueError(f"level {level} % is not one of {self.allowed}")

    def schedule(self, level: int, at: float, duration: float | None = None) -> LevelChange:
        """Schedule ``level`` from ``at`` plus a random offset; the change as scheduled."""
        self._check(level)
        if duration is not None and duration <= 0:
            raise ValueError(f"duration {duration} s must be positive")
        change = LevelChange(at + self._rng.uniform(0.0, self.max_offset), level, duration)
        bisect.insort(self.changes, change, key=lambda c: c.start)
        return change

    def level(self, t: float) -> int:
        """The level in force at ``t``, percent."""
        for change in reversed(self.changes[: bisect.bisect_right(self.changes, t, key=_start)]):
            if change.duration is None or t < change.start + change.duration:
                return change.level
        return self.default_level


def _start(change: LevelChange) -> float:
    return change.start
