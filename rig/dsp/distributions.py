"""Delay distributions for DSP service times and the CSP/WAN round trip (issue 3 §2).

Each one draws from a caller's seeded :class:`random.Random`, so a run is a function of its
seeds. All are in seconds and know their mean (used by the theory tests and reports).
``sampler(rng)`` returns a zero-argument function drawing the same values as ``sample(rng)``,
as cheap to call as possible (the schedulers call it once per request).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol


class Distribution(Protocol):
    """A non-negative delay in seconds."""

    @property
    def mean(self) -> float: ...

    def sample(self, rng: random.Random) -> float: ...


def sampler(distribution: Distribution, rng: random.Random) -> Callable[[], float]:
    """``distribution``'s fast sampler, or ``sample`` bound to ``rng`` if it has none."""
    fast = getattr(distribution, "sampler", None)
    return fast(rng) if fast is not None else partial(distribution.sample, rng)


@dataclass(frozen=True, slots=True)
class Fixed:
    """A constant delay."""

    seconds: float

    def __post_init__(self) -> None:
        if not self.seconds >= 0:
            raise ValueError(f"Fixed.seconds = {self.seconds!r}: must be >= 0")

    @property
    def mean(self) -> float:
        return self.seconds

    def sample(self, rng: random.Random) -> float:
        return self.seconds

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        return itertools.repeat(self.seconds).__next__


@dataclass(frozen=True, slots=True)
class Exponential:
    """Exponentially distributed delay with the given mean (the M in M/M/c)."""

    mean: float

    def __post_init__(self) -> None:
        if not self.mean > 0:
            raise ValueError(f"Exponential.mean = {self.mean!r}: must be > 0")

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean)

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        # random.Random.expovariate's own formula, inlined: the same values, one frame fewer
        # (math.log spelled out: compiled, it is a C call).
        lambd, uniform = 1.0 / self.mean, rng.random
        return lambda: -math.log(1.0 - uniform()) / lambd


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Log-normal delay: ``median`` seconds, shape ``sigma`` (the log's standard deviation)."""

    median: float
    sigma: float

    def __post_init__(self) -> None:
        if not self.median > 0:
            raise ValueError(f"LogNormal.median = {self.median!r}: must be > 0")
        if not self.sigma >= 0:
            raise ValueError(f"LogNormal.sigma = {self.sigma!r}: must be >= 0")

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    def sample(self, rng: random.Random) -> float:
        return self.median * math.exp(self.sigma * rng.gauss())

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        # random.Random.gauss's Box-Muller pairs, inlined (the same values as long as only this
        # sampler draws from ``rng``): the second normal of a pair is kept for the next draw.
        median, sigma, uniform, tau = self.median, self.sigma, rng.random, math.tau
        spare: list[float] = []

        def draw() -> float:
            if spare:
                return median * math.exp(sigma * spare.pop())
            x2pi = uniform() * tau
            g2rad = math.sqrt(-2.0 * math.log(1.0 - uniform()))
            spare.append(math.sin(x2pi) * g2rad)
            return median * math.exp(sigma * (math.cos(x2pi) * g2rad))

        return draw


@dataclass(frozen=True, slots=True)
class Empirical:
    """A measured distribution as CDF points ``(probability, seconds)``, linearly interpolated.

    Probabilities rise strictly from 0 to 1; seconds are non-negative and non-decreasing.
    """

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        pts = self.points
        if len(pts) < 2 or pts[0][0] != 0 or pts[-1][0] != 1:
            raise ValueError(f"Empirical.points = {pts!r}: need >= 2 points from p=0 to p=1")
        for (p0, s0), (p1, s1) in itertools.pairwise(pts):
            if not (p1 > p0 and s1 >= s0 >= 0):
                raise ValueError(
                    f"Empirical.points = {pts!r}: probabilities must rise strictly and seconds "
                    "be non-negative and non-decreasing"
                )

    @classmethod
    def of(cls, points: Sequence[Sequence[float]]) -> Empirical:
        return cls(tuple((float(p), float(s)) for p, s in points))

    @property
    def mean(self) -> float:
        pts = self.points
        return sum((p1 - p0) * (s0 + s1) / 2 for (p0, s0), (p1, s1) in itertools.pairwise(pts))

    def sample(self, rng: random.Random) -> float:
        pts = self.points
        u = rng.random()
        i = bisect.bisect_right(pts, (u, math.inf))
        (p0, s0), (p1, s1) = pts[i - 1], pts[i]
        return s0 + (s1 - s0) * (u - p0) / (p1 - p0)
