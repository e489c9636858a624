"""Leases on physical bench resources: exclusive across processes, freed when the holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rig.config.bench import Bench, load_bench
from rig.live.lease import (
    Lease,
    LeaseUnavailable,
    bench_resources,
    holder_of,
    lease_bench,
    lease_file,
)

PHYSICAL = """
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[[device]]
name = "esme"
kind = "esme"
eui = "00-DB-12-34-56-78-91-01"
port = "{port}"
"""

EMULATED = """
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[[device]]
name = "esme"
kind = "esme"
eui = "00-DB-12-34-56-78-91-01"
emulated = true
"""


def write_bench(folder: Path, name: str, port: str | None) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(PHYSICAL.format(port=port) if port else EMULATED)
    return path


def physical(folder: Path, name: str, port: str) -> Bench:
    return load_bench(write_bench(folder, name, port))


def test_a_held_lease_is_refused_to_another_holder_until_released(tmp_path: Path) -> None:
    first = Lease.try_acquire(tmp_path, "/dev/ttyUSB0", "first")
    assert first is not None
    assert Lease.try_acquire(tmp_path, "/dev/ttyUSB0", "second") is None
    assert holder_of(tmp_path, "/dev/ttyUSB0") == "first"
    assert Lease.try_acquire(tmp_path, "/dev/ttyUSB1", "second") is not None
    first.release()
    first.release()  # idempotent
    again = Lease.try_acquire(tmp_path, "/dev/ttyUSB0", "second")
    assert again is not None and again.held


def test_lease_file_names_are_safe(tmp_path: Path) -> None:
    assert lease_file(tmp_path, "/dev/ttyUSB0").name == "dev_ttyUSB0.lease"
    assert lease_file(tmp_path, "rfc2217://10.0.0.5:4000").name == "rfc2217_10.0.0.5_4000.lease"


HOLD = """
import sys
from pathlib import Path
from rig.live.lease import Lease
lease = Lease.try_acquire(Path(sys.argv[1]), sys.argv[2], "worker gw0")
print("held" if lease else "busy", flush=True)
sys.stdin.read()
"""


def test_a_killed_workers_lease_is_reacquired(tmp_path: Path) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), "/dev/ttyUSB0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "held"
        assert Lease.try_acquire(tmp_path, "/dev/ttyUSB0", "me") is None
        assert holder_of(tmp_path, "/dev/ttyUSB0") == "worker gw0"
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    assert worker.returncode == -signal.SIGKILL
    lease = Lease.try_acquire(tmp_path, "/dev/ttyUSB0", "me")
    assert lease is not None  # the kernel dropped the dead worker's flock


CONTEND = """
import os, sys, time
from pathlib import Path
from rig.live.lease import Lease
folder, marker = Path(sys.argv[1]), Path(sys.argv[1]) / "in-use"
taken = 0
while taken < 25:
    lease = Lease.try_acquire(folder, "/dev/ttyUSB0", str(os.getpid()))
    if lease is None:
        time.sleep(0.0005)
        continue
    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # fails if another holds it too
    time.sleep(0.001)
    os.close(fd)
    os.unlink(marker)
    lease.release()
    taken += 1
"""


def test_two_workers_never_hold_one_lease(tmp_path: Path) -> None:
    """Four processes take and give back one lease 25 times each; each holder creates an
    in-use marker exclusively, which fails if another process holds the lease at that time."""
    workers = [
        subprocess.Popen([sys.executable, "-c", CONTEND, str(tmp_path)], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    errors = [w.communicate(timeout=120)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0], errors


def test_a_worker_takes_the_first_free_bench(tmp_path: Path) -> None:
    a = physical(tmp_path, "a", "/dev/ttyRIGA")
    b = physical(tmp_path, "b", "/dev/ttyRIGB")
    leases = tmp_path / "leases"
    first = lease_bench([a, b], leases, holder="gw0", timeout_s=0)
    second = lease_bench([a, b], leases, holder="gw1", timeout_s=0)
    assert (first.bench, second.bench) == (a, b)
    first.release()
    third = lease_bench([a, b], leases, holder="gw2", timeout_s=0)
    assert third.bench == a


def test_a_worker_waits_for_a_bench_then_names_who_holds_it(tmp_path: Path) -> None:
    a = physical(tmp_path, "a", "/dev/ttyRIGA")
    leases = tmp_path / "leases"
    held = lease_bench([a], leases, holder="pid 1 (worker gw0)", timeout_s=0)
    now = [0.0]
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        now[0] += seconds

    with pytest.raises(LeaseUnavailable, match=r"/dev/ttyRIGA .*held by pid 1 \(worker gw0\)"):
        lease_bench([a], leases, holder="gw1", timeout_s=1, sleep=sleep, monotonic=lambda: now[0])
    assert naps and sum(naps) >= 1
    assert held.leases[0].held


def test_emulated_benches_need_no_lease(tmp_path: Path) -> None:
    bench = load_bench(write_bench(tmp_path, "emu", None))
    assert bench_resources(bench) == []
    leases = tmp_path / "leases"
    one = lease_bench([bench], leases, holder="gw0", timeout_s=0)
    two = lease_bench([bench], leases, holder="gw1", timeout_s=0)
    assert one.bench == two.bench == bench


def test_one_port_by_two_names_is_one_resource(tmp_path: Path) -> None:
    real = tmp_path / "ttyRIG0"
    real.touch()
    alias = tmp_path / "by-id-meter"
    alias.symlink_to(real)
    a = physical(tmp_path, "a", str(real))
    b = physical(tmp_path, "b", str(alias))
    assert bench_resources(a) == bench_resources(b)
    leases = tmp_path / "leases"
    lease_bench([a], leases, holder="gw0", timeout_s=0)
    with pytest.raises(LeaseUnavailable):
        lease_bench([b], leases, holder="gw1", timeout_s=0)


PLAN = '''
import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def in_use(bench):
    """A marker per bench, made exclusively: it fails if another worker uses the bench now."""
    marker = Path(os.environ["MARKERS"]) / bench.name
    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    yield bench
    os.close(fd)
    marker.unlink()


@pytest.mark.parametrize("n", range(6))
def test_uses_a_bench(in_use, n):
    with open(Path(os.environ["MARKERS"]).parent / "log", "a") as log:
        log.write(f"{os.environ.get('PYTEST_XDIST_WORKER')} {in_use.name}\\n")
'''


@pytest.mark.slow
def test_xdist_workers_each_lease_their_own_bench(tmp_path: Path) -> None:
    """Three workers, two physical benches: no bench is ever used by two workers at once."""
    (tmp_path / "markers").mkdir()
    plan = tmp_path / "test_pool_plan.py"
    plan.write_text(textwrap.dedent(PLAN))
    benches = [write_bench(tmp_path, n, f"/dev/ttyRIG{n}") for n in ("A", "B")]
    args = [sys.executable, "-m", "pytest", str(plan), "-p", "no:cacheprovider", "-n", "3"]
    args += [a for b in benches for a in ("--bench", str(b))]
    args += ["--rig-leases", str(tmp_path / "leases"), "--rig-results", str(tmp_path / "run")]
    env = {**os.environ, "MARKERS": str(tmp_path / "markers")}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (tmp_path / "log").read_text().split()
    assert len(lines) == 12 and set(lines[1::2]) <= {"A", "B"}


def test_a_physical_modbus_module_is_leased_with_the_meter(tmp_path: Path) -> None:
    for io, resource in [
        ('rtu = "/dev/ttyRIGIO"', "/dev/ttyRIGIO"),
        ('tcp = "127.0.0.1:1502"', "modbus-tcp://127.0.0.1:1502"),
    ]:
        path = write_bench(tmp_path, "io", "/dev/ttyRIGM")
        path.write_text(path.read_text() + f'[bench_io]\nmeter = "esme"\n{io}\n')
        assert bench_resources(load_bench(path)) == sorted(["/dev/ttyRIGM", resource])


def test_a_bench_lease_is_a_context_manager(tmp_path: Path) -> None:
    a = physical(tmp_path, "a", "/dev/ttyRIGA")
    leases = tmp_path / "leases"
    with lease_bench([a], leases, holder="rig check", timeout_s=0) as held:
        assert held.bench == a
        with pytest.raises(LeaseUnavailable, match="held by rig check"):
            lease_bench([a], leases, holder="gw0", timeout_s=0)
    lease_bench([a], leases, holder="gw0", timeout_s=0).release()


def test_rig_check_refuses_a_bench_a_run_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from rig.cli import main

    leases = tmp_path / "leases"
    monkeypatch.setattr("rig.live.lease.DEFAULT_LEASE_DIR", leases)
    path = write_bench(tmp_path, "a", "/dev/ttyRIGA")
    with lease_bench([load_bench(path)], leases, holder="pid 7 (worker gw0)", timeout_s=0):
        result = CliRunner().invoke(main, ["check", "--bench", str(path)])
    assert result.exit_code == 1
    assert "/dev/ttyRIGA (bench" in result.output and "held by pid 7 (worker gw0)" in result.output
