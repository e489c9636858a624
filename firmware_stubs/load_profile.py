"""A household's electricity demand over time, as a pure function of time and a seed.

Power is constant over each settlement slot (30 min by default) and follows a daily shape plus
per-slot noise drawn from the seed and the slot number, so the energy between any two instants
is reproducible whatever the order or spacing of the questions.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache

DAY = 86_400.0


@dataclass(frozen=True)
class LoadProfile:
    """Demand in watts: ``mean_w * (1 + swing * shape(time of day)) * (1 + noise * u)``.

    ``u`` is uniform in [-1, 1] per slot. Defaults are [ASSUMED]: a ~3,300 kWh/year home
    (mean 380 W), evening peak; no public per-home profile is in the references.
    """

    mean_w: float = 380.0
    swing: float = 0.6
    noise: float = 0.3
    slot: float = 1_800.0
    #: Hour of the daily peak (the shape is a cosine centred there).
    peak_hour: float = 18.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mean_w < 0 or not 0 <= self.swing <= 1 or not 0 <= self.noise <= 1:
            raise ValueError("load profile: mean_w >= 0, swing and noise in [0, 1]")
        if self.slot <= 0:
            raise ValueError(f"load profile slot {self.slot} s must be positive")

    def power_w(self, t: float) -> float:
        """Demand at wall-clock time ``t`` (seconds since the epoch, UTC)."""
        slot = math.floor(t / self.slot)
        start = slot * self.slot
        phase = 2 * math.pi * ((start % DAY) / DAY - self.peak_hour / 24)
        u = _uniform(self.seed, slot)
        return max(0.0, self.mean_w * (1 + self.swing * math.cos(phase)) * (1 + self.noise * u))

    def energy_wh(self, t0: float, t1: float) -> float:
        """Energy drawn between ``t0`` and ``t1`` (0 if ``t1 <= t0``), watt-hours."""
        energy, t = 0.0, t0
        while t < t1:
            end = min(t1, (math.floor(t / self.slot) + 1) * self.slot)
            energy += self.power_w(t) * (end - t)
            t = end
        return energy / 3_600.0


@lru_cache(maxsize=256)
def _uniform(seed: int, slot: int) -> float:
    """A reproducible draw in [-1, 1) for (seed, slot): cheaper than seeding a generator.
    Remembered for the last few slots: a meter asks about the current slot on every frame."""
    digest = hashlib.blake2b(f"{seed}:{slot}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1.0
