"""The decoder's contract under mutation (reference/gbcs.md §1): a report or a DecodeError
naming an offset within the input, quickly and in memory bounded by the input length.

The one-million-input run is ``tests/gbcs/fuzz_decode.py`` (see docs/gbcs-codec.md); these are
its counted small sibling and hypothesis-driven structured mutations of every RTDS vector and
GBT block.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import tracemalloc

import pytest
from fuzz_decode import mutate, run, seeds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.gbcs.errors import DecodeError
from rig.gbcs.frame import _decode_common, _decode_general
from rig.gbcs.tree import inspect

SEEDS = seeds()


@pytest.mark.slow
def test_counted_fuzz_run() -> None:
    parsed, rejected, _slowest, failures = run(30_000, seed=7, max_ms=2000.0)
    assert failures == []
    assert parsed + rejected == 30_000 and parsed > 0 and rejected > 0


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.randoms(use_true_random=False))
def test_structured_mutations_keep_the_contract(seed: bytes, rnd: random.Random) -> None:
    data = mutate(rnd, seed, SEEDS)
    try:
        report = inspect(data)
    except DecodeError as exc:
        assert 0 <= exc.offset <= len(data)
        return
    assert report.tree.render()


def test_memory_is_bounded_by_the_input() -> None:
    rnd = random.Random(11)
    tracemalloc.start()
    try:
        for _ in range(300):
            data = mutate(rnd, rnd.choice(SEEDS), SEEDS)
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            with contextlib.suppress(DecodeError):
                inspect(data)
            peak = tracemalloc.get_traced_memory()[1] - before
            assert peak < 200 * len(data) + 256 * 1024, (peak, len(data))
    finally:
        tracemalloc.stop()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SEEDS), st.randoms(use_true_random=False))
def test_fast_path_agrees_with_the_general_decoder(seed: bytes, rnd: random.Random) -> None:
    """The slicing fast path of ``frame.decode`` returns exactly what the general one does."""
    for data in (seed, mutate(rnd, seed, SEEDS)):
        fast = _decode_common(data)
        if fast is None:
            continue
        assert fast == _decode_general(data)
        rebuilt = dataclasses.replace(fast.signing)  # through __init__, re-encoded from fields
        assert fast.encode() == data and rebuilt.encode() == fast.signing.encode()
