"""Streamed statistics for ``rig simulate``: memory flat in run length (issue 3, performance).

:class:`LogHistogram` is a log-linear histogram (32 sub-buckets per power of two, so a
quantile is within 1.6 % of the true value) over 1 ns .. 136 years: 2048 counters whatever the
number of values (few, so that the hot path stays in cache). Latencies are recorded per
(User, SRV, mode) :class:`Cell` and per hop, then merged per SRV, per priority level and per
User for the report. A cell records only positive hop latencies; its zeros (most hops of
``throttle_hold`` and ``northbound``) are the difference between responses delivered and values
recorded, added back when cells are merged (:class:`Totals`): a zero costs one comparison.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from typing import Final

from rig.dsp.tmm import Mode

SUB_BITS: Final = 5
_SUB: Final = 1 << SUB_BITS
_MIN_EXP: Final = -32
_BUCKETS: Final = 64 * _SUB
TINY: Final = 1e-9
"""Added to every value so that 0 has a bucket (reported as 0 after subtracting it)."""
OFFSET: Final = (-_MIN_EXP << SUB_BITS) - _SUB
"""``bucket(v) = (e << SUB_BITS) + int(m * 2 * _SUB) + OFFSET`` where ``m, e = frexp(v + TINY)``."""
_SCALE: Final = 2 * _SUB

HOPS: Final = ("throttle_hold", "dsp_queue", "dsp_service", "csp", "northbound", "end_to_end")
"""submitted->admitted, admitted->dequeued, dequeued->dispatched, dispatched->responded
(Comms Hub wait + WAN round trip), responded->delivered to the User, submitted->delivered."""

QUANTILES: Final = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


def bucket(value: float) -> int:
    """The bucket index of ``value`` seconds (>= 0)."""
    return _index(value + TINY)


_frexp: Final = math.frexp
_LOG2_E: Final = 1.0 / math.log(2.0)
_E_LIMIT: Final = 60
_INV_POW2: Final = [math.ldexp(1.0, -e) for e in range(-_E_LIMIT, _E_LIMIT + 1)]
"""``2 ** -e`` for ``|e| <= _E_LIMIT``: scaling by it is exact (normal floats throughout)."""


def _index(x: float) -> int:
    """The bucket of ``x`` > 0, i.e. ``(e << SUB_BITS) + int(m * _SCALE) + OFFSET`` with
    ``m, e = frexp(x)``: the same ``m`` and ``e``, found without ``frexp``'s result tuple (once
    compiled, ``log``, ``int`` and the float arithmetic are C; ``frexp`` is a generic call that
    builds a tuple: about 5 % of a simulated message). ``e`` estimated from ``log``, then
    corrected so that ``0.5 <= m < 1`` exactly as ``frexp`` defines it."""
    y = math.log(x) * _LOG2_E
    e = int(y)
    if e > y:
        e -= 1  # floor
    e += 1
    if not -_E_LIMIT < e < _E_LIMIT:  # beyond the table (not a latency): frexp itself
        m, e = _frexp(x)
        return (e << SUB_BITS) + int(m * _SCALE) + OFFSET
    m = x * _INV_POW2[e + _E_LIMIT]
    while m >= 1.0:
        m *= 0.5
        e += 1
    while m < 0.5:
        m *= 2.0
        e -= 1
    return (e << SUB_BITS) + int(m * _SCALE) + OFFSET


ZERO: Final = bucket(0.0)
"""The bucket of 0 (and of anything below ``TINY``)."""


def bucket_value(index: int) -> float:
    """The midpoint of bucket ``index``, in seconds."""
    e, j = divmod(index, _SUB)
    return max(0.0, math.ldexp((_SUB + j + 0.5) / (2 * _SUB), e + _MIN_EXP) - TINY)


class LogHistogram:
    """Counts, sum and max of non-negative values, with quantiles from the buckets."""

    __slots__ = ("counts", "max", "total")

    def __init__(self) -> None:
        self.counts = array("q", bytes(8 * _BUCKETS))  # contiguous: 16 kB, stays in cache
        self.total = 0.0
        self.max = 0.0

    def record(self, value: float) -> None:
        self.counts[bucket(value)] += 1
        self.total += value
        if value > self.max:
            self.max = value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def merge(self, other: LogHistogram) -> None:
        self.counts = array("q", map(int.__add__, self.counts, other.counts))
        self.total += other.total
        self.max = max(self.max, other.max)

    def quantile(self, q: float) -> float:
        """The value below which a fraction ``q`` of the recorded values lie (bucket midpoint)."""
        count = self.count
        if not count:
            return math.nan
        rank = q * count
        seen = 0
        for i, n in enumerate(self.counts):
            seen += n
            if n and seen >= rank:
                return min(bucket_value(i), self.max)
        return self.max

    def summary(self) -> dict[str, float | int | None]:
        count = self.count
        if not count:
            return {"count": 0, "mean": None, "p50": None, "p95": None, "p99": None, "max": None}
        out: dict[str, float | int | None] = {"count": count, "mean": self.total / count}
        out.update((name, self.quantile(q)) for name, q in QUANTILES)
        out["max"] = self.max
        return out


def _record_positive(h: LogHistogram, value: float) -> None:
    """:meth:`LogHistogram.record` of a value > 0: the hot path of every response."""
    h.counts[_index(value + TINY)] += 1
    h.total += value
    if value > h.max:
        h.max = value


class Cell:
    """Counts and per-hop latency of one (User, SRV, mode) in one run.

    The arrival generators count ``submitted``/``throttled``/``rejected``; the runner records
    each delivered response (:meth:`record`). ``trt_s`` is its Target Response Time.
    """

    __slots__ = (
        "delivered",
        "hist",
        "level",
        "mode",
        "rejected",
        "series",
        "srv",
        "submitted",
        "throttled",
        "trt_met",
        "trt_s",
        "user",
    )

    def __init__(self, user: str, srv: str, mode: Mode, level: int, trt_s: float) -> None:
        self.user = user
        self.srv = srv
        self.mode = mode
        self.level = level
        self.trt_s = trt_s
        self.submitted = self.throttled = self.rejected = self.delivered = self.trt_met = 0
        self.hist = [LogHistogram() for _ in HOPS]
        self.series: list = [0.0, 0, 0.0]  # the time-series accumulator of its level

    def record(
        self, sub: float, adm: float, deq: float, dis: float, res: float, now: float
    ) -> float:
        """One response delivered ``now``: its hops from the request's timestamps (submitted,
        admitted, dequeued, dispatched, responded); returns the end-to-end latency. Zeros are
        not recorded (see the module docstring)."""
        hist = self.hist  # _record_positive called by name: compiled, a direct C call
        if adm > sub:
            _record_positive(hist[0], adm - sub)
        if deq > adm:
            _record_positive(hist[1], deq - adm)
        if dis > deq:
            _record_positive(hist[2], dis - deq)
        if res > dis:
            _record_positive(hist[3], res - dis)
        if now > res:
            _record_positive(hist[4], now - res)
        e2e = now - sub
        if e2e > 0.0:
            _record_positive(hist[5], e2e)
        self.delivered += 1
        if e2e <= self.trt_s:
            self.trt_met += 1
        return e2e


class Totals:
    """A merge of cells: what the report shows per SRV, per level, per User."""

    def __init__(self, cells: Iterable[Cell]) -> None:
        self.submitted = self.throttled = self.rejected = self.delivered = self.trt_met = 0
        self.hist = [LogHistogram() for _ in HOPS]
        self.trt_s: set[float] = set()
        for cell in cells:
            self.submitted += cell.submitted
            self.throttled += cell.throttled
            self.rejected += cell.rejected
            self.delivered += cell.delivered
            self.trt_met += cell.trt_met
            self.trt_s.add(cell.trt_s)
            for mine, theirs in zip(self.hist, cell.hist, strict=True):
                mine.merge(theirs)
                mine.counts[ZERO] += cell.delivered - theirs.count  # the zeros not recorded

    def report(self) -> dict[str, object]:
        return {
            "submitted": self.submitted,
            "admitted": self.submitted - self.rejected,
            "throttled": self.throttled,
            "rejected": self.rejected,
            "delivered": self.delivered,
            "latency_s": {hop: h.summary() for hop, h in zip(HOPS, self.hist, strict=True)},
            "trt": {
                "target_s": sorted(self.trt_s),
                "met": self.trt_met,
                "compliance": self.trt_met / self.delivered if self.delivered else None,
            },
        }


class Series:
    """Per-bin time series: sampled gauges and end-to-end latency (mean, max) per group."""

    def __init__(self, gauges: Iterable[str], groups: Iterable[str]) -> None:
        self.t: list[float] = []
        self.gauges: dict[str, list[int]] = {g: [] for g in gauges}
        self.groups = list(groups)
        self.current: dict[str, list[float]] = {g: [0.0, 0, 0.0] for g in self.groups}
        self.latency: dict[str, dict[str, list[float | None]]] = {
            g: {"mean": [], "max": [], "count": []} for g in self.groups
        }

    def close_bin(self, t: float, gauges: dict[str, int]) -> None:
        """End the bin that started at ``t``: store gauges sampled then and the latencies."""
        self.t.append(t)
        for name, value in gauges.items():
            self.gauges[name].append(value)
        for group, acc in self.current.items():
            total, n, peak = acc
            out = self.latency[group]
            out["mean"].append(total / n if n else None)
            out["max"].append(peak if n else None)
            out["count"].append(int(n))  # a float once compiled (list[float])
            acc[0], acc[1], acc[2] = 0.0, 0, 0.0

    def report(self, bin_s: float) -> dict[str, object]:
        return {
            "bin_s": bin_s,
            "t_s": self.t,
            **{f"{name}": values for name, values in self.gauges.items()},
            "end_to_end_latency_s": self.latency,
        }
