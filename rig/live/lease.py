"""Leases on physical bench resources, so that two pytest-xdist workers (or two runs on one
host) never drive the same serial port at once.

A lease is an ``flock``-ed file in a lease folder, one per resource (a device's port). The
kernel releases an ``flock`` when the holding process exits however it exits, so a lease frees
itself when its worker is killed: no stale-lock clean-up, no heartbeat. The file holds who took
it (pid, worker, host) for the error message of a worker that cannot get it.

Emulated devices hold no lease: everything they use (pty pair, loopback ports, generated keys,
the run sub-folder) is made afresh per worker. A worker given several benches
(``--bench A --bench B``) takes the first whose resources are all free (:func:`lease_bench`).
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rig.config.bench import Bench

#: Default lease folder: one per host, shared by every run on it (``--rig-leases`` overrides).
DEFAULT_LEASE_DIR = Path(tempfile.gettempdir()) / "rig-leases"
#: How often a waiting worker tries again [ASSUMED: fast enough for a human, cheap for the host].
POLL_S = 0.2


class LeaseUnavailable(RuntimeError):
    """No bench could be leased in time; the message names each busy resource and its holder."""


def lease_file(directory: Path, resource: str) -> Path:
    """The lease file of a resource: its name made safe for a file name, e.g.
    ``/dev/ttyUSB0`` → ``dev_ttyUSB0.lease``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", resource).strip("_") or "_"
    return directory / f"{name}.lease"


class Lease:
    """An exclusive hold on one resource for as long as this process keeps it (or dies)."""

    def __init__(self, path: Path, fd: int, resource: str) -> None:
        self.path, self.resource, self._fd = path, resource, fd

    @classmethod
    def try_acquire(cls, directory: Path, resource: str, holder: str) -> Lease | None:
        """Take the lease now, or None if another process holds it."""
        directory.mkdir(parents=True, exist_ok=True)
        path = lease_file(directory, resource)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{resource}\n{holder}\n".encode(), 0)
        return cls(path, fd, resource)

    @property
    def held(self) -> bool:
        return self._fd >= 0

    def release(self) -> None:
        """Give the lease back (closing the file releases the ``flock``); idempotent."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder_of(directory: Path, resource: str) -> str:
    """Who last took a resource's lease (as written in its file), for error messages."""
    try:
        lines = lease_file(directory, resource).read_text(encoding="utf-8").splitlines()
    except OSError:
        return "unknown"
    return lines[1] if len(lines) > 1 else "unknown"


def this_holder(worker: str | None = None) -> str:
    """This process as a lease holder: ``pid 123 (worker gw0) on HOST``."""
    role = f" (worker {worker})" if worker else ""
    return f"pid {os.getpid()}{role} on {socket.gethostname()}"


def bench_resources(bench: Bench) -> list[str]:
    """The resources of a bench that only one worker may use: each physical device's serial
    port, the HAN's radio (``[han] port``) and a physical Modbus I/O module (its RTU port, or
    ``modbus-tcp://HOST:PORT``). Device paths are resolved through symlinks, so
    ``/dev/serial/by-id/…`` and ``/dev/ttyUSB0`` are one resource."""
    ports = [d.port for d in bench.devices.values() if not d.emulated and d.port is not None]
    if bench.han is not None and bench.han.port is not None:
        ports.append(bench.han.port)
    io = bench.bench_io
    if io is not None and not io.emulated:
        ports.append(io.rtu if io.rtu else "modbus-tcp://{}:{}".format(*io.tcp or ("", 0)))
    return sorted({_canonical(port) for port in ports})


def _canonical(port: str) -> str:
    return port if "://" in port else os.path.realpath(port)


@dataclass
class BenchLease:
    """A bench and the leases held on its resources; release them with :meth:`release`."""

    bench: Bench
    leases: list[Lease]

    def release(self) -> None:
        for lease in self.leases:
            lease.release()

    def __enter__(self) -> BenchLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def try_lease_all(directory: Path, resources: Iterable[str], holder: str) -> list[Lease] | None:
    """Every resource's lease, or none of them (what was taken is given back)."""
    with ExitStack() as stack:
        taken = []
        for resource in resources:
            lease = Lease.try_acquire(directory, resource, holder)
            if lease is None:
                return None
            stack.callback(lease.release)
            taken.append(lease)
        stack.pop_all()
        return taken


def lease_bench(
    benches: Sequence[Bench],
    directory: Path,
    *,
    holder: str,
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> BenchLease:
    """The first bench whose resources are all free, leased; waits up to ``timeout_s`` for one.

    A bench of emulated devices only needs no lease and is always free.
    """
    if not benches:
        raise ValueError("lease_bench needs at least one bench")
    deadline = monotonic() + timeout_s
    while True:
        for bench in benches:
            leases = try_lease_all(directory, bench_resources(bench), holder)
            if leases is not None:
                return BenchLease(bench, leases)
        if monotonic() >= deadline:
            raise LeaseUnavailable(_busy(benches, directory, timeout_s))
        sleep(POLL_S)


def _busy(benches: Sequence[Bench], directory: Path, timeout_s: float) -> str:
    held = [
        f"{resource} (bench {bench.path}) held by {holder_of(directory, resource)}"
        for bench in benches
        for resource in bench_resources(bench)
        if not _free(directory, resource)
    ]
    return f"no bench free after {timeout_s:g} s (leases in {directory}): " + "; ".join(held)


def _free(directory: Path, resource: str) -> bool:
    lease = Lease.try_acquire(directory, resource, "probe")
    if lease is None:
        return False
    lease.release()
    return True
