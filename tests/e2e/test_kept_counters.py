"""Issue 13: a physical meter never accepts an old counter, so a second run on it must resume
above the first's (rig/live/counter_state.py); a refusal says why in plain words. The "physical"
meter here is an ESME emulator process the rig reaches on its pty like any serial port: it keeps
its anti-replay state across the rig's runs, as a real meter does."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from one_esme_bench import METER, esme_bench

from devices.emulated.host import EmulatorProcess, spawn_emulator
from rig.config.bench import load_bench
from rig.keys import RTDS_KEYS
from rig.keys.pki import generate_pki
from rig.live.counter_state import state_path
from rig.live.launch import launch
from rig.results.record import RequestRecord


@pytest.fixture
def meter(tmp_path: Path) -> Iterator[EmulatorProcess]:
    keys = tmp_path / "meter-keys"
    generate_pki(keys, remote_parties=(), devices=[METER])
    argv = [sys.executable, "-m", "devices.emulated.esme", "--eui", str(METER)]
    argv += ["--keys", str(keys), "--keys", str(RTDS_KEYS), "--processing-time", "0.001"]
    with spawn_emulator(argv) as process:
        yield process


def bench_text(meter: EmulatorProcess) -> str:
    """The bench of the "physical" meter: its emulator's pty, its keys beside the bench."""
    return esme_bench("kept-counters", f'port = "{meter.port}"\n', keys=("meter-keys",))


def one_run(bench: Path, run_dir: Path) -> RequestRecord:
    with launch(load_bench(bench), run_dir) as rig:
        return rig.read_supply_status("esme", timeout=10)


def test_a_second_run_on_the_same_meter_is_accepted(tmp_path: Path, meter: EmulatorProcess) -> None:
    bench = tmp_path / "lab.toml"
    bench.write_text(bench_text(meter))
    first = one_run(bench, tmp_path / "run-1")
    assert first.ok, first.reason
    second = one_run(bench, tmp_path / "run-2")
    assert second.ok, second.reason
    assert int(second.request_id.rsplit(":", 1)[1]) > int(first.request_id.rsplit(":", 1)[1])
    assert state_path(bench).is_file()

    state_path(bench).unlink()  # the file lost: the meter refuses, and the rig says why
    refused = one_run(bench, tmp_path / "run-3")
    assert refused.reason == (
        "device refused the command: alert 0x8F30 Source Does not have Authority for Command "
        f"(a meter refuses a command whose counter, {2**32}, is not above the last it accepted "
        "from 90-B3-D5-1F-30-01-00-00, or whose MAC or signature does not verify); counters "
        f"resume above those kept in {state_path(bench)}: if the meter has seen higher ones, "
        "raise the User's counter_start above them"
    )


def test_bench_hosts_sharing_a_counters_store_each_resume_above_the_other(
    tmp_path: Path, meter: EmulatorProcess, pg_url: str
) -> None:
    """Issue 16: two bench hosts (here two folders, no file shared) whose bench files name one
    PostgreSQL ``[counters] store``: the second host's run resumes above the first's."""
    text = bench_text(meter) + f'[counters]\nstore = "{pg_url}"\n'
    benches = []
    for host in ("host-a", "host-b"):
        (tmp_path / host).mkdir()
        (tmp_path / host / "meter-keys").symlink_to(tmp_path / "meter-keys")
        benches.append(tmp_path / host / "lab.toml")
        benches[-1].write_text(text)
    first = one_run(benches[0], tmp_path / "run-1")
    second = one_run(benches[1], tmp_path / "run-2")
    assert first.ok and second.ok, (first.reason, second.reason)
    assert int(second.request_id.rsplit(":", 1)[1]) > int(first.request_id.rsplit(":", 1)[1])
    assert not state_path(benches[0]).exists() and not state_path(benches[1]).exists()
