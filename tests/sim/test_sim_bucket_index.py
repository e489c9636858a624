"""The histogram's bucket index without ``frexp`` (rig/sim/stats.py ``_index``) is ``frexp``'s."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from rig.sim import stats


def _by_frexp(x: float) -> int:
    m, e = math.frexp(x)
    return (e << stats.SUB_BITS) + int(m * 2 * (1 << stats.SUB_BITS)) + stats.OFFSET


@given(st.floats(min_value=0.0, max_value=1e30, allow_nan=False))
def test_bucket_is_frexps_for_any_latency(value: float) -> None:
    assert stats.bucket(value) == _by_frexp(value + stats.TINY)


@given(st.integers(min_value=-70, max_value=70), st.sampled_from([-1, 0, 1]))
def test_bucket_is_frexps_at_powers_of_two_and_their_neighbours(exp: int, ulps: int) -> None:
    x = math.ldexp(1.0, exp)
    x = math.nextafter(x, math.inf) if ulps > 0 else math.nextafter(x, 0.0) if ulps < 0 else x
    assert stats._index(x) == _by_frexp(x)
