"""Each device's processing-time model: a base delay plus seeded jitter (issue 5).

A real meter's answer time varies; a reproducible run needs the variation to come from a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessingTime:
    """Seconds a device takes to answer: ``base`` plus a uniform draw in ``[0, jitter]``.

    Values are [ASSUMED] bench defaults wherever they are used: no public source gives device
    processing times.
    """

    base: float
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.base < 0 or self.jitter < 0:
            raise ValueError(f"processing time base {self.base} / jitter {self.jitter} < 0")


class ProcessingModel:
    """Draws processing delays from a :class:`ProcessingTime` with its own seeded generator."""

    def __init__(self, spec: ProcessingTime, seed: int) -> None:
        self.spec = spec
        self._rng = random.Random(seed)

    def draw(self) -> float:
        """The next delay, seconds."""
        if not self.spec.jitter:
            return self.spec.base
        return self.spec.base + self._rng.uniform(0.0, self.spec.jitter)
