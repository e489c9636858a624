"""Counters kept beside the bench file or in a shared PostgreSQL table (rig/live/counter_state.py,
rig/util/kept_counters.py): resumed above every counter any run used or claims, never lowered by
another run, written atomically under a lock, and a file that cannot be used named in one line."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rig.config.bench import BenchError, load_bench
from rig.gbcs.eui import Eui64
from rig.live.counter_state import (
    RESERVE,
    CounterState,
    CounterStateError,
    counters_location,
    state_path,
)

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
    assert kept == {"version": 2, "counters": {str(USER): {str(METER): 2**32 + 1}}, "claims": {}}


def test_a_claim_raised_by_another_run_is_not_lowered(tmp_path: Path) -> None:
    path = state_path(tmp_path / "lab.toml")
    mine, theirs = CounterState(path), CounterState(path)
    mine.use(USER, METER, 10)
    theirs.use(USER, METER, 10 + RESERVE + 5)
    mine.close()
    assert CounterState(path).resume_after(USER, [METER]) == 10 + 2 * RESERVE + 5


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 2**40)), max_size=12))
@example(uses=[(False, 1), (True, 1), (True, 2)])  # run0's close lowered the file under run1
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


# -- two runs at once, killed runs, both backends ----------------------------------------------


@pytest.fixture(params=["file", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a bench's counters are kept: the file beside it, or a PostgreSQL schema."""
    if request.param == "file":
        return state_path(tmp_path / "lab.toml")
    return str(request.getfixturevalue("pg_url"))


def test_two_runs_claiming_the_same_counter_keep_what_the_later_one_sent(
    location: str | Path,
) -> None:
    """The example hypothesis found (uses=[(False, 1), (True, 1), (True, 2)]): the first run's
    close must not lower the counters under the second run, still live, which sends 2."""
    run0, run1 = CounterState(location), CounterState(location)
    run0.use(USER, METER, 1)
    run1.use(USER, METER, 1)
    run1.use(USER, METER, 2)
    run0.close()
    assert CounterState(location).resume_after(USER, [METER]) >= 2  # run1 still claims
    run1.close()
    assert CounterState(location).resume_after(USER, [METER]) == 2


def test_a_version_1_file_is_read_as_counters_used(tmp_path: Path) -> None:
    path = state_path(tmp_path / "lab.toml")
    path.write_text(json.dumps({"version": 1, "counters": {str(USER): {str(METER): 77}}}))
    state = CounterState(path)
    assert state.resume_after(USER, [METER]) == 77
    state.use(USER, METER, 78)
    state.close()
    kept = json.loads(path.read_text())
    assert kept == {"version": 2, "counters": {str(USER): {str(METER): 78}}, "claims": {}}


def test_a_file_of_a_later_version_is_refused_in_one_line(tmp_path: Path) -> None:
    path = state_path(tmp_path / "lab.toml")
    path.write_text(json.dumps({"version": 3, "counters": {}}))
    with pytest.raises(CounterStateError, match="version 3, this rig reads 1 and 2"):
        CounterState(path).resume_after(USER, [METER])


def _use_and_wait(location: str | Path, host: str, counter: int, ready: object) -> None:
    state = CounterState(location, host=host)
    state.resume_after(USER, [METER])
    state.use(USER, METER, counter)
    ready.set()  # type: ignore[attr-defined]
    multiprocessing.Event().wait(60)  # killed here, its claim on file


def _killed_run(location: str | Path, host: str, counter: int) -> None:
    """A run on ``host`` that claimed past ``counter`` and was SIGKILLed."""
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Event()
    run = spawn.Process(target=_use_and_wait, args=(location, host, counter, ready))
    run.start()
    try:
        assert ready.wait(60)
    finally:
        run.kill()
        run.join(10)


def test_a_killed_runs_claim_stays_until_its_host_sees_it_gone(location: str | Path) -> None:
    _killed_run(location, "host-a", 500)
    # another host cannot tell whether host-a's run is alive: its claim stays
    other = CounterState(location, host="host-b")
    assert other.resume_after(USER, [METER]) == 500 + RESERVE
    other.use(USER, METER, 600)
    other.close()
    assert CounterState(location, host="host-b").resume_after(USER, [METER]) == 500 + RESERVE
    # a later run on host-a sees the pid gone: the claim becomes used (it may have sent it all)
    later = CounterState(location, host="host-a")
    assert later.resume_after(USER, [METER]) == 500 + RESERVE
    later.close()
    if isinstance(location, Path):
        assert json.loads(location.read_text())["claims"] == {}


def _run_on(location: str | Path, host: str, first: int, count: int) -> None:
    state = CounterState(location, host=host)
    start = max(first, state.resume_after(USER, [METER]) + 1)
    for counter in range(start, start + count):
        state.use(USER, METER, counter)
    state.close()


def test_runs_on_two_hosts_each_resume_above_the_other(location: str | Path) -> None:
    """A bench moved between hosts, and two hosts at once: each run resumes above every counter
    the other sent (with the file: a folder both hosts share)."""
    spawn = multiprocessing.get_context("spawn")
    _run_on(location, "host-a", 2**32, 3 * RESERVE)  # host-a, alone, then the bench moves
    moved = CounterState(location, host="host-b")
    assert moved.resume_after(USER, [METER]) == 2**32 + 3 * RESERVE - 1
    runs = [
        spawn.Process(target=_run_on, args=(location, host, 2**32, 4 * RESERVE))
        for host in ("host-a", "host-b")
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(60)
        assert run.exitcode == 0
    # each sent 4 blocks from above what host-a's first run used: nothing sent is above this
    assert CounterState(location).resume_after(USER, [METER]) >= 2**32 + 7 * RESERVE - 1


def test_a_database_that_cannot_be_reached_is_named_in_one_line() -> None:
    url = "postgresql://rig@127.0.0.1:1/rig?connect_timeout=1"
    with pytest.raises(CounterStateError) as raised:
        CounterState(url).resume_after(USER, [METER])
    text = str(raised.value)
    assert text.startswith("postgresql://rig@127.0.0.1:1/rig?connect_timeout=1: cannot keep ")
    assert "\n" not in text


def test_the_bench_file_names_a_shared_store_or_keeps_its_file(tmp_path: Path) -> None:
    emulated = (Path(__file__).parents[2] / "rig/config/benches/emulated.toml").read_text()
    bench = tmp_path / "lab.toml"
    bench.write_text(emulated)
    assert counters_location(load_bench(bench)) == state_path(bench)
    bench.write_text(emulated + '[counters]\nstore = "postgresql://rig@lab-db/rig"\n')
    assert counters_location(load_bench(bench)) == "postgresql://rig@lab-db/rig"
    bench.write_text(emulated + '[counters]\nstore = "shared/lab.counters.json"\n')
    with pytest.raises(BenchError, match=r"counters\.store: expected a postgresql:// URL"):
        load_bench(bench)


def test_a_temporary_file_left_by_a_writer_that_died_is_replaced_not_kept(tmp_path: Path) -> None:
    """Writers share one temporary name under the lock: a torn one left by a killed writer is
    truncated by the next write and renamed over the file, which reads whole."""
    path = state_path(tmp_path / "bench.toml")
    state = CounterState(path)
    torn = path.with_name(f".{path.name}.tmp")
    torn.write_text('{"version": 2, "coun')
    state.use(USER, METER, 7)
    assert not torn.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert CounterState(path).resume_after(USER, [METER]) == 7 + RESERVE
