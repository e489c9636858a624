"""A lab on this host, for CI (.ci/lab.sh) and tests/lab: one ``labgrid-coordinator`` and
several bench hosts, each a ``rig lab serve`` of an emulated bench (its own exporter name and
place, all places tagged ``pool=POOL``), plus the rig-side bench file of the pool (``lab.toml``).

Its state is ``FOLDER/lab.json`` so that another process attaches to it (the tests, under CI's
lab) and stops it (``python -m rig.lab.local stop FOLDER``). Every process is started in a
session of its own and stopped by its process group, never by name.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from rig.config.bench import DEFAULT_BENCH, load_bench
from rig.lab.place import Lab, PlaceError
from rig.lab.serve import PLACE_SCRIPT, start_exporter, stop_exporter, tool

STATE_FILE = "lab.json"
BENCH_FILE = "lab.toml"
#: How long a process of the lab gets to come up. [ASSUMED] ample on a loaded 2-core host.
START_TIMEOUT_S = 60.0


@dataclass
class Host:
    """One bench host: its exporter name, place and folder, and the serving process."""

    exporter: str
    place: str
    folder: str
    pid: int

    @property
    def path(self) -> Path:
        return Path(self.folder)


@dataclass
class LocalLab:
    folder: str
    coordinator: str
    coordinator_pid: int
    pool: str
    hosts: list[Host]

    @property
    def bench(self) -> Path:
        """The rig-side bench file of the pool (the served bench, on the lab's places)."""
        return Path(self.folder) / BENCH_FILE

    @classmethod
    def attach(cls, folder: Path) -> LocalLab:
        data = json.loads((folder / STATE_FILE).read_text())
        data["hosts"] = [Host(**host) for host in data["hosts"]]
        return cls(**data)

    @classmethod
    def start(
        cls, folder: Path, *, hosts: int = 2, pool: str = "rig_ci", bench: Path = DEFAULT_BENCH
    ) -> LocalLab:
        """Start the coordinator, then each host, then define the places; stopped again (what
        was started) if any part fails."""
        folder = folder.resolve()
        (folder / "coordinator").mkdir(parents=True, exist_ok=True)
        port = _free_port()
        process = _spawn(
            [tool("labgrid-coordinator"), "--listen", f"127.0.0.1:{port}"],
            folder / "coordinator",
        )
        lab = cls(str(folder), f"127.0.0.1:{port}", process.pid, pool, [])
        try:
            _wait_for_port(port)
            keys = folder / "keys"
            for index in range(1, hosts + 1):
                lab.hosts.append(lab._serve(bench, index, keys))
            for host in lab.hosts:
                lab._define(host)
            lab.bench.write_text(rig_bench(bench, keys, lab.coordinator, pool))
            (folder / STATE_FILE).write_text(json.dumps(asdict(lab), indent=2))
        except BaseException:
            lab.stop()
            raise
        return lab

    def _serve(self, bench: Path, index: int, keys: Path) -> Host:
        exporter, place = f"bench-host-{index}", f"{self.pool}_{index}"
        folder = Path(self.folder) / exporter
        command = [sys.executable, "-c", "from rig.cli import main; main()", "lab", "serve"]
        command += [str(bench), "--exporter", exporter, "--place", place, "--tag"]
        command += [f"pool={self.pool}", "--coordinator", self.coordinator]
        command += ["--hostname", "127.0.0.1", "--keys", str(keys), "--out", str(folder)]
        folder.mkdir(parents=True, exist_ok=True)
        process = _spawn(command, folder)
        host = Host(exporter, place, str(folder), process.pid)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (folder / PLACE_SCRIPT).is_file():
            if process.poll() is not None or time.monotonic() > deadline:
                log = (folder / "serve.log").read_text(errors="replace")[-2000:]
                raise PlaceError(f"rig lab serve for {exporter} did not start: {log}")
            time.sleep(0.1)
        return host

    def _define(self, host: Host) -> None:
        """Run the host's place script with labgrid-client, once its exporter is connected."""
        deadline = time.monotonic() + START_TIMEOUT_S
        with Lab(self.coordinator, "lab-setup") as lab:
            while host.exporter not in lab.exporters:
                if time.monotonic() > deadline:
                    raise PlaceError(f"exporter {host.exporter} did not reach the coordinator")
                lab.wait(0.1)
            if host.place in lab.places:
                return
        env = {**os.environ, "LG_COORDINATOR": self.coordinator}
        env["PATH"] = f"{Path(tool('labgrid-client')).parent}{os.pathsep}{env.get('PATH', '')}"
        subprocess.run(
            ["sh", str(host.path / PLACE_SCRIPT)], env=env, check=True, capture_output=True
        )

    def host(self, place: str) -> Host:
        return next(h for h in self.hosts if h.place == place)

    def kill_exporter(self, place: str) -> None:
        """The bench host's labgrid goes away: its exporter and ser2net, killed (SIGKILL)."""
        stop_exporter(self.host(place).path, signal.SIGKILL)

    def restart_exporter(self, place: str) -> None:
        """A fresh exporter for the host, on the same ptys (the meters stayed up)."""
        start_exporter(self.host(place).path)

    @contextmanager
    def frozen_meters(self, place: str) -> Iterator[None]:
        """The host's emulated meters stopped (SIGSTOP) for the block: what is sent to them
        stays on the wire, unanswered (tests/lab)."""
        meters = _group_children(self.host(place).pid)
        for pid in meters:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in meters:
                os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        """Stop every host (exporter, then serving process) and the coordinator."""
        for host in self.hosts:
            stop_exporter(host.path)
            _stop_group(host.pid)
        _stop_group(self.coordinator_pid)

    def exports(self) -> str:
        """Shell lines exporting what the tests read (.ci/lab.sh)."""
        values = {
            "RIG_LAB_DIR": self.folder,
            "RIG_LAB_COORDINATOR": self.coordinator,
            "LG_COORDINATOR": self.coordinator,
        }
        return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items())


def rig_bench(bench: Path, keys: Path, coordinator: str, pool: str) -> str:
    """The served bench file as the rig reads it for the pool: the served keys added to its
    ``[keys] dirs``, and a ``[labgrid]`` table."""
    text = bench.read_text()
    dirs = load_bench(bench).key_dirs
    listed = ", ".join(json.dumps(str(d)) for d in (*dirs, keys))
    text, count = re.subn(r"(?m)^dirs\s*=.*$", f"dirs = [{listed}]", text, count=1)
    if not count:
        text = f"[keys]\ndirs = [{listed}]\n\n{text}"
    return f'{text}\n[labgrid]\ncoordinator = "{coordinator}"\npool = "{pool}"\n'


def _spawn(command: list[str], folder: Path) -> subprocess.Popen[bytes]:
    log = (folder / ("coordinator.log" if "coordinator" in folder.name else "serve.log")).open("ab")
    with log:
        return subprocess.Popen(
            command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop_group(pid: int, timeout_s: float = 10.0) -> None:
    """SIGTERM a process group, SIGKILL it if it lingers."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except OSError:
            return
        _reap(pid)
        time.sleep(0.05)
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def _reap(pid: int) -> None:
    """Collect our own child once it exited (else it lingers as a zombie in its group)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _group_children(pid: int) -> list[int]:
    """The children of ``pid`` in its own process group (the meters ``rig lab serve`` runs;
    its exporter has a group of its own), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and int(fields[2]) == pid:
            found.append(int(stat.parent.name))
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise PlaceError(f"labgrid-coordinator did not listen on port {port}") from None
            time.sleep(0.1)


def main(argv: list[str] | None = None) -> None:
    """``python -m rig.lab.local start|stop FOLDER``: the CI's lab (.ci/lab.sh)."""
    parser = argparse.ArgumentParser(prog="python -m rig.lab.local")
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--hosts", type=int, default=2)
    args = parser.parse_args(argv)
    if args.action == "start":
        try:
            lab = LocalLab.start(args.folder, hosts=args.hosts)
        except PlaceError as exc:
            sys.exit(f"lab: {exc}")
        sys.stdout.write(lab.exports())
    elif (args.folder / STATE_FILE).is_file():
        LocalLab.attach(args.folder).stop()


if __name__ == "__main__":
    main()
