"""Counters kept beside the bench file (rig/live/counter_state.py): resumed above, never lowered by
another run, written atomically under a lock, and a file that cannot be used named in one line."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rig.gbcs.eui import Eui64
from rig.live.counter_state import RESERVE, CounterState, CounterStateError, state_path

USER = Eui64.parse("90-B3-D5-1F-30-01-00-00")
METER = Eui64.parse("00-DB-12-34-56-78-91-01")
OTHER = Eui64.parse("00-DB-12-34-56-78-91-02")


def test_the_file_sits_beside_the_bench(tmp_path: Path) -> None:
    assert state_path(tmp_path / "lab.toml") == tmp_path / "lab.counters.json"


def test_a_run_resumes_above_what_the_last_one_sent(tmp_path: Path) -> None:
    path = state_path(tmp_path / "lab.toml")
    first = CounterState(path)
    assert first.resume_after(USER, [METER]) == 0
    first.use(USER, METER, 2**32)
    first.use(USER, METER, 2**32 + 1)
    # claimed ahead while running: a run killed now never repeats a counter
    assert CounterState(path).resume_after(USER, [METER]) == 2**32 + RESERVE
    first.close()
    assert CounterState(path).resume_after(USER, [METER]) == 2**32 + 1
    assert CounterState(path).resume_after(USER, [OTHER]) == 0
    kept = json.loads(path.read_text())
    assert kept == {"version": 1, "counters": {str(USER): {str(METER): 2**32 + 1}}}


def test_a_claim_raised_by_another_run_is_not_lowered(tmp_path: Path) -> None:
    path = state_path(tmp_path / "lab.toml")
    mine, theirs = CounterState(path), CounterState(path)
    mine.use(USER, METER, 10)
    theirs.use(USER, METER, 10 + RESERVE + 5)
    mine.close()
    assert CounterState(path).resume_after(USER, [METER]) == 10 + 2 * RESERVE + 5


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 2**40)), max_size=12))
def test_no_counter_sent_is_ever_above_what_the_file_resumes_after(
    tmp_path_factory: pytest.TempPathFactory, uses: list[tuple[bool, int]]
) -> None:
    path = state_path(tmp_path_factory.mktemp("kept") / "lab.toml")
    runs = [CounterState(path), CounterState(path)]
    for which, counter in uses:
        runs[which].use(USER, METER, counter)
    for run in runs:
        run.close()
    highest = max((counter for _, counter in uses), default=0)
    assert CounterState(path).resume_after(USER, [METER]) >= highest


def _hammer(path: Path, offset: int) -> None:
    state = CounterState(path)
    for step in range(1, 41):
        state.use(USER, METER, offset + step * RESERVE)
    state.close()


def test_processes_sharing_the_file_lose_no_counter(tmp_path: Path) -> None:
    path = state_path(tmp_path / "lab.toml")
    workers = [
        multiprocessing.get_context("spawn").Process(target=_hammer, args=(path, offset))
        for offset in (0, 7, 13)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    assert CounterState(path).resume_after(USER, [METER]) >= 13 + 40 * RESERVE
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temporary left


def test_a_corrupt_file_is_named_in_one_line(tmp_path: Path) -> None:
    path = state_path(tmp_path / "lab.toml")
    path.write_text("{not json")
    with pytest.raises(CounterStateError) as raised:
        CounterState(path).resume_after(USER, [METER])
    assert str(raised.value).startswith(f"{path}: not a counters file (")
    assert "\n" not in str(raised.value)


def test_a_folder_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    path = state_path(tmp_path / "missing" / "lab.toml")
    with pytest.raises(CounterStateError) as raised:
        CounterState(path).resume_after(USER, [METER])
    assert str(raised.value).startswith(f"{path}: cannot keep counters there: ")
