"""The decoder's contract under mutation (reference/gbcs.md §1): a report or a DecodeError
naming an offset within the input, quickly and in memory bounded by the input length; with keys,
on both codec sides and in every firmware stub: a GbcsError at most, never an exception out of a
stub's ``handle`` (issue 13).

The one-million-input keyed run is ``rig benchmark fuzz`` (:mod:`rig.benchmarks.fuzz`,
docs/gbcs-codec.md);
these are its bounded hypothesis sibling, the unkeyed counted run of ``fuzz_decode.py`` and
hypothesis-driven structured mutations of every RTDS vector and GBT block.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from fuzz_decode import mutate, run, seeds
from gbcs_testdata import SHARED_DIR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.benchmarks.fuzz import KeyedFuzzer, benchmark_fuzz
from rig.gbcs.errors import DecodeError
from rig.gbcs.frame import _decode_common, _decode_general
from rig.gbcs.mutate import vectors
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


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> KeyedFuzzer:
    """The keyed fuzzer over every shared vector (the built-in seed if there are none)."""
    return KeyedFuzzer(vectors(SHARED_DIR), tmp_path_factory.mktemp("fuzz-pki"), seed=1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_keyed_inputs_keep_the_contract(keyed: KeyedFuzzer, seed: int) -> None:
    """25 keyed inputs per example (each case, every stub): GbcsErrors from the codec, nothing
    at all out of a stub's ``handle``. The devices keep their state between examples, as a
    meter on a bench does."""
    keyed.rnd = random.Random(seed)
    tally = keyed.run(25)
    assert tally.failure_count == 0, tally.examples


def test_the_keyed_fuzz_reaches_every_side(rtds: Path, keyed: KeyedFuzzer) -> None:
    """Not vacuous (with the shared vectors): stubs answer some sealed commands (their answers
    open), MACs verify and fail, GBT blocks reassemble."""
    keyed.rnd = random.Random(5)
    tally = keyed.run(1500)
    assert tally.failure_count == 0, tally.examples
    stubs = [s[0] for s in keyed.stubs] + ["premises.handle (GBT)"]
    assert all(tally.ok[name] for name in stubs), tally.ok
    for target in (
        "stub output open_response",
        "inspect",
        "open_response + decode_payload",
        "inspect (plaintexts)",
        "describe (plaintexts)",
    ):
        assert tally.ok[target] > 0, target
    assert tally.errors["open_response: VerifyError"] + tally.errors["inspect: DecodeError"]


def test_rig_bench_fuzz_prints_its_figures() -> None:
    result = CliRunner().invoke(benchmark_fuzz, ["--inputs", "60", "--baseline-seconds", "0.2"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "inputs run: 60 in" in out and "inputs per CPU-second" in out
    assert "keyed / unkeyed:" in out and "GbcsError by target and class:" in out
    assert "non-GbcsError exceptions (stubs: any exception): 0" in out
